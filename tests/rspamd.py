"""A real rspamd for tests: Debian's package, a throwaway instance as in the
shared recipe, its own overrides and state in a temporary folder, on free
loopback ports. Skipped where rspamd is not installed (and failing under
CI=true, where .ci/run installs it)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.mailout.relay import free_port

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


class Rspamd:
    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Rspamd":
        local = self.folder / "local.d"
        for sub in ("local.d", "db", "run"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        (local / "worker-normal.inc").write_text(f'bind_socket = "127.0.0.1:{self.port}";\n')
        (local / "worker-controller.inc").write_text(f'bind_socket = "127.0.0.1:{free_port()}";\n')
        (local / "worker-proxy.inc").write_text(f'bind_socket = "127.0.0.1:{free_port()}";\n')
        (local / "redis.conf").write_text('servers = "127.0.0.1:6379";\n')
        (local / "logging.inc").write_text('type = "console"; level = "error";\n')
        # No network here: a resolver that does not answer, and answers fast.
        (local / "options.inc").write_text(f'dns {{ nameserver = ["127.0.0.1:{free_port()}"]; timeout = 1s; '
                                           f'retransmits = 1; }}\n')
        user = ["-u", "root", "-g", "root"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            ["rspamd", "-f", *user, "-c", "/etc/rspamd/rspamd.conf", f"LOCAL_CONFDIR={self.folder}",
             f"DBDIR={self.folder / 'db'}", f"RUNDIR={self.folder / 'run'}"],
            stdout=subprocess.DEVNULL, stderr=open(self.folder / "rspamd.log", "wb"), start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rspamd exited: {(self.folder / 'rspamd.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)  # polling for the listener to come up
        raise RuntimeError("rspamd did not answer within 60 s")

    def check(self, raw: bytes) -> dict:
        request = urllib.request.Request(f"{self.url}/checkv2", data=raw, headers={"IP": "127.0.0.1"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def require_rspamd() -> None:
    if shutil.which("rspamd") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("rspamd is not installed: .ci/run installs it")
        pytest.skip("rspamd is not installed")


@pytest.fixture(scope="session")
def rspamd(tmp_path_factory):
    require_rspamd()
    running = Rspamd(tmp_path_factory.mktemp("rspamd")).start()
    yield running
    running.stop()
