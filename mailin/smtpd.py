"""The SMTP server: aiosmtpd in front of the inbound pipeline.

The handler owns nothing but the translation: the pipeline runs in a worker
thread (it blocks on the database and fsync), so sessions proceed
concurrently, and its result becomes the reply code. 250 is sent only after
the message and its outcome are committed; 451 asks the sender to retry.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import signal
import socket
import sys
import threading
import time

from aiosmtpd.smtp import SMTP, Envelope, Session

from core.db import Database
from mailin.inbound import TemporaryFailure
from mailin.pipeline import ingest

log = logging.getLogger("helpdesk.smtpd")


# Mails a server process takes through the pipeline at once. The database
# takes one writer at a time anyway; more threads would only fight the
# writer for the interpreter lock and stretch the time it holds the database.
# Two let one mail be parsed while another is written.
PIPELINE_THREADS = 2


class Handler:
    def __init__(self, db: Database, threads: int = PIPELINE_THREADS):
        self.db = db
        self.recipients = db.settings.own_addresses
        self.pipeline = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="pipeline")

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.strip().lower() not in self.recipients:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                self.pipeline, ingest, self.db, content, envelope.mail_from, tuple(envelope.rcpt_tos), "smtp")
        except TemporaryFailure as failure:
            log.warning("451 from=%s size=%d: %s", envelope.mail_from, len(content), failure)
            return "451 4.3.0 Temporary failure, please try again later"
        except Exception:
            # Not recorded (the pipeline quarantines anything after recording):
            # the sender keeps the message and tries again.
            log.exception("451 from=%s size=%d: unexpected error", envelope.mail_from, len(content))
            return "451 4.3.0 Temporary failure, please try again later"
        log.info("250 raw=%d from=%s size=%d outcome=%s ref=%s%s", result.raw_mail_id, envelope.mail_from,
                 len(content), result.outcome, result.ticket_ref or "-",
                 f" reason={result.reason!r}" if result.reason else "")
        return f"250 2.0.0 OK {result.ticket_ref or 'accepted'}"


def make_protocol(db: Database, handler: Handler | None = None) -> SMTP:
    return SMTP(handler or Handler(db), data_size_limit=db.settings.max_message_bytes, enable_SMTPUTF8=True,
                hostname=db.settings.domain, ident="helpdesk")


async def start(db: Database, host: str, port: int, reuse_port: bool = False) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    handler = Handler(db)  # one for all sessions, so they share its pipeline threads
    return await loop.create_server(lambda: make_protocol(db, handler), host, port, reuse_port=reuse_port or None)


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s[%(process)d] %(levelname)s %(message)s")
    # aiosmtpd logs every command at INFO; the handler logs one line per message.
    logging.getLogger("mail.log").setLevel(logging.WARNING)


def serve(db: Database, host: str = "127.0.0.1", port: int = 2525, ready=None, reuse_port: bool = False) -> None:
    """Serve until SIGTERM or SIGINT; `ready(port)` is called once listening.
    With `reuse_port`, other processes may listen on the same port (SO_REUSEPORT)
    and the kernel shares the connections out between them."""
    async def main() -> None:
        server = await start(db, host, port, reuse_port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if ready is not None:
            ready(server.sockets[0].getsockname()[1])
        await stop.wait()
        server.close()
        await server.wait_closed()

    asyncio.run(main())


def serve_processes(count: int, host: str = "127.0.0.1", port: int = 2525, ready=None) -> int:
    """`count` server processes on one port (SO_REUSEPORT), so parsing and the
    SMTP dialogue use every core while the database serialises the writes.
    Stops them all on SIGTERM or SIGINT, or when one of them dies (the exit
    code is then non-zero, for the supervisor to restart us). Each child opens
    its own database connections from the environment's settings."""
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with _reserved_port(host, port) as port:
        started = [context.Event() for _ in range(count)]
        children = [context.Process(target=_child, args=(host, port, event), name=f"smtpd-{number}")
                    for number, event in enumerate(started, start=1)]
        for child in children:
            child.start()
        while not stop.is_set() and not all(event.is_set() for event in started):
            if any(not child.is_alive() for child in children):
                break
            time.sleep(0.05)
    if ready is not None and all(event.is_set() for event in started):
        ready(port)
    while not stop.is_set() and all(child.is_alive() for child in children):
        stop.wait(0.5)
    failed = not stop.is_set()
    for child in children:
        if child.is_alive():
            child.terminate()
    for child in children:
        child.join(20)
        if child.is_alive():
            child.kill()
            child.join()
    return 1 if failed else 0


class _reserved_port:
    """Port 0 asks for a free port: hold one (bound, not listening, with
    SO_REUSEPORT) until every child listens on it, then let go."""

    def __init__(self, host: str, port: int):
        self.host, self.port, self.probe = host, port, None

    def __enter__(self) -> int:
        if self.port:
            return self.port
        self.probe = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        self.probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self.probe.bind((self.host, 0))
        return self.probe.getsockname()[1]

    def __exit__(self, *exc) -> None:
        if self.probe is not None:
            self.probe.close()


def _child(host: str, port: int, started) -> None:
    """One server process of serve_processes."""
    from core.settings import load_settings

    configure_logging()
    db = Database(load_settings())
    serve(db, host, port, ready=lambda _bound: started.set(), reuse_port=True)


class BackgroundServer:
    """The server on its own event loop in a thread, for a process that does
    other work too (tests talk to it over a real socket this way)."""

    def __init__(self, db: Database, host: str = "127.0.0.1", port: int = 0):
        self.db, self.host, self.port = db, host, port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="smtpd", daemon=True)
        self.server: asyncio.Server | None = None

    def start(self) -> "BackgroundServer":
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(start(self.db, self.host, self.port), self.loop).result(10)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
