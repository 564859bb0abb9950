"""Outbox delivery rate against a local relay, beside plain smtplib sending
the same messages over one connection, in the same run.

    .venv/bin/python bench/outbox_bench.py [--count 1000] [--rounds 3] [--no-record]

Each round: a fresh SQLite database with `count` tickets and their queued
acknowledgements; `ours` is the wall time of deliver_due until every row is
sent (claim, render, send, mark); `smtplib` is the time to send the very
same rendered bytes over one SMTP connection with nothing else. Prints each
round, the medians and the median of the per-round ratios (target >= 0.5),
with the CPU time per mail of each side (this process only: the relay runs
in its own), which depends far less on the machine's load than the rates;
then appends them to bench/RESULTS.md (--no-record to skip).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import smtplib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from core.models import Base, Outbox, Ticket  # noqa: E402
from core.storage.db import Database  # noqa: E402
from mailout.deliver import deliver_due  # noqa: E402
from mailout.render import Renderer  # noqa: E402
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


RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
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
    """Every queued mail as the bytes deliver_due would send, for the baseline."""
    renderer = Renderer(db.settings)
    with db.session() as s:
        return [(row.to_address, renderer.render(s, row, s.get(Ticket, row.ticket_id)).as_bytes())
                for row in s.scalars(select(Outbox).order_by(Outbox.id))]


def time_ours(db: Database, count: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for delivering every row."""
    started, cpu = time.perf_counter(), time.process_time()
    sent = 0
    while sent < count:
        sent += deliver_due(db).sent
    return time.perf_counter() - started, time.process_time() - cpu


def time_smtplib(relay: CountingRelay, messages: list[tuple[str, bytes]], sender: str) -> tuple[float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        for to, data in messages:
            smtp.sendmail(sender, [to], data)
    return time.perf_counter() - started, time.process_time() - cpu


@dataclass
class Round:
    ours: float  # mails/s
    plain: float
    ours_cpu_ms: float  # CPU ms per mail in this process
    plain_cpu_ms: float
    load: float  # 1-minute load average after the round

    @property
    def ratio(self) -> float:
        return self.ours / self.plain


def run_round(relay: CountingRelay, count: int) -> Round:
    with tempfile.TemporaryDirectory() as tmp:
        db = prepare(Path(tmp), relay, count)
        messages = rendered(db)
        relay.reset()
        ours_s, ours_cpu = time_ours(db, count)
        assert relay.reset() == count
        plain_s, plain_cpu = time_smtplib(relay, messages, db.settings.address)
        assert relay.reset() == count
        db.engine.dispose()
    return Round(count / ours_s, count / plain_s, 1000 * ours_cpu / count, 1000 * plain_cpu / count,
                 os.getloadavg()[0])


def record(rounds: list[Round], args: argparse.Namespace, path: Path = RESULTS) -> None:
    """Append the run to bench/RESULTS.md, as the other benches do."""
    median = statistics.median
    ratio = median(r.ratio for r in rounds)
    lines = [f"## Outbox delivery (mailout.deliver.deliver_due), {time.strftime('%Y-%m-%d')}", "",
             f"{args.count:,} queued acknowledgements (one per ticket, SQLite, rate limit off) delivered to a "
             "local aiosmtpd relay running in its own process, against plain smtplib sending the very same "
             f"pre-rendered bytes over one connection, in the same run; {len(rounds)} rounds, medians, "
             "ratio = median of the per-round ratios. CPU is this process's time per mail (the relay's is "
             "not counted).", "",
             f"    .venv/bin/python bench/outbox_bench.py --count {args.count} --rounds {args.rounds}", "",
             "| round | ours (mails/s) | smtplib (mails/s) | ratio | ours CPU ms/mail | smtplib CPU ms/mail "
             "| load avg |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for number, r in enumerate(rounds, 1):
        lines.append(f"| {number} | {r.ours:.1f} | {r.plain:.1f} | {r.ratio:.2f} | {r.ours_cpu_ms:.2f} "
                     f"| {r.plain_cpu_ms:.2f} | {r.load:.1f} |")
    lines += [f"| median | {median(r.ours for r in rounds):.1f} | {median(r.plain for r in rounds):.1f} "
              f"| {ratio:.2f} | {median(r.ours_cpu_ms for r in rounds):.2f} "
              f"| {median(r.plain_cpu_ms for r in rounds):.2f} | |", "",
              f"Target >= 0.5: {'met' if ratio >= 0.5 else 'missed'}."]
    with path.open("a") as out:
        out.write("\n" + "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-record", action="store_true", help="print the figures, leave RESULTS.md alone")
    args = parser.parse_args()
    relay = CountingRelay()
    rounds: list[Round] = []
    try:
        for number in range(1, args.rounds + 1):
            r = run_round(relay, args.count)
            rounds.append(r)
            print(f"round {number}: ours {r.ours:7.1f} mails/s  smtplib {r.plain:7.1f} mails/s  "
                  f"ratio {r.ratio:.2f}  CPU ms/mail ours {r.ours_cpu_ms:.2f} smtplib {r.plain_cpu_ms:.2f}  "
                  f"load {r.load:.1f}", flush=True)
    finally:
        relay.stop()
    median = statistics.median
    print(f"median: ours {median(r.ours for r in rounds):.1f} mails/s, "
          f"smtplib {median(r.plain for r in rounds):.1f} mails/s, "
          f"ratio {median(r.ratio for r in rounds):.2f} (target >= 0.5), CPU ms/mail "
          f"ours {median(r.ours_cpu_ms for r in rounds):.2f} smtplib {median(r.plain_cpu_ms for r in rounds):.2f}")
    if not args.no_record:
        record(rounds, args)


if __name__ == "__main__":
    main()
