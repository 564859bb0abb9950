"""The content-addressed store under concurrent writers of the same bytes."""
from __future__ import annotations

import threading

from core.store import Store


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
