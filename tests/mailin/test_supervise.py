"""The supervisor with real processes: small Python and shell programs."""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from functools import partial
from pathlib import Path

from mailin.supervise import Backoff, Command, Part, Supervisor, how_it_ended


def command(code: str) -> Part:
    return Part("part", partial(Command, [sys.executable, "-c", code]))


def wait_for(condition, seconds: float = 30, what: str = "the condition"):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.05)
    return found


def runs(pid: int) -> bool:
    """Whether the process runs: an ended one nobody has reaped yet does not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state not in (b"Z", b"X")


def test_the_delay_before_a_restart_doubles_up_to_its_cap_and_starts_over_after_a_steady_run():
    backoff = Backoff(first=1, cap=5, steady=60)
    delays = [None]
    for _ in range(5):
        delays.append(backoff.next_delay(delays[-1], ran_for=2))
    assert delays[1:] == [1, 2, 4, 5, 5]
    assert backoff.next_delay(5, ran_for=61) == 1


def test_how_a_part_ended_names_its_exit_code_or_its_signal():
    assert how_it_ended(3) == "exit code 3"
    assert how_it_ended(-signal.SIGKILL) == "signal SIGKILL"


def test_a_part_that_keeps_dying_is_started_again_each_time_after_a_growing_delay(caplog):
    caplog.set_level(logging.INFO, logger="helpdesk.supervise")
    supervisor = Supervisor([command("raise SystemExit(3)")], Backoff(first=0.05, cap=0.2, steady=60))
    supervisor.start()
    watcher = threading.Thread(target=supervisor.watch)
    watcher.start()
    try:
        wait_for(lambda: len([r for r in caplog.records if "ended: exit code 3" in r.message]) >= 4,
                 what="four deaths")
    finally:
        supervisor.stopping.set()
        watcher.join(10)
        supervisor.stop()
    deaths = [r.message for r in caplog.records if "ended: exit code 3" in r.message]
    assert [message.rpartition(" in ")[2] for message in deaths[:4]] == ["0.05 s", "0.1 s", "0.2 s", "0.2 s"]
    assert len([r for r in caplog.records if r.message.startswith("started part (pid")]) >= 4


def test_without_a_backoff_one_death_stops_the_others(caplog):
    sleeper = Part("sleeper", partial(Command, [sys.executable, "-c", "import time; time.sleep(300)"]))
    supervisor = Supervisor([sleeper, Part("dies", partial(Command, [sys.executable, "-c", "raise SystemExit(5)"]))])
    supervisor.start()
    assert supervisor.watch() is False
    assert supervisor.stop() == [-signal.SIGTERM, 5]
    assert any("dies (pid" in r.message and "ended: exit code 5; stopping the others" in r.message
               for r in caplog.records)


def test_a_part_that_dies_before_everything_is_ready_fails_the_start():
    supervisor = Supervisor([command("raise SystemExit(1)")], Backoff(first=0.05))
    supervisor.start()
    assert supervisor.wait_until(lambda: False, timeout=30) is False
    assert supervisor.stop() == [1]


def test_stop_also_ends_what_a_part_left_running_in_its_process_group(tmp_path):
    """A part that leaves a process behind (here a shell's background job;
    in real life a gunicorn worker or a Celery pool process whose parent was
    killed) does not outlive the stop."""
    pid_file = tmp_path / "left.pid"
    leaves = Part("leaves", partial(Command, ["sh", "-c", f"sleep 300 & echo $! > {pid_file}; exec sleep 300"]))
    supervisor = Supervisor([leaves])
    supervisor.start()
    left = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), what="the background job"))
    assert runs(left)
    supervisor.stop(grace=10)
    wait_for(lambda: not runs(left), seconds=5, what="the left process's end")


def test_what_a_dead_part_left_running_is_stopped_and_the_part_started_again(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="helpdesk.supervise")
    pid_file = tmp_path / "left.pid"
    # The first run leaves a background job and dies; the second runs on.
    script = f"test -e {pid_file} && exec sleep 300; sleep 300 & echo $! > {pid_file}; exit 7"
    supervisor = Supervisor([Part("leaves", partial(Command, ["sh", "-c", script]))], Backoff(first=0.05))
    supervisor.start()
    watcher = threading.Thread(target=supervisor.watch)
    watcher.start()
    try:
        left = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), what="the background job"))
        wait_for(lambda: not runs(left), seconds=10, what="the left process's end")
        wait_for(lambda: len([r for r in caplog.records if r.message.startswith("started leaves")]) == 2,
                 what="the restart")
    finally:
        supervisor.stopping.set()
        watcher.join(10)
        supervisor.stop()
    assert any("leaves (pid" in r.message and "ended: exit code 7" in r.message for r in caplog.records)
