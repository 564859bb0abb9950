"""What the benches share: a free loopback port, and scratch PostgreSQL
databases made for one run and dropped after it."""
from __future__ import annotations

import socket
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


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
