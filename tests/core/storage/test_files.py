"""The content-addressed store: its folders, earlier releases' stores, and
concurrent writers of the same bytes."""
from __future__ import annotations

import hashlib
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
