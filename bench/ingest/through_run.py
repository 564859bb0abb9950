"""One round of ingest through `helpdesk run`, and where its CPU goes.

    .venv/bin/python bench/ingest/run.py --server run --skip-peer [--rounds 3]

`ours()` starts the product as `make run` does (every part in one process
tree: web, the SMTP server with its processes and writer, the worker with
beat inside, all on the embedded defaults) on a fresh data dir with the
corpus's directory imported, waits for its READY line, and sends the corpus
to its SMTP port with the same load client as the ceiling. The worker runs
meanwhile, so the acknowledgements are delivered (written to outgoing/) as
on a real install, and their writes share the database with the SMTP side.

Besides the rate, the result has `cpu_ms_per_mail`: CPU time (user and
system, from /proc) each part of the process tree used during the blast,
divided by the mails accepted. Parts are named after the supervisors' log
lines ("started smtp (pid N)", "started smtpd-1 (pid N)"): the helpdesk run
supervisor itself, web, smtp (the process that accepts and deals the
connections), smtpd-1..N, smtpd-writer, worker (Celery, its pool and beat),
and senders (this process: the load client).

The rate counts the mails answered 250, and so the CPU per mail counts what
was spent until then. A mail's bytes are written to the database with its
row and moved into the file store later by the worker (core.storage.spool),
so part of the work of a blast comes after its last 250: the round then
waits until the spool is empty and also reports `spool_drain_seconds` and
`cpu_ms_per_mail_with_drain`, the CPU of the blast and of the drain together.
"""

import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import ceiling
import product

STARTED = re.compile(r"helpdesk\.supervise\[(\d+)\] INFO started (\S+) \(pid (\d+)\)")


def ours(corpus_dir: Path, directory_csv: Path, concurrency: int, manifest: list[dict]) -> dict:
    with tempfile.TemporaryDirectory(prefix="ours-run-") as data:
        env = product.fresh_env(Path(data))
        product.prepare(env, directory_csv)
        smtp_port, web_port = free_ports(2)
        log = Path(data) / "run.log"
        with log.open("w") as log_file:
            server = subprocess.Popen([*product.HELPDESK, "run", "--smtp-port", str(smtp_port), "--web-port",
                                       str(web_port)], cwd=product.ROOT, env=env, stdout=log_file,
                                      stderr=subprocess.STDOUT)
        try:
            wait_for_ready(log, server)
            result = measured_blast(server.pid, log, smtp_port, sorted(corpus_dir.glob("*.eml")), concurrency,
                                    Path(data) / "helpdesk.db")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=90)
        result["mails_per_process"] = product.mails_per_process(log.read_text(errors="replace"))
        result["threading"] = product.threading_score(env, Path(data), manifest)
    return result


def measured_blast(run_pid: int, log: Path, port: int, files: list[Path], concurrency: int,
                   database: Path) -> dict:
    """ceiling.blast, with each part's CPU time and the machine's busy share
    over it; then the wait for the spool to empty, and the CPU with it."""
    names = part_names(run_pid, log.read_text(errors="replace"))
    before, machine_before, senders_before = snapshot(run_pid), machine_times(), time.process_time()
    result = ceiling.blast("127.0.0.1", port, files, concurrency)
    after, machine_after, senders = snapshot(run_pid), machine_times(), time.process_time() - senders_before
    mails = max(1, result["accepted"])
    used = cpu_by_part(before, after, names)
    used["senders"] = senders
    result["cpu_ms_per_mail"] = per_mail(used, mails)
    result["cpu_ms_per_mail_total"] = round(sum(used.values()) * 1000 / mails, 3)
    busy, total = (after_ - before_ for after_, before_ in zip(machine_after, machine_before))
    result["machine_busy_share"] = round(busy / total, 3) if total else None
    started = time.monotonic()
    result["spool_left_at_last_250"] = spooled(database)
    result["spool_drain_seconds"] = wait_for_empty_spool(database)
    # The drain's CPU less what an idle install spends meanwhile (beat, polls) is not
    # taken out: over a few seconds it is small beside a blast's.
    drained = cpu_by_part(before, snapshot(run_pid), names)
    drained["senders"] = senders
    result["cpu_ms_per_mail_with_drain"] = per_mail(drained, mails)
    result["cpu_ms_per_mail_total_with_drain"] = round(sum(drained.values()) * 1000 / mails, 3)
    result["drain_wall_seconds"] = round(time.monotonic() - started, 2)
    return result


def per_mail(used: dict[str, float], mails: int) -> dict[str, float]:
    return {part: round(seconds * 1000 / mails, 3) for part, seconds in sorted(used.items())}


def spooled(database: Path) -> int:
    """Mails whose bytes wait in the database for the worker to move them."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        return connection.execute("SELECT count(*) FROM raw_content").fetchone()[0]
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):  # a build from before the spool
            return 0
        raise
    finally:
        connection.close()


def wait_for_empty_spool(database: Path, seconds: float = 120) -> float:
    """Seconds until the worker has moved every spooled mail into the store."""
    started = time.monotonic()
    while spooled(database):
        if time.monotonic() - started > seconds:
            raise RuntimeError(f"the spool still held mail after {seconds} s")
        time.sleep(0.1)
    return round(time.monotonic() - started, 2)


def free_ports(count: int) -> list[int]:
    import socket

    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def wait_for_ready(log: Path, server: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if re.search(r"^READY ", log.read_text(errors="replace"), re.M):
            return
        if server.poll() is not None:
            raise RuntimeError(f"helpdesk run exited with {server.returncode}: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    raise RuntimeError("helpdesk run did not say READY")


def part_names(run_pid: int, log: str) -> dict[int, str]:
    """pid -> part, from the supervisors' "started" lines; the run process is "supervisor"."""
    names = {run_pid: "supervisor"}
    for _supervisor, part, pid in STARTED.findall(log):
        names[int(pid)] = part
    return names


def snapshot(root: int) -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds) for `root` and everything below it."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                table[int(entry)] = stat
    below, todo = {root}, [root]
    while todo:
        parent = todo.pop()
        children = [pid for pid, (ppid, _) in table.items() if ppid == parent and pid not in below]
        below.update(children)
        todo.extend(children)
    return {pid: table[pid] for pid in below if pid in table}


def _stat(pid: int) -> tuple[int, float] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()
    except OSError:  # ended meanwhile
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_part(before: dict, after: dict, names: dict[int, str]) -> dict[str, float]:
    """CPU seconds each part used between the snapshots; a process counts for
    its nearest named ancestor (a gunicorn worker for web, a pool process for
    worker). One that ended between them is lost (none should)."""
    used: dict[str, float] = {}
    for pid, (parent, seconds) in after.items():
        spent = seconds - before.get(pid, (parent, 0.0))[1]
        part = _part_of(pid, after, names)
        used[part] = used.get(part, 0.0) + spent
    return used


def _part_of(pid: int, table: dict, names: dict[int, str]) -> str:
    while pid not in names and pid in table:
        pid = table[pid][0]
    return names.get(pid, "other")


def machine_times() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs so far, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)
