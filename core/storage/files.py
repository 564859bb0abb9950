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

import contextlib
import ctypes
import hashlib
import os
import re
import secrets
import time
from pathlib import Path
from typing import Iterable


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

    def _kept(self, sha256: str, target: str) -> bool:
        """Are these bytes stored already, where this release puts them
        (`target`) or where an earlier one did?"""
        return os.path.exists(target) or os.path.exists(self._earlier(sha256))

    def put(self, content: bytes) -> str:
        # Plain os calls on str paths: every attachment kept is stored here, and
        # pathlib's objects cost a third of the call beside the fsyncs.
        sha256 = hashlib.sha256(content).hexdigest()
        folder = self._folder(sha256)
        target = os.path.join(folder, sha256)
        if self._kept(sha256, target):
            return sha256
        os.replace(self._write_temporary(sha256, content, fsync=True), target)
        # The rename is durable only once the folder itself is on disk.
        _fsync_folder(folder)
        return sha256

    def put_many(self, contents: Iterable[bytes]) -> list[str]:
        """Store several files, as durable as `put` makes each when it
        returns, with two flushes of the store's file system in all where
        Linux's syncfs is at hand (the spool's mover stores received mail a
        batch at a time so: two fsyncs a file cost it 0.4 ms of CPU a mail).

        Every file is written to a temporary name; the file system is
        flushed, so their contents are on disk; they are renamed; it is
        flushed again, so the names are. A file under its real name is
        therefore always whole, as with `put`: a crash in between leaves at
        most a temporary file, or a rename undone. Without syncfs each file
        is fsynced before its rename and each folder after, as `put` does."""
        digests, pending = [], {}
        # Opened before anything is written: syncfs reports the write-back
        # errors of the file system since its descriptor was opened.
        root = self._open_root() if _syncfs is not None else None
        try:
            try:
                for content in contents:
                    sha256 = hashlib.sha256(content).hexdigest()
                    digests.append(sha256)
                    target = os.path.join(self._folder(sha256), sha256)
                    if sha256 in pending or self._kept(sha256, target):
                        continue
                    pending[sha256] = (self._write_temporary(sha256, content, fsync=root is None), target)
                if pending:
                    _flush(root, folders=())
            except BaseException:
                # Nothing was renamed: a store that keeps failing (a full disk)
                # must not fill up with the temporaries of every attempt.
                for tmp, _target in pending.values():
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                raise
            for tmp, target in pending.values():
                os.replace(tmp, target)
            if pending:
                _flush(root, folders={os.path.dirname(target) for _, target in pending.values()})
        finally:
            if root is not None:
                os.close(root)
        return digests

    def _open_root(self) -> int:
        try:
            return os.open(self.root, os.O_RDONLY)
        except FileNotFoundError:  # a new store
            os.makedirs(self.root, exist_ok=True)
            return os.open(self.root, os.O_RDONLY)

    def _write_temporary(self, sha256: str, content: bytes, *, fsync: bool) -> str:
        # A name of its own per writer: two threads (or processes) storing the
        # same bytes at once must not share a temporary file.
        folder = self._folder(sha256)
        tmp = os.path.join(folder, f".{sha256}.{os.getpid()}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileNotFoundError:  # the first file of its folder (of 256)
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, content)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        return tmp

    def sweep_temporaries(self, older_than: float, now: float | None = None) -> int:
        """Remove the temporary files a crash left between a write and its
        rename (put, put_many) that were last written more than `older_than`
        seconds ago; return how many. One in use lives for milliseconds (a
        batch of put_many, seconds), so an old one is nobody's. Looks in the
        256 folders and, for a store of an earlier release, in their
        subfolders; lists every file of the store, so it is for a rare pass."""
        cutoff = (time.time() if now is None else now) - older_than
        removed = 0
        for folder in _entries(self.root):
            if not (folder.is_dir(follow_symlinks=False) and _FOLDER.fullmatch(folder.name)):
                continue
            for entry in _entries(folder.path):
                if entry.is_dir(follow_symlinks=False) and _FOLDER.fullmatch(entry.name):
                    removed += sum(_remove_if_old(inner, cutoff) for inner in _entries(entry.path))
                else:
                    removed += _remove_if_old(entry, cutoff)
        return removed

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()


_FOLDER = re.compile(r"[0-9a-f]{2}")


def _entries(folder: str | Path) -> list[os.DirEntry]:
    """A folder's entries; none if it has gone (or never was)."""
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except FileNotFoundError:
        return []


def _remove_if_old(entry: os.DirEntry, cutoff: float) -> int:
    """1 if `entry` was a temporary file of the store last written before `cutoff`, and is removed."""
    if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
        return 0
    try:
        if not entry.is_file(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_mtime >= cutoff:
            return 0
        os.unlink(entry.path)
    except FileNotFoundError:  # renamed or removed meanwhile
        return 0
    return 1


def _flush(root: int | None, folders: Iterable[str]) -> None:
    """Everything written to the store's file system so far on disk: syncfs
    of `root`, a descriptor of the store's folder; without syncfs (`root`
    None), the folders given are fsynced (their files were, as they were
    written)."""
    if root is not None:
        if _syncfs(root) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"syncfs of the store: {os.strerror(error)}")
        return
    for folder in folders:
        _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _find_syncfs():
    """Linux's syncfs(2), which flushes one file system and waits for it:
    "Linux waits for I/O completions, and thus sync() or syncfs() provide the
    same guarantees as fsync() called on every file in the system or
    filesystem respectively" (its manual page). None elsewhere."""
    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


_syncfs = _find_syncfs()


def _write_all(fd: int, content: bytes) -> None:
    """os.write may write less than it is given (a signal, a disk filling up)."""
    view = memoryview(content)
    while view:
        view = view[os.write(fd, view):]
