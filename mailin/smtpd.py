"""The SMTP server: aiosmtpd in front of the inbound pipeline.

The handler owns nothing but the translation: the pipeline runs in a worker
thread (it blocks on the database and fsync), so sessions proceed
concurrently, and its result becomes the reply code. 250 is sent only after
the message and its outcome are committed; 451 asks the sender to retry.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import multiprocessing
import re
import signal
import socket
import ssl
import threading
import time
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError

from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session

from core.access import redaction
from core.mail import auth
from core.mail.auth import Client
from core.mail.senders import Verdict as SenderRule
from core.storage.db import Database, is_sqlite_url
from mailin import supervise
from mailin.inbound import TemporaryFailure
from mailin.pipeline import LocalWriter, Writer, ingest
from mailin.spam import Refused, check_envelope_sender, judge
from mailin.throttle import Throttle, client_host
from mailin.writer import RemoteWriter, run_writer_process

log = logging.getLogger("helpdesk.smtpd")


# Mails a server process takes through the pipeline at once. The database
# takes one writer at a time anyway; more threads would only fight the
# writer for the interpreter lock and stretch the time it holds the database.
# Two let one mail be parsed while another is written.
PIPELINE_THREADS = 2
# With a writer process (serve_processes on SQLite) the threads mostly wait:
# on the fsync of the stored bytes and on the writer's answer. Four kept it
# busier: 169-189 msg/s in the ingest bench, against 151-162 with two (each
# run of 3 rounds; six and eight did no better than four).
PIPELINE_THREADS_WITH_WRITER = 4


class Handler:
    def __init__(self, db: Database, threads: int = PIPELINE_THREADS, writer: Writer | None = None):
        self.db, self.writer = db, writer or LocalWriter(db)
        self.recipients = db.settings.own_addresses
        self.max_recipients = db.settings.smtp_max_recipients
        self.throttle = Throttle(db.settings)
        self.pipeline = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="pipeline")
        self.tls = listener_tls(db.settings.smtp_tls_cert, db.settings.smtp_tls_key)
        auth.warm()  # before the first mail, not in each pipeline thread with it

    def refuse_connection(self, peer: object) -> str | None:
        """The reply that turns a new connection away (its client is over its
        limit per minute), or None to greet it."""
        if self.throttle.admit_connection(peer):
            return None
        log.warning("421 connection from %s: over %d connections a minute", client_host(peer),
                    self.throttle.connections.limit)
        return "421 4.7.0 Too many connections from your address; try again in a minute"

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        if not self.throttle.admit_message(session.peer):
            log.warning("451 MAIL from %s <%s>: over %d messages a minute", client_host(session.peer), address,
                        self.throttle.messages.limit)
            return "451 4.7.1 Too many messages from your address; try again in a minute"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if 0 < self.max_recipients <= len(envelope.rcpt_tos):
            return "452 4.5.3 Too many recipients"
        if address.strip().lower() not in self.recipients:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        try:  # the ban list is read in a pipeline thread: a database read never blocks the loop
            await asyncio.get_running_loop().run_in_executor(self.pipeline, check_envelope_sender, self.db,
                                                             envelope.mail_from, rules_seen(envelope))
        except Refused as refusal:
            log.info("refused at RCPT from=%s: %s", envelope.mail_from, refusal.reply)
            return refusal.reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        client = client_of_session(session)
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                self.pipeline, self.take, content, envelope.mail_from, tuple(envelope.rcpt_tos), client,
                rules_seen(envelope))
        except Refused as refusal:
            log.info("refused at DATA from=%s size=%d: %s", envelope.mail_from, len(content), refusal.reply)
            return refusal.reply
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

    def take(self, content: bytes, mail_from: str | None, rcpt_tos: tuple[str, ...], client: Client | None,
             seen: dict[str, SenderRule | None] | None = None):
        """In a pipeline thread: the front door's judgement (mailin.spam), then the pipeline."""
        verdict = judge(self.db, content, mail_from, rcpt_tos, client, seen)
        return ingest(self.db, content, mail_from, rcpt_tos, "smtp", self.writer, spam=verdict, client=client)


class Transaction(Envelope):
    """aiosmtpd's envelope of one mail transaction (MAIL to the end of DATA,
    or RSET), with the ban and allow list rules read for it, by address."""

    def __init__(self) -> None:
        super().__init__()
        self.sender_rules: dict[str, SenderRule | None] = {}


def rules_seen(envelope: Envelope) -> dict[str, SenderRule | None] | None:
    """The rules read for this transaction, to read none twice (None: an envelope of aiosmtpd's own)."""
    return getattr(envelope, "sender_rules", None)


def client_of_session(session: Session) -> Client | None:
    """The client's IP and HELO name, which SPF is checked for (None: not a TCP peer)."""
    peer = session.peer
    if not isinstance(peer, tuple) or not peer:
        return None
    return Client(str(peer[0]), session.host_name or None)


class Server(SMTP):
    """aiosmtpd's SMTP, with the message after DATA read in blocks (and the
    addresses of MAIL and RCPT parsed without aiosmtpd's cost, see _getaddr).

    aiosmtpd reads DATA a line at a time through a stream reader whose limit
    is one line, so a 20 KB message takes hundreds of trips through the event
    loop and the reader pauses the socket every 2 KB: a fifth of the server's
    CPU. This reads up to each ".<CRLF>" in blocks of up to DATA_BLOCK bytes
    (a period ending a line ends a block; base64 never does) and then applies
    RFC 5321's rules to the whole: the end mark is "<CRLF>.<CRLF>", a leading
    period is removed from every line (4.5.2), more than data_size_limit
    bytes is 552 and a line longer than line_length_limit is 500, both
    answered once the end mark has come (4.2.5), as aiosmtpd does. Bytes
    after the end mark stay in the reader for the next command. A client
    the handler turns away (too many connections) gets 421 instead of the
    greeting.
    """

    def _create_envelope(self) -> Transaction:
        return Transaction()

    async def _handle_client(self) -> None:
        """Greet the client, or answer 421 and hang up when the handler turns
        it away (aiosmtpd has no hook before its greeting; as with its own
        hooks, a handler without `refuse_connection` greets everyone)."""
        refuse = getattr(self.event_handler, "refuse_connection", None)
        refusal = refuse(self.session.peer) if refuse is not None else None
        if refusal is None:
            await super()._handle_client()
            return
        await self.push(refusal)
        self.transport.close()

    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        lost, content = await self._read_data()
        if lost:
            return
        if content is None or (self.data_size_limit and len(content) > self.data_size_limit):
            await self.push("552 Error: Too much mail data")
            self._set_post_data_state()
            return
        if max(map(len, content.split(b"\r\n"))) + 2 > self.line_length_limit:
            await self.push("500 Line too long (see RFC5321 4.5.3.1.6)")
            self._set_post_data_state()
            return
        content = content.replace(b"\r\n.", b"\r\n")
        if content.startswith(b"."):
            content = content[1:]
        self.envelope.original_content = content
        self.envelope.content = content.decode("utf-8", errors="surrogateescape") if self._decode_data \
            else content
        status = await self._call_handler_hook("DATA") if "DATA" in self._handle_hooks else MISSING
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """The address of a MAIL or RCPT command and what follows it, as
        aiosmtpd's: (None, None) when it does not parse or its local part is
        too long. aiosmtpd's defines a typing Protocol class on every call,
        two thirds of the 140 us each MAIL and RCPT cost the event loop."""
        if not arg:
            return "", ""
        plain = _plain_path(arg)
        if plain is not None:
            addr, rest = plain
        else:
            try:
                address, rest = get_angle_addr(arg) if arg.lstrip().startswith("<") else get_addr_spec(arg)
            except HeaderParseError:
                return None, None
            addr = address.addr_spec
        if self.local_part_limit and len(addr.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return addr, rest

    async def _read_data(self) -> tuple[bool, bytes | None]:
        """(lost, content): the message up to its end mark, dot-stuffed as
        sent, or None when it is far too long (only the size was counted once
        past data_size_limit); lost when the connection ended before the mark."""
        reader, limit = self._reader, self.data_size_limit
        blocks: list[bytes] = []
        size, last = 0, b"\r\n"  # the two bytes before the next block; the DATA line's end first
        saved, reader._limit = reader._limit, DATA_BLOCK  # asyncio's StreamReader: its line limit
        try:
            while True:
                try:
                    block = await reader.readuntil(b".\r\n")
                    done = (last + block[-5:])[-5:] == b"\r\n.\r\n"
                except asyncio.LimitOverrunError as error:
                    block, done = await reader.read(error.consumed), False
                except asyncio.IncompleteReadError:
                    return True, None
                size += len(block)
                if not limit or size <= limit + 3:
                    blocks.append(block)
                elif blocks:
                    blocks.clear()  # too much: keep nothing more in memory
                last = (last + block[-2:])[-2:]  # without copying the block
                if done:
                    break
        except asyncio.CancelledError:
            log.info("connection lost during DATA")
            self._writer.close()
            raise
        finally:
            reader._limit = saved
        return False, b"".join(blocks)[:-3] if blocks else None


# "<local@domain>" with both sides dot-atoms of ASCII atext (RFC 5322 3.2.3),
# as nearly every MAIL and RCPT names its address.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_PATH = re.compile(rf"<({_ATEXT}(?:\.{_ATEXT})*@{_ATEXT}(?:\.{_ATEXT})*)>")


def _plain_path(arg: str) -> tuple[str, str] | None:
    """(address, what follows) of an argument that is a plain path, exactly
    as email's parser gives them (the white space after ">" skipped), in a
    regular expression's time; None for anything else (a quoted local part,
    an address literal, a comment, a route, non-ASCII), which the parser
    takes (a sixth of the event loop's CPU per mail went to it)."""
    found = _PLAIN_PATH.match(arg)
    if found is None:
        return None
    rest = arg[found.end():]
    if rest[:1] in (" ", "\t"):  # folding white space: the parser then skips any white space
        rest = rest.lstrip()
    if rest[:1] == "(":  # a comment, which the parser skips too
        return None
    return found.group(1), rest


# Most bytes the DATA reader buffers from one connection before a block ends.
DATA_BLOCK = 256 * 1024


def listener_tls(cert: str, key: str) -> ssl.SSLContext | None:
    """The context STARTTLS offers when a certificate and its key are given.
    TLS is offered, not required: a sender that cannot do it still delivers."""
    if not (cert and key):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def make_protocol(db: Database, handler: Handler | None = None) -> SMTP:
    handler = handler or Handler(db)
    return Server(handler, data_size_limit=db.settings.max_message_bytes, enable_SMTPUTF8=True,
                  hostname=db.settings.domain, ident="helpdesk", tls_context=handler.tls, require_starttls=False)


async def start(db: Database, host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    handler = Handler(db)  # one for all sessions, so they share its pipeline threads
    return await loop.create_server(lambda: make_protocol(db, handler), host, port)


def configure_logging() -> None:
    supervise.configure_logging()
    # aiosmtpd logs every command at INFO; the handler logs one line per message.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    redaction.install()


def serve(db: Database, host: str = "127.0.0.1", port: int = 2525, ready=None,
          channel: socket.socket | None = None, writer: Writer | None = None) -> None:
    """Serve until SIGTERM or SIGINT; `ready(port)` is called once listening.
    With `channel`, take connections another process accepted and passes
    over that Unix socket (see serve_processes) instead of listening; with
    `writer`, leave the database writes to it."""
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if channel is None:
            server = await start(db, host, port)
            bound = server.sockets[0].getsockname()[1]
        else:
            server, bound = None, port
            threads = PIPELINE_THREADS_WITH_WRITER if writer else PIPELINE_THREADS  # one pipe each
            handler = Handler(db, threads, writer)
            channel.setblocking(False)
            loop.add_reader(channel.fileno(), _take_connection, loop, channel, db, handler, stop)
        if ready is not None:
            ready(bound)
        await stop.wait()
        if server is not None:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def _take_connection(loop: asyncio.AbstractEventLoop, channel: socket.socket, db: Database, handler: Handler,
                     stop: asyncio.Event) -> None:
    """One connection handed over by the dealing process; none: it has gone."""
    try:
        _, fds, _, _ = socket.recv_fds(channel, 1, 1)
    except BlockingIOError:
        return
    if not fds:
        stop.set()
        return
    connection = socket.socket(fileno=fds[0])
    loop.create_task(loop.connect_accepted_socket(lambda: make_protocol(db, handler), connection))


def serve_processes(count: int, host: str = "127.0.0.1", port: int = 2525, ready=None) -> int:
    """`count` server processes behind one listening socket, so parsing and
    the SMTP dialogue use every core while the database serialises the writes.

    This process accepts and deals the connections out in turn, passing each
    over a Unix socket: a relay keeps a few connections open for a long time,
    and letting the kernel hash them to processes (SO_REUSEPORT) left one
    process with six of eight. The port is bound at once (a port in use fails
    the start) but listens only once every process is ready, so a connection
    that is taken is served. Stops them all on SIGTERM or SIGINT (exit 0), or
    when one of them dies (exit 1, for the supervisor to restart us: they
    share the pipes made here, so one cannot be replaced alone). Each child
    opens its own database connections from the environment's settings.

    On SQLite one more process makes the database writes for them all (see
    mailin.writer): the write lock is then held by a process doing nothing else."""
    from core.config.settings import load_settings

    context = multiprocessing.get_context("spawn")
    listener = _bind(host, port)
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(count)]
    pipes = [[multiprocessing.Pipe() for _ in range(PIPELINE_THREADS_WITH_WRITER)] for _ in range(count)] \
        if is_sqlite_url(load_settings().database_url) else None
    started = [context.Event() for _ in range(count + bool(pipes))]
    # No Backoff: when one dies, all stop.
    supervisor = supervise.Supervisor(_parts(context, [theirs for _, theirs in pairs], pipes, started))
    supervisor.stop_on_signals()
    supervisor.start()
    for _, theirs in pairs:
        theirs.close()
    for pipe in (pipe for mine in pipes or () for pair in mine for pipe in pair):
        pipe.close()  # the children hold them now; a child's death closes its ends
    dealer, failed = None, True
    try:
        if supervisor.wait_until(lambda: all(event.is_set() for event in started)):
            listener.listen(128)
            dealer = threading.Thread(target=_deal, args=(listener, [ours for ours, _ in pairs], supervisor.stopping),
                                      name="smtpd-dealer", daemon=True)
            dealer.start()
            if ready is not None:
                ready(listener.getsockname()[1])
            supervisor.watch()
        failed = supervisor.stopped_by is None
    finally:
        supervisor.stopping.set()  # the dealer first: no connection is passed to a process stopping
        if dealer is not None:
            dealer.join(5)
        listener.close()
        supervisor.stop()
        for ours, _ in pairs:
            ours.close()
    return 1 if failed else 0


def _parts(context, channels: list[socket.socket], pipes: list | None, started: list) -> list[supervise.Part]:
    """The server processes, each with its channel and its ends of the pipes to the writer, and the writer."""
    def spawn(target, name: str, args: tuple) -> supervise.Part:
        return supervise.Part(name, functools.partial(_spawn, context, target, name, args))

    parts = [spawn(_child, f"smtpd-{number}", (channel, started[number - 1],
                                                [ask for ask, _ in pipes[number - 1]] if pipes else None))
             for number, channel in enumerate(channels, start=1)]
    if pipes:
        parts.append(spawn(_writer, "smtpd-writer", ([answer for mine in pipes for _, answer in mine], started[-1])))
    return parts


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    return listener


def _spawn(context, target, name: str, args: tuple) -> supervise.Spawned:
    return supervise.Spawned(context.Process(target=target, name=name, args=args))


def _deal(listener: socket.socket, channels: list[socket.socket], stop: threading.Event) -> None:
    """Accept connections and pass each to the next child in turn."""
    listener.settimeout(0.5)
    turn = 0
    while not stop.is_set():
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            if stop.is_set():
                return
            log.exception("accept failed")
            time.sleep(0.1)
            continue
        with connection:
            try:
                socket.send_fds(channels[turn % len(channels)], [b"c"], [connection.fileno()])
            except OSError:
                log.exception("could not pass a connection to server process %d", turn % len(channels) + 1)
        turn += 1


def _child(channel: socket.socket, started, writer_pipes: list | None) -> None:
    """One server process of serve_processes."""
    from core.config.settings import load_settings

    configure_logging()
    db = Database(load_settings())
    serve(db, ready=lambda _bound: started.set(), channel=channel,
          writer=RemoteWriter(writer_pipes) if writer_pipes else None)


def _writer(pipes: list, started) -> None:
    """The process of serve_processes that writes for the others (SQLite)."""
    configure_logging()
    run_writer_process(pipes, started)


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
