"""A content-addressed file store: raw mail and attachments, named by SHA-256.

Writing the same bytes twice stores them once. A file is written to a
temporary name, fsynced and renamed, so a crash never leaves half a file
under a real name.

Files lie in 256 folders named by the first two hex digits of their digest
(ab/abcdef...), as git keeps its objects. Stores written by earlier releases
have a second level (ab/cd/abcdef...): a file not found in its folder is
looked for there, so such a store is read and added to as it is, and its
files never move. (Two levels made a new folder for nearly every file of a
store's first few hundred thousand: two new inodes a mail instead of one.)
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
        target = os.path.join(self._folder(sha256), sha256)
        if not os.path.exists(target) and os.path.exists(self._earlier(sha256)):
            return Path(self._earlier(sha256))
        return Path(target)

    def _folder(self, sha256: str) -> str:
        return os.path.join(self.root, sha256[:2])

    def _earlier(self, sha256: str) -> str:
        """Where earlier releases put the file (see the module's docstring)."""
        return os.path.join(self.root, sha256[:2], sha256[2:4], sha256)

    def put(self, content: bytes) -> str:
        # Plain os calls on str paths: every inbound mail stores its bytes
        # here, and pathlib's objects cost a third of the call beside the fsyncs.
        sha256 = hashlib.sha256(content).hexdigest()
        folder = self._folder(sha256)
        target = os.path.join(folder, sha256)
        if os.path.exists(target) or os.path.exists(self._earlier(sha256)):
            return sha256
        # A name of its own per writer: two threads (or processes) storing the
        # same bytes at once must not share a temporary file.
        tmp = os.path.join(folder, f".{sha256}.{os.getpid()}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileNotFoundError:  # the first file of its folder (of 256)
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        # The rename is durable only once the folder itself is on disk.
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return sha256

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()


def _write_all(fd: int, content: bytes) -> None:
    """os.write may write less than it is given (a signal, a disk filling up)."""
    view = memoryview(content)
    while view:
        view = view[os.write(fd, view):]
