"""Sharing datasets: the verified copy to any fsspec URL or zip (`push`), its view of the
source, and the zip writer. The public names (`push`, `PushResult`) are re-exported by
`fusion.schema`; the modules here are private."""
