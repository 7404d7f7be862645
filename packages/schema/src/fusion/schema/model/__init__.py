"""The format itself: pydantic models per version (`v0_1`, `v0_2`, each frozen), the upgrade
between them, the versions this release reads and the JSON Schema export.

The public names are re-exported by `fusion.schema`; ``fusion.schema.model.v0_1`` and
``fusion.schema.model.v0_2`` are public module paths for code that pins a version.
"""
