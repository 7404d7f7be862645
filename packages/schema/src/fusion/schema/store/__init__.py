"""Datasets on disk and behind URLs: opening a folder, zip or URL read-only (`open_group`),
the atomic writer (`write`) with its write times, object access by key, chunk manifests and
the digest store. The public names are re-exported by `fusion.schema`; the modules here are
private."""
