"""The `helpdesk` command: the operator's entry point (see README.md).

Each command owns its session and transaction and calls one core function.
Commands of the mail and task packages are registered at the bottom.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from core.config.settings import load_settings
from core.storage.db import Database


def database() -> Database:
    return Database(load_settings())


@click.group()
def main() -> None:
    """An email-driven, tiered helpdesk."""


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the schema (idempotent) and add default priorities."""
    from core.demo import seed_defaults
    from core.storage import schema

    db = database()
    db.settings.data_dir.mkdir(parents=True, exist_ok=True)
    before, after = schema.upgrade(db.engine)
    with db.begin() as session:
        seeded = seed_defaults(session)
    state = "up to date" if before == after else f"upgraded {before or 'empty'} -> {after}"
    click.echo(f"database {state}" + ("; default priorities and categories added" if seeded else ""))


@main.command("import-directory")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_directory_command(file: Path) -> None:
    """Upsert offices and schools from a CSV: code,name,kind,parent_code,email."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from core.directory.csvrows import BadDirectory, read_directory
    from core.directory.offices import import_directory

    try:
        rows = list(read_directory(file.read_bytes()))
    except BadDirectory as exc:
        raise click.ClickException(f"{file}: {exc}")
    db = database()
    with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=_stderr_console(), transient=False) as bar:
        task = bar.add_task("import", total=len(rows))
        with db.begin() as session:
            report = import_directory(session, rows, actor="import-directory",
                                      progress=lambda n: bar.advance(task, n))
        bar.update(task, completed=len(rows))
    for error in report.errors:
        click.echo(f"{file}:{error}", err=True)
    click.echo(report.summary())
    if report.errors:
        sys.exit(1)


def _stderr_console():
    from rich.console import Console
    return Console(stderr=True)


@main.command("create-user")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--office", "office_code", required=True, help="code of the user's office")
@click.option("--role", type=click.Choice(["agent", "supervisor", "admin"]), required=True)
def create_user(email: str, name: str, office_code: str, role: str) -> None:
    """Create a staff user; the password is read from standard input."""
    from core.access.passwords import WeakPassword
    from core.directory.staff import StaffError, create_staff

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with database().begin() as session:
            user = create_staff(session, email=email, name=name, office_code=office_code,
                                role=role, password=password)
            click.echo(f"created {user.email} ({user.role}) at {user.office.code}")
    except (StaffError, WeakPassword) as exc:
        raise click.ClickException(str(exc))


@main.command("create-token")
@click.argument("email")
@click.option("--name", required=True, help="what the token is for, e.g. teacher-database")
@click.option("--scopes", default="read,write", show_default=True,
              help="comma separated: read, write, admin (admin only for an admin's token)")
def create_token(email: str, name: str, scopes: str) -> None:
    """Print a new API token for that user, once: only its hash is kept. The last line is the token."""
    from core.access.apitokens import TokenRefused, create
    from core.directory.staff import find_staff

    with database().begin() as session:
        user = find_staff(session, email)
        if user is None or not user.active:
            raise click.ClickException(f"no active user {email}")
        try:
            row, token = create(session, user, name, tuple(s.strip() for s in scopes.split(",") if s.strip()),
                                actor="create-token")
        except TokenRefused as exc:
            raise click.ClickException(str(exc))
        click.echo(f"token {row.id} '{row.name}' for {user.email}, scopes {row.scopes}; it is shown only now:")
    click.echo(token)


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl")
def export(fmt: str) -> None:
    """Every ticket with its messages and history, one JSON object per line."""
    from core.queries.export import export_tickets

    with database().session() as session:
        for item in export_tickets(session):
            sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")


@main.command("demo")
def demo() -> None:
    """Load the demo directory, staff and tickets (once)."""
    from core.demo import DEMO_PASSWORD, load_demo

    db = database()
    with db.begin() as session:
        staff = load_demo(session, db.settings)
    if not staff:
        click.echo("demo data already loaded")
        return
    click.echo(f"demo loaded: {len(staff)} staff users, password {DEMO_PASSWORD!r}")
    for email, role, office in staff:
        click.echo(f"  {email:32} {role:10} {office}")


@main.command("sweep")
@click.option("--now", "as_of", default=None, metavar="ISO-TIME",
              help="run as of this moment (default: now), e.g. 2026-03-09T08:00:00+00:00")
def sweep(as_of: str | None) -> None:
    """Auto-close, SLA flags and escalation, and reassignment, once; prints the counts."""
    from datetime import datetime, timezone

    from core.tickets.sweep import run_sweep

    now = None
    if as_of:
        try:
            now = datetime.fromisoformat(as_of)
        except ValueError:
            raise click.BadParameter(f"not an ISO time: {as_of}", param_hint="--now")
        now = now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)
    click.echo(str(run_sweep(database(), now)))


@main.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--web-port", default=8000, type=int)
@click.option("--smtp-port", default=2525, type=int)
@click.option("--smtp-processes", default=None, type=click.IntRange(min=1),
              help="SMTP server processes behind the one port (default: one per core, 2 to 4)")
@click.option("--demo", "with_demo", is_flag=True, help="load the demo data first")
def run(host: str, web_port: int, smtp_port: int, smtp_processes: int | None, with_demo: bool) -> None:
    """Everything in one process tree: web, SMTP, worker and scheduler; a part that dies is started again."""
    from mailin.supervise import configure_logging

    ctx = click.get_current_context()
    ctx.invoke(init_db)
    if with_demo:
        ctx.invoke(demo)
    configure_logging()
    imap = bool(load_settings().imap_url)
    sys.exit(run_all(parts(host, web_port, smtp_port, imap=imap, smtp_processes=smtp_processes),
                     banner(host, web_port, smtp_port, with_demo)))


def banner(host: str, web_port: int, smtp_port: int, with_demo: bool) -> str:
    """What an operator needs once everything listens: where to look, how to log in."""
    settings = load_settings()
    outgoing = settings.smtp_relay or f"{settings.path('outgoing')} (no relay set: mail is written as .eml files)"
    lines = [
        f"  portal      http://{host}:{web_port}/        staff: http://{host}:{web_port}/login",
        f"  mail in     smtp://{host}:{smtp_port}  for {settings.address}",
        f"              e.g. swaks --server {host}:{smtp_port} --to {settings.address} --from sekolah01@sekolah.demo",
        *([f"  mail in     {_mailbox_name(settings.imap_url)}, polled every 30 s"] if settings.imap_url else []),
        f"  mail out    {outgoing}",
        f"  data        {settings.data_dir}",
    ]
    if with_demo:
        from core.demo import DEMO_PASSWORD
        lines += [f"  demo logins (password {DEMO_PASSWORD!r}):",
                  "              admin.kemdik@kemdik.demo (Ministry admin), supervisor.p31@kemdik.demo (Province),",
                  "              agent.c3171@kemdik.demo (City of Jakarta Selatan); schools write from sekolahNN@sekolah.demo"]
    lines.append("  stop with Ctrl-C")
    return "\n".join(lines)


def _mailbox_name(imap_url: str) -> str:
    """The mailbox as the banner shows it: without the password."""
    from mailin.imap import mailbox_of

    try:
        return f"imap {mailbox_of(imap_url).key}"
    except ValueError as error:
        return f"imap (HELPDESK_IMAP_URL: {error})"


# gunicorn's settings, shared with the Procfile's `web` so the two cannot drift.
GUNICORN_CONFIG = Path(__file__).resolve().parent / "gunicorn.conf.py"


def default_smtp_processes() -> int:
    """One SMTP server process per core, at least two (on SQLite the writer
    process makes one more): the layout bench/ingest measures fastest. More
    than four only added memory there, the writer being the serial part."""
    from mailin.supervise import available_cores

    return min(4, max(2, available_cores()))


def parts(host: str, web_port: int, smtp_port: int, imap: bool = False,
          smtp_processes: int | None = None) -> list[tuple[str, list[str], int | None]]:
    """The processes of an all-in-one installation: (name, argv, port it listens on).
    The IMAP poller runs when a mailbox is configured (HELPDESK_IMAP_URL)."""
    python = sys.executable
    helpdesk = [python, "-c", "from cli import main; main()"]
    poller = [("imap", [*helpdesk, "imap-poll"], None)] if imap else []
    return [
        ("web", [python, "-m", "gunicorn", "--config", str(GUNICORN_CONFIG), "--bind", f"{host}:{web_port}",
                 "wsgi:app"], web_port),
        ("smtp", [*helpdesk, "smtpd", "--host", host, "--port", str(smtp_port),
                  "--processes", str(smtp_processes or default_smtp_processes())], smtp_port),
        # The worker with beat inside (-B): one process delivers mail and runs
        # the schedule; production runs them apart (Procfile worker, beat).
        ("worker", [python, "-m", "tasks.worker"], None),
        *poller,
    ]


# How long the parts may take to listen before `helpdesk run` gives up.
START_SECONDS = 120.0


def run_all(processes: list[tuple[str, list[str], int | None]], banner: str = "") -> int:
    """Start every part and print READY once all listen; then start again any
    part that dies, until SIGTERM or SIGINT stops them all. A part that dies
    before everything listens stops the rest: it would only die again."""
    from functools import partial

    from mailin.supervise import Backoff, Command, Part, Supervisor

    supervisor = Supervisor([Part(name, partial(Command, argv)) for name, argv, _ in processes], Backoff())
    supervisor.stop_on_signals()
    ports = {name: port for name, _, port in processes if port}
    try:
        supervisor.start()
        if not supervisor.wait_until(lambda: all(map(_listens, ports.values())), START_SECONDS):
            return 0 if supervisor.stopped_by else 1
        click.echo("READY " + ", ".join(f"{name} on {port}" for name, port in ports.items()))
        if banner:
            click.echo(banner)
        sys.stdout.flush()
        supervisor.watch()
    finally:
        supervisor.stop()
    # Parts stopped on the operator's signal may exit non-zero; that is a clean stop.
    return 0


def _listens(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


from mailout.commands import deliver as deliver_command, dkim_keygen  # noqa: E402

main.add_command(deliver_command)
main.add_command(dkim_keygen)

from mailout.hook_commands import webhook as webhook_command  # noqa: E402

main.add_command(webhook_command)


from mailin.commands import imap_poll, ingest_files, mail_log_command, reprocess_command, smtpd  # noqa: E402

for _command in (smtpd, imap_poll, ingest_files, mail_log_command, reprocess_command):
    main.add_command(_command)
