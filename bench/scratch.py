"""What the benches share: a free loopback port, scratch PostgreSQL databases
made for one run and dropped after it, a directory of the national size filled
in SQL, the portal under gunicorn, and a scratch installation (scratch_site)
that puts those together and takes them down again."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.config.settings import load_settings
from core.models import Base
from core.storage.db import Database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _admin(server_url: str, *statements: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def create_database(server_url: str, name: str | None = None) -> str:
    """A new empty database on the server of `server_url` (replacing one of the
    same name); returns its URL."""
    name = name or f"hd_bench_{uuid.uuid4().hex[:10]}"
    _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    _admin(server_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


CITIES, PROVINCES = 510, 34
# The Ministry, 34 provinces, 510 cities and :schools schools, with their paths.
DIRECTORY_SQL = [
    "INSERT INTO office (code, name, kind, parent_id, path, active, created_at) "
    "VALUES ('MIN', 'Kementerian', 'ministry', NULL, '/MIN/', true, now())",
    f"""INSERT INTO office (code, name, kind, parent_id, path, active, created_at)
    SELECT 'P' || lpad(p::text, 2, '0'), 'Dinas Provinsi ' || p, 'province', m.id,
           '/MIN/P' || lpad(p::text, 2, '0') || '/', true, now()
    FROM generate_series(1, {PROVINCES}) p, office m WHERE m.code = 'MIN'""",
    f"""INSERT INTO office (code, name, kind, parent_id, path, active, created_at)
    SELECT 'C' || lpad(c::text, 4, '0'), 'Dinas Kota ' || c, 'city', p.id,
           p.path || 'C' || lpad(c::text, 4, '0') || '/', true, now()
    FROM generate_series(1, {CITIES}) c JOIN office p ON p.code = 'P' || lpad((1 + c % {PROVINCES})::text, 2, '0')""",
    f"""INSERT INTO office (code, name, kind, parent_id, path, email, active, created_at)
    SELECT 'S' || lpad(s::text, 6, '0'), 'Sekolah ' || s, 'school', c.id,
           c.path || 'S' || lpad(s::text, 6, '0') || '/', 'sekolah' || s || '@sekolah.bench', true, now()
    FROM generate_series(1, :schools) s JOIN office c ON c.code = 'C' || lpad((1 + s % {CITIES})::text, 4, '0')""",
]


def gunicorn_settings(root: Path, env: dict) -> dict:
    """What gunicorn.conf.py (the product's web settings) gives in `env`: worker_class, workers, threads."""
    import os
    import runpy

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        found = runpy.run_path(str(root / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {key: found[key] for key in ("worker_class", "workers", "threads")}


def start_gunicorn(root: Path, env: dict, port: int, workers: int | None = None, threads: int | None = None,
                   wait_seconds: float = 30) -> subprocess.Popen:
    """The portal under gunicorn on a loopback port, once /healthz answers,
    with the product's settings (gunicorn.conf.py, as the Procfile and
    `helpdesk run` start it). `workers` and `threads` override them; threads=0
    runs sync workers, which serve one connection at a time."""
    extra = ["--workers", str(workers)] if workers else []
    if threads == 0:
        extra += ["--worker-class", "sync"]
    elif threads:
        extra += ["--worker-class", "gthread", "--threads", str(threads)]
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", str(root / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
         *extra, "wsgi:app"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not answer: " + process.stderr.read().decode()[-2000:])


@dataclass
class Site:
    """A scratch installation for one bench run: its database, the environment
    its processes get (its own data folder and secret), its loopback port, and
    gunicorn once `serve` started it."""
    url: str
    env: dict[str, str]
    port: int
    database: Database
    gunicorn: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, root: Path, workers: int | None = None, threads: int | None = None) -> subprocess.Popen:
        self.gunicorn = start_gunicorn(root, self.env, self.port, workers, threads)
        return self.gunicorn


@contextlib.contextmanager
def scratch_site(server_url: str, prefix: str, database_url: str | None = None, keep: bool = False) -> Iterator[Site]:
    """A site on a new database with the schema (or on `database_url`, an
    already filled one, left as it is). At the end gunicorn stops and the new
    database is dropped, unless `keep`, whatever went wrong in between."""
    url = database_url or create_database(server_url)
    port = free_port()
    env = {**os.environ, "HELPDESK_DATABASE_URL": url, "HELPDESK_DATA_DIR": tempfile.mkdtemp(prefix=prefix),
           "HELPDESK_SECRET_KEY": "bench", "HELPDESK_BASE_URL": f"http://127.0.0.1:{port}"}
    site = Site(url, env, port, Database(load_settings(env)))
    try:
        if database_url is None:
            Base.metadata.create_all(site.database.engine)
        yield site
    finally:
        if site.gunicorn is not None:
            site.gunicorn.terminate()
            site.gunicorn.wait(timeout=30)
        site.database.engine.dispose()
        if database_url is None and not keep:
            drop_database(server_url, url)
