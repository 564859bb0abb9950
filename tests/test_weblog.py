"""The web server's logs carry no private or reset token: real gunicorn, as the
Procfile and `helpdesk run` start it, on a loopback port."""
from __future__ import annotations

import logging
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cli import parts
from core.access.logins import request_reset
from core.access.redaction import Redactor, install, redact
from core.tickets.intake import link_of
from tests.factories import load_directory, make_user
from tests.mailout.world import open_with_ack
from tests.test_cli import ROOT, _env, _free_port


def procfile_web(port: int) -> list[str]:
    """The Procfile's web command, its ${VAR:-default} expanded, bound to loopback."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    line = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: {"PORT": str(port), "WEB_CONCURRENCY": "1"}.get(
        m.group(1), m.group(2)), line.removeprefix("web:"))
    argv = [arg.replace("0.0.0.0:", "127.0.0.1:") for arg in shlex.split(line)]
    assert argv[0] == "gunicorn"
    return [sys.executable, "-m", "gunicorn", *argv[1:]]


def run_web(port: int) -> list[str]:
    [(_, argv, _)] = [part for part in parts("127.0.0.1", port, _free_port()) if part[0] == "web"]
    return argv


def secrets_of(database) -> tuple[str, str]:
    """A ticket's private path and a password-reset path, both live."""
    with database.begin() as s:
        offices = load_directory(s)
        ticket = open_with_ack(s, database.settings)
        user = make_user(s, offices["C3171"])
        _, reset = request_reset(s, user.email)
        private = urlsplit(link_of(database.settings, ticket)).path
    return private, f"/password/reset/{reset}"


def fetch(url: str, referer: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Referer": referer} if referer else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_until_up(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if fetch(f"{base}/healthz") == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not come up")


@pytest.mark.parametrize("command", [procfile_web, run_web], ids=["procfile", "helpdesk-run"])
def test_a_private_page_and_a_reset_link_leave_no_token_in_the_logs(database, tmp_path, command):
    private, reset = secrets_of(database)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    with access.open("w") as out, errors.open("w") as err:
        proc = subprocess.Popen(command(port), cwd=ROOT, env=_env(database), stdout=out, stderr=err)
        try:
            wait_until_up(base, proc)
            assert fetch(f"{base}{private}", referer=f"{base}{reset}") == 200
            assert fetch(f"{base}{reset}", referer=f"{base}{private}") == 200
            assert fetch(f"{base}{private}/a/999999") == 404
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    logged = access.read_text() + errors.read_text()
    assert 'GET /t/*** HTTP/1.1" 200' in logged and 'GET /password/reset/*** HTTP/1.1" 200' in logged
    for secret in (private.rsplit("/", 1)[1], reset.rsplit("/", 1)[1]):
        assert secret not in logged


def test_redact_masks_tokens_in_paths_links_and_query_strings():
    assert redact("GET /t/Ab-c_9.x/a/3?download=1 HTTP/1.1") == "GET /t/***/a/3?download=1 HTTP/1.1"
    assert redact("https://h.test/password/reset/Zz9-_x") == "https://h.test/password/reset/***"
    assert redact("/login/oidc/callback?code=s3cr3t&state=xyz") == "/login/oidc/callback?code=***&state=***"
    assert redact("/staff/tickets/JKT-1 ok") == "/staff/tickets/JKT-1 ok"


def test_a_handler_with_the_redactor_masks_messages_and_tracebacks(tmp_path):
    logger = logging.getLogger("tests.redaction")
    logger.propagate = False
    handler = logging.FileHandler(tmp_path / "out.log")
    logger.addHandler(handler)
    install(logger)
    try:
        try:
            raise LookupError("no ticket at /t/leaked-token")
        except LookupError:
            logger.exception("Exception on %s [GET]", "/t/leaked-token")
    finally:
        logger.removeHandler(handler)
        handler.close()
    written = (tmp_path / "out.log").read_text()
    assert "leaked-token" not in written
    assert written.startswith("Exception on /t/*** [GET]") and "LookupError: no ticket at /t/***" in written
    assert any(isinstance(f, Redactor) for f in handler.filters)
