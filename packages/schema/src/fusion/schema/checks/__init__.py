"""The validator: metadata, channel, projection, chunk and data checks, gathered into a
report by `validate`. The public names (`validate`, `ValidationReport`, `Finding`, `CODES`)
are re-exported by `fusion.schema`; the modules here are private."""
