"""Process supervision for `helpdesk run` and `helpdesk smtpd --processes N`.

A Supervisor starts named parts, waits until they are ready, watches them,
and stops them all on SIGTERM or SIGINT. What it does when one dies after
that is its policy:

- restart (`helpdesk run`, given a Backoff): the part is started again after
  a delay that doubles with each death up to a cap and starts over once the
  part has run steadily for a while, so a one-machine installation survives
  a crash without spinning on a part that cannot start;
- fail fast (`helpdesk smtpd --processes N`, no Backoff): the others are
  stopped and the caller exits non-zero. Its processes share the pipes and
  sockets made when they started, so one cannot be replaced alone; whatever
  runs the command (`helpdesk run`, systemd, a Procfile manager) starts the
  group again.

A part that dies before everything is ready fails the start either way: a
port already taken would only die again. Each death is logged with the
part's name, its pid and how it ended (exit code or signal).

Standard library only, so that cli.py and mailin.smtpd can both use it
without either importing the other.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

log = logging.getLogger("helpdesk.supervise")

# How long a part may take to stop after SIGTERM before it is killed.
STOP_GRACE_SECONDS = 20.0
# How often the supervisor looks at its parts: the delay before it notices a death.
POLL_SECONDS = 0.2


def configure_logging() -> None:
    """One line per event on standard error, naming the logger and the process."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s[%(process)d] %(levelname)s %(message)s")


def available_cores() -> int:
    """The cores this process may run on (a container's share, not the host's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class Child(Protocol):
    pid: int

    def poll(self) -> int | None:
        """The exit status once it has ended (minus the signal that ended it), else None."""

    def terminate(self) -> None: ...

    def kill(self) -> None: ...

    def signal_leftovers(self, signum: int) -> bool:
        """Send `signum` to what the child left running after it ended; whether anything was (0: just look)."""


@dataclass(frozen=True)
class Part:
    name: str
    start: Callable[[], Child]


@dataclass(frozen=True)
class Backoff:
    """Delays before a dead part is started again."""
    first: float = 1.0
    cap: float = 30.0
    steady: float = 60.0  # a part that ran this long had recovered: its next delay is `first` again

    def next_delay(self, previous: float | None, ran_for: float) -> float:
        if previous is None or ran_for >= self.steady:
            return self.first
        return min(previous * 2, self.cap)


def how_it_ended(code: int) -> str:
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"signal {signal.Signals(-code).name}"
    except ValueError:
        return f"signal {-code}"


@dataclass
class Running:
    part: Part
    child: Child | None = None
    started_at: float = 0.0
    delay: float | None = None  # the last delay before a restart; None until one is needed
    due: float | None = None  # when a dead part starts again


class Supervisor:
    def __init__(self, parts: list[Part], backoff: Backoff | None = None):
        self.running = [Running(part) for part in parts]
        self.backoff = backoff
        self.stopping = threading.Event()
        self.stopped_by: int | None = None  # the signal that asked us to stop

    def stop_on_signals(self) -> None:
        """SIGTERM and SIGINT stop every part (call from the main thread). The
        handler only notes the signal: setting the Event there could deadlock
        on its lock, and the loops look at least every POLL_SECONDS."""
        def asked(signum: int, _frame) -> None:
            self.stopped_by = signum
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, asked)

    def should_stop(self) -> bool:
        if self.stopped_by is not None:
            self.stopping.set()
        return self.stopping.is_set()

    def start(self) -> None:
        for running in self.running:
            self._start(running)

    def wait_until(self, ready: Callable[[], bool], timeout: float | None = None) -> bool:
        """Until ready() holds; False when a part dies first, a stop is asked or `timeout` passes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.should_stop():
            for running, code in self._ended():
                log.error("%s (pid %d) ended before everything was ready: %s", running.part.name,
                          running.child.pid, how_it_ended(code))
                return False
            if ready():
                return True
            if deadline is not None and time.monotonic() > deadline:
                log.error("not ready after %g s", timeout)
                return False
            self.stopping.wait(POLL_SECONDS)
        return False

    def watch(self) -> bool:
        """Until a stop is asked (True) or, without a Backoff, a part dies (False)."""
        while not self.should_stop():
            for running, code in self._ended():
                if self.backoff is None:
                    log.error("%s (pid %d) ended: %s; stopping the others", running.part.name,
                              running.child.pid, how_it_ended(code))
                    return False
                self._schedule_restart(running, code)
            self._restart_due()
            self.stopping.wait(POLL_SECONDS)
        return True

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> list[int]:
        """SIGTERM to every part, SIGKILL to any still running after `grace`; their exit codes."""
        self.stopping.set()
        alive = [r.child for r in self.running if r.child is not None and r.child.poll() is None]
        for child in alive:
            child.terminate()
        deadline = time.monotonic() + grace
        while any(child.poll() is None for child in alive) and time.monotonic() < deadline:
            time.sleep(0.05)
        for child in alive:
            if child.poll() is None:
                log.warning("pid %d did not stop within %g s: killed", child.pid, grace)
                child.kill()
        codes = [_wait(r.child) for r in self.running if r.child is not None]
        _stop_leftovers([r.child for r in self.running if r.child is not None], grace)
        return codes

    def _start(self, running: Running) -> None:
        running.child, running.started_at, running.due = running.part.start(), time.monotonic(), None
        log.info("started %s (pid %d)", running.part.name, running.child.pid)

    def _ended(self) -> list[tuple[Running, int]]:
        """The parts that ended since the last look, with their exit codes."""
        found = []
        for running in self.running:
            if running.due is None and running.child is not None:
                code = running.child.poll()
                if code is not None:
                    found.append((running, code))
        return found

    def _schedule_restart(self, running: Running, code: int) -> None:
        ran_for = time.monotonic() - running.started_at
        running.delay = self.backoff.next_delay(running.delay, ran_for)
        running.due = time.monotonic() + running.delay
        running.child.signal_leftovers(signal.SIGTERM)  # what it left running has until the restart to stop
        log.warning("%s (pid %d) ended: %s after %.1f s; starting it again in %g s", running.part.name,
                    running.child.pid, how_it_ended(code), ran_for, running.delay)

    def _restart_due(self) -> None:
        now = time.monotonic()
        for running in self.running:
            if running.due is not None and now >= running.due:
                running.child.signal_leftovers(signal.SIGKILL)
                self._start(running)


def _wait(child: Child) -> int:
    while (code := child.poll()) is None:
        time.sleep(0.05)
    return code


def _stop_leftovers(children: list[Child], grace: float) -> None:
    """SIGTERM to what ended parts left running, SIGKILL to what still runs after `grace`."""
    left = [child for child in children if child.signal_leftovers(signal.SIGTERM)]
    deadline = time.monotonic() + grace
    while any(child.signal_leftovers(0) for child in left) and time.monotonic() < deadline:
        time.sleep(0.05)
    for child in left:
        child.signal_leftovers(signal.SIGKILL)


class Command:
    """A program in a process group of its own, so what it leaves running
    when it dies (a gunicorn worker, a Celery pool process, an SMTP server
    process) can be found and stopped."""

    def __init__(self, argv: list[str]):
        self.popen = subprocess.Popen(argv, process_group=0)
        self.pid = self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def terminate(self) -> None:
        self.popen.terminate()

    def kill(self) -> None:
        self.popen.kill()

    def signal_leftovers(self, signum: int) -> bool:
        if not _group_runs(self.pid):
            return False
        if signum:
            try:
                os.killpg(self.pid, signum)
            except ProcessLookupError:
                return False
        return True


def _group_runs(pgid: int) -> bool:
    """Whether a process of the group still runs. Ended processes that no one
    has reaped yet (orphans, where init does not reap) do not count; where
    /proc is missing they do, and a stop waits its grace for them."""
    try:
        entries = os.listdir("/proc")
    except FileNotFoundError:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    state, _parent, group = stat.read().rpartition(b")")[2].split()[:3]
            except OSError:  # ended meanwhile
                continue
            if int(group) == pgid and state not in (b"Z", b"X"):
                return True
    return False


class Spawned:
    """A started multiprocessing.Process as a Child."""

    def __init__(self, process):
        process.start()
        self.process, self.pid = process, process.pid

    def poll(self) -> int | None:
        return self.process.exitcode

    def terminate(self) -> None:
        self.process.terminate()

    def kill(self) -> None:
        self.process.kill()

    def signal_leftovers(self, signum: int) -> bool:
        """Nothing: its children are its own business (multiprocessing's resource tracker ends with it)."""
        return False
