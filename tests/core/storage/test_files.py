"""The content-addressed store: its folders, earlier releases' stores,
concurrent writers of the same bytes, and the sweep of leftover temporaries."""
from __future__ import annotations

import hashlib
import os
import threading

from core.storage.files import Store


def test_many_threads_storing_the_same_bytes_at_once_all_succeed_and_leave_one_file(tmp_path):
    store = Store(tmp_path / "store")
    content = b"Rapor semester " * 50_000
    start, errors, digests = threading.Barrier(16), [], []

    def put() -> None:
        start.wait()
        try:
            digests.append(store.put(content))
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=put) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(digests)) == 1 and len(digests) == 16
    assert store.get(digests[0]) == content
    files = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert [p.name for p in files] == [digests[0]]  # no temporary file left behind


def test_a_file_lies_in_the_folder_of_its_digests_first_two_digits(tmp_path):
    store = Store(tmp_path / "store")
    digest = store.put(b"Laporan BOS triwulan III")
    assert store.path(digest) == tmp_path / "store" / digest[:2] / digest
    assert [p.relative_to(tmp_path / "store").parts for p in (tmp_path / "store").rglob("*")] == [
        (digest[:2],), (digest[:2], digest)]


def test_a_store_of_an_earlier_release_is_read_and_added_to_where_its_files_lie(tmp_path):
    """Earlier releases kept each file two folders down (ab/cd/abcd...): such
    a file is found there, and storing its bytes again writes no second copy."""
    store = Store(tmp_path / "store")
    content = b"Surat keputusan kepala dinas"
    digest = hashlib.sha256(content).hexdigest()
    earlier = tmp_path / "store" / digest[:2] / digest[2:4] / digest
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(content)

    assert store.exists(digest) and store.path(digest) == earlier and store.get(digest) == content
    assert store.put(content) == digest
    assert [p for p in (tmp_path / "store").rglob("*") if p.is_file()] == [earlier]
    # New bytes go where this release puts them, beside the earlier folders.
    added = store.put(b"Surat baru")
    assert store.path(added) == tmp_path / "store" / added[:2] / added and store.get(added) == b"Surat baru"
    missing = "0" * 64
    assert not store.exists(missing) and store.path(missing) == tmp_path / "store" / "00" / missing


def test_many_files_stored_at_once_are_each_whole_under_their_names(tmp_path):
    store = Store(tmp_path / "store")
    kept = store.put(b"sudah ada")
    before = store.path(kept).stat()
    contents = [b"satu", b"dua", b"satu", b"sudah ada", b"tiga" * 10_000]
    digests = store.put_many(contents)
    assert digests == [hashlib.sha256(c).hexdigest() for c in contents]
    assert [store.get(d) for d in digests] == contents
    assert (store.path(kept).stat().st_ino, store.path(kept).stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    names = sorted(p.name for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert names == sorted(set(digests))  # no temporary file left behind
    assert store.put_many([]) == []


def test_without_syncfs_each_file_is_fsynced_as_put_does(tmp_path, monkeypatch):
    from core.storage import files

    monkeypatch.setattr(files, "_syncfs", None)
    store = Store(tmp_path / "store")
    digests = store.put_many([b"Rapor", b"Ijazah"])
    assert [store.get(d) for d in digests] == [b"Rapor", b"Ijazah"]


def test_a_flush_that_fails_leaves_no_file_under_its_real_name(tmp_path, monkeypatch):
    """The contents are renamed only once the file system said they are on
    disk: a failed flush raises, and the temporaries are taken away."""
    import ctypes
    import errno

    import pytest

    from core.storage import files

    def failing(_fd: int) -> int:
        ctypes.set_errno(errno.EIO)
        return -1

    monkeypatch.setattr(files, "_syncfs", failing)
    store = Store(tmp_path / "store")
    with pytest.raises(OSError, match="syncfs"):
        store.put_many([b"Rapor", b"Ijazah"])
    assert [p for p in (tmp_path / "store").rglob("*") if p.is_file()] == []
    assert not any(store.exists(hashlib.sha256(c).hexdigest()) for c in (b"Rapor", b"Ijazah"))


def test_this_machine_has_syncfs():
    """The batch path the spool's mover takes on Linux (the others fsync each file)."""
    import sys

    from core.storage import files

    assert files._syncfs is not None or not sys.platform.startswith("linux")


def test_the_sweep_removes_only_temporaries_older_than_it_is_told(tmp_path):
    """A crash between a write and its rename leaves a temporary file: the
    sweep removes those last written before its cut-off, here and in an
    earlier release's subfolders, and leaves stored files, fresh
    temporaries (a write under way) and anything else alone."""
    store = Store(tmp_path / "store")
    digest = store.put(b"Laporan dana BOS")
    folder = tmp_path / "store" / digest[:2]
    now = 1_900_000_000.0
    day = 24 * 3600

    def temporary(path, age):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a mail")
        os.utime(path, (now - age, now - age))
        return path

    old = temporary(folder / f".{digest}.4242.0011223344556677.tmp", 2 * day)
    old_earlier = temporary(folder / "cd" / f".{'cd' * 32}.17.8899aabbccddeeff.tmp", 3 * day)
    fresh = temporary(folder / f".{'ee' * 32}.4242.aaaaaaaaaaaaaaaa.tmp", 60)
    other = temporary(folder / ".not-ours", 5 * day)
    beside = temporary(tmp_path / "store" / "lost+found" / ".x.tmp", 5 * day)

    assert store.sweep_temporaries(older_than=day, now=now) == 2
    assert not old.exists() and not old_earlier.exists()
    assert fresh.exists() and other.exists() and beside.exists()
    assert store.get(digest) == b"Laporan dana BOS"
    assert store.sweep_temporaries(older_than=day, now=now) == 0


def test_the_sweep_of_a_store_not_yet_made_finds_nothing(tmp_path):
    assert Store(tmp_path / "none").sweep_temporaries(older_than=0) == 0
