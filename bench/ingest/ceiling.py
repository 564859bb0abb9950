"""The ceiling for SMTP ingest, and the load client that measures every server.

    python bench/ingest/ceiling.py serve DIR [--port P]   # prints "READY <port>"
    python bench/ingest/ceiling.py blast CORPUS_DIR --port P [--concurrency K]

The ceiling is aiosmtpd doing the least a server that never loses mail can
do: write each DATA to its own file, fsync it, answer 250. Nothing parsed,
nothing stored in a database. It runs in its own process, as the product's
server will, so client and server never share one interpreter lock.

`blast` is the sending side for every server measured: K workers, each one
connection that sends a run of messages and resets (RSET) between them, as a
relaying MTA does. A sender's mails all go through the same worker, in
corpus order, so a reply never overtakes the mail it answers.
"""

import argparse
import asyncio
import itertools
import json
import os
import signal
import smtplib
import statistics
import subprocess
import sys
import threading
import time
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path

from aiosmtpd.smtp import SMTP

RCPT = "helpdesk@localhost"


class DiskSink:
    """aiosmtpd handler: one fsynced file per message, then 250."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.numbers = itertools.count(1)

    def write(self, number: int, content: bytes) -> None:
        fd = os.open(self.folder / f"{number:06d}.eml", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)

    async def handle_DATA(self, server, session, envelope) -> str:
        # In a thread, as the product's handler does, so fsyncs overlap.
        await asyncio.to_thread(self.write, next(self.numbers), envelope.content)
        return "250 2.0.0 OK"


async def serve(folder: Path, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    sink = DiskSink(folder)
    server = await loop.create_server(lambda: SMTP(sink, hostname="localhost"), host, port)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    server.close()


def start_server(folder: Path, host: str = "127.0.0.1") -> tuple[subprocess.Popen, int]:
    """Start the ceiling server in its own process on a free port."""
    process = subprocess.Popen(
        [sys.executable, __file__, "serve", str(folder), "--host", host, "--port", "0"],
        stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(f"ceiling server did not start: {line!r}")
    return process, int(line.split()[1])


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=10)


def envelope_sender(path: Path) -> str:
    with path.open("rb") as raw:
        return parseaddr(BytesHeaderParser().parse(raw).get("From", ""))[1]


def share_out(files: list[Path], workers: int) -> list[list[tuple[str, bytes]]]:
    """Split the corpus into per-worker runs, keeping each sender on one worker."""
    runs: list[list[tuple[str, bytes]]] = [[] for _ in range(workers)]
    worker_of: dict[str, int] = {}
    for path in files:
        sender = envelope_sender(path)
        worker = worker_of.setdefault(sender, len(worker_of) % workers)
        runs[worker].append((sender, path.read_bytes()))
    return runs


def send_run(host: str, port: int, run: list[tuple[str, bytes]], latencies: list[float],
             refusals: list[str], losses: list[str]) -> None:
    client = smtplib.SMTP(host, port, local_hostname="bench.localhost", timeout=120)
    try:
        for sender, data in run:
            started = time.perf_counter()
            try:
                client.sendmail(sender, [RCPT], data)
            except smtplib.SMTPResponseException as refused:
                refusals.append(f"{refused.smtp_code} {refused.smtp_error!r}")
            except smtplib.SMTPRecipientsRefused as refused:
                refusals.append(repr(refused.recipients))
            latencies.append(time.perf_counter() - started)
            client.rset()
        client.quit()
    except (smtplib.SMTPServerDisconnected, OSError) as lost:
        losses.append(repr(lost))
        client.close()


def blast(host: str, port: int, files: list[Path], concurrency: int) -> dict:
    """Send every file over SMTP with `concurrency` connections; time it."""
    runs = [run for run in share_out(sorted(files), concurrency) if run]
    latencies: list[float] = []
    refusals: list[str] = []
    losses: list[str] = []
    workers = [threading.Thread(target=send_run,
                                args=(host, port, run, latencies, refusals, losses))
               for run in runs]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    ranked = sorted(latencies) or [0.0]
    return {
        "messages": len(files), "answered": len(latencies), "refused": len(refusals),
        "accepted": len(latencies) - len(refusals), "seconds": round(seconds, 3),
        "per_second": round((len(latencies) - len(refusals)) / seconds, 1),
        "p50_ms": round(statistics.median(ranked) * 1000, 2),
        "p95_ms": round(ranked[int(0.95 * (len(ranked) - 1))] * 1000, 2),
        "unanswered": len(files) - len(latencies), "concurrency": len(runs),
        "refusals": refusals[:5], "connections_lost": losses[:5],
    }


def measure(corpus: list[Path], concurrency: int, workdir: Path) -> dict:
    """One round against a fresh ceiling server; checks every mail reached disk."""
    workdir.mkdir(parents=True)
    process, port = start_server(workdir)
    try:
        result = blast("127.0.0.1", port, corpus, concurrency)
    finally:
        stop_server(process)
    result["on_disk"] = len(list(workdir.glob("*.eml")))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="SMTP ingest ceiling and load client")
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve")
    serving.add_argument("folder", type=Path)
    serving.add_argument("--host", default="127.0.0.1")
    serving.add_argument("--port", type=int, default=0)
    blasting = commands.add_parser("blast")
    blasting.add_argument("corpus", type=Path)
    blasting.add_argument("--host", default="127.0.0.1")
    blasting.add_argument("--port", type=int, required=True)
    blasting.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    if args.command == "serve":
        asyncio.run(serve(args.folder, args.host, args.port))
    else:
        files = sorted(args.corpus.glob("*.eml"))
        print(json.dumps(blast(args.host, args.port, files, args.concurrency)))


if __name__ == "__main__":
    main()
