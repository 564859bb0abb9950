"""A content-addressed file store: raw mail and attachments, named by SHA-256.

Writing the same bytes twice stores them once. A file is written to a
temporary name, fsynced and renamed, so a crash never leaves half a file
under a real name.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path


class Store:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        target = self.path(sha256)
        if target.exists():
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own per writer: two threads (or processes) storing the
        # same bytes at once must not share a temporary file.
        tmp = target.with_name(f".{sha256}.{os.getpid()}.{secrets.token_hex(8)}.tmp")
        with open(tmp, "xb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        # The rename is durable only once the folder itself is on disk.
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return sha256

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()
