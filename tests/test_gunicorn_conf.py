"""gunicorn.conf.py: the web process's settings, for the Procfile and `helpdesk run` alike."""
from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mailin.supervise import available_cores

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "gunicorn.conf.py"


def test_threaded_workers_sized_for_the_machine_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("WEB_THREADS", raising=False)
    settings = runpy.run_path(str(CONFIG))
    assert (settings["worker_class"], settings["workers"], settings["threads"]) == (
        "gthread", available_cores() + 1, 8)
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    monkeypatch.setenv("WEB_THREADS", "4")
    settings = runpy.run_path(str(CONFIG))
    assert (settings["workers"], settings["threads"]) == (5, 4)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def test_idle_connections_do_not_hold_the_web_process(database):
    """Browsers open connections before they have a request to send, and keep
    them. A sync worker waits on such a connection (for up to its 30 s
    timeout) while other requests queue; here one process takes four idle
    connections and still answers the next request at once."""
    s = database.settings
    port = _free_port()
    env = {**os.environ, "HELPDESK_DATA_DIR": str(s.data_dir), "HELPDESK_DATABASE_URL": s.database_url,
           "HELPDESK_SECRET_KEY": s.secret_key, "WEB_CONCURRENCY": "1"}
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", str(CONFIG), "--bind", f"127.0.0.1:{port}",
                            "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/healthz"
    idle = []
    try:
        deadline = time.monotonic() + 60
        while not _answers(url):
            assert time.monotonic() < deadline and web.poll() is None, "gunicorn did not answer"
            time.sleep(0.2)
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
        started = time.monotonic()
        with urllib.request.urlopen(url, timeout=60) as response:
            assert response.status == 200
        # A sync worker would still be waiting on the first idle connection.
        assert time.monotonic() - started < 4
    finally:
        for connection in idle:
            connection.close()
        web.terminate()
        web.wait(timeout=30)
