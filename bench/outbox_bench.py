"""Outbox delivery rate against a local relay, beside plain smtplib sending
the same messages over one connection, in the same run.

    .venv/bin/python bench/outbox_bench.py [--count 1000] [--rounds 3]

Each round: a fresh SQLite database with `count` tickets and their queued
acknowledgements; `ours` is the wall time of deliver_due until every row is
sent (claim, render, send, mark); `smtplib` is the time to send the very
same rendered bytes over one SMTP connection with nothing else. Prints each
round, the medians and the median of the per-round ratios (target >= 0.5).
"""
from __future__ import annotations

import argparse
import multiprocessing
import smtplib
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from core.db import Database  # noqa: E402
from core.models import Base, Outbox  # noqa: E402
from mailout.deliver import deliver_due  # noqa: E402
from mailout.render import render  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.factories import load_directory  # noqa: E402
from tests.mailout.relay import free_port  # noqa: E402
from tests.mailout.world import open_with_ack  # noqa: E402



class CountingRelay:
    """aiosmtpd in a process of its own, as a real relay would be: in a thread
    of the bench it would compete for the interpreter lock with the sender,
    and slow down exactly the side that does more work."""

    def __init__(self):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.count = multiprocessing.Value("i", 0)
        self._stop = multiprocessing.Event()
        ready = multiprocessing.Event()
        self._process = multiprocessing.Process(target=_serve, args=(self.port, self.count, ready, self._stop))
        self._process.start()
        ready.wait(20)

    def reset(self) -> int:
        with self.count.get_lock():
            seen, self.count.value = self.count.value, 0
        return seen

    def stop(self) -> None:
        self._stop.set()
        self._process.join(20)


def _serve(port, count, ready, stop) -> None:
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server, session, envelope):
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


SCHOOLS = ["sman1@sekolah.test", "sman8@sekolah.test", "smkn26@sekolah.test", "sman3bdg@sekolah.test"]


def prepare(folder: Path, relay: CountingRelay, count: int) -> Database:
    settings = make_settings(folder, f"sqlite:///{folder / 'bench.db'}", smtp_relay=relay.address)
    db = Database(settings)
    Base.metadata.create_all(db.engine)
    with db.begin() as s:
        load_directory(s)
        # Many acks to one address would trip the rate limit: that is another test.
        s.execute(Base.metadata.tables["setting"].insert().values(key="auto_mail_per_10min", value="0"))
        s.execute(Base.metadata.tables["setting"].insert().values(key="auto_mail_per_day", value="0"))
    with db.begin() as s:
        for i in range(count):
            open_with_ack(s, settings, sender=SCHOOLS[i % len(SCHOOLS)], message_id=f"<b{i}@sekolah.test>",
                          subject=f"Pertanyaan nomor {i}")
    return db


def rendered(db: Database) -> list[tuple[str, bytes]]:
    with db.session() as s:
        return [(row.to_address, render(s, db.settings, row).as_bytes())
                for row in s.scalars(select(Outbox).order_by(Outbox.id))]


def time_ours(db: Database, count: int) -> float:
    started = time.perf_counter()
    sent = 0
    while sent < count:
        sent += deliver_due(db).sent
    return time.perf_counter() - started


def time_smtplib(relay: CountingRelay, messages: list[tuple[str, bytes]], sender: str) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        for to, data in messages:
            smtp.sendmail(sender, [to], data)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    relay = CountingRelay()
    ours, plain, ratios = [], [], []
    try:
        for number in range(1, args.rounds + 1):
            with tempfile.TemporaryDirectory() as tmp:
                db = prepare(Path(tmp), relay, args.count)
                messages = rendered(db)
                relay.reset()
                ours_rate = args.count / time_ours(db, args.count)
                assert relay.reset() == args.count
                plain_rate = args.count / time_smtplib(relay, messages, db.settings.address)
                assert relay.reset() == args.count
                db.engine.dispose()
            ours.append(ours_rate)
            plain.append(plain_rate)
            ratios.append(ours_rate / plain_rate)
            print(f"round {number}: ours {ours_rate:7.1f} mails/s  smtplib {plain_rate:7.1f} mails/s  "
                  f"ratio {ours_rate / plain_rate:.2f}", flush=True)
    finally:
        relay.stop()
    print(f"median: ours {statistics.median(ours):.1f} mails/s, smtplib {statistics.median(plain):.1f} mails/s, "
          f"ratio {statistics.median(ratios):.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
