"""Engines and sessions. Callers own their transactions: `with db.begin() as s:`."""
from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _tune_sqlite(engine: Engine) -> None:
    # pysqlite starts transactions lazily and as readers; a reader that later
    # writes can fail at once under concurrency instead of waiting. We take the
    # write lock at BEGIN, so writers queue behind busy_timeout and never
    # deadlock; WAL keeps readers of committed data unblocked.
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine and its session factory for a process."""

    def __init__(self, settings: Settings, **engine_kwargs):
        self.settings = settings
        self.engine = make_engine(settings.database_url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def begin(self) -> Session:
        """A session inside one transaction: commits on success, rolls back on error."""
        return self.sessions.begin()

    def session(self) -> Session:
        return self.sessions()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"
