"""SHA-256 of files, bytes and streams agree with each other and with hashlib."""

from __future__ import annotations

import hashlib
import io

from fusion.base import CHUNK, Hasher, HashingReader, hash_bytes, hash_file, is_sha256


def test_file_bytes_and_stream_digests_agree(tmp_path):
    data = bytes(range(256)) * (CHUNK // 256 * 2 + 7)  # spans three chunks
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    reader = HashingReader(io.BytesIO(data))
    while reader.read(CHUNK // 3):
        pass
    hasher = Hasher(data[:10])
    hasher.update(data[10:])
    assert hash_file(path) == hash_bytes(data) == reader.hexdigest() == expected
    assert hasher.hexdigest() == expected and hasher.size == len(data)
    assert is_sha256(expected)


def test_hash_file_reports_progress_per_chunk(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * (CHUNK + 1))
    calls = []
    hash_file(path, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(CHUNK, CHUNK + 1), (CHUNK + 1, CHUNK + 1)]


def test_only_the_hashing_module_calls_sha256():
    from pathlib import Path

    import fusion.base

    root = Path(fusion.base.__file__).parent
    callers = [p.name for p in root.glob("*.py") if "hashlib.sha256(" in p.read_text()]
    assert callers == ["_hashing.py"]
