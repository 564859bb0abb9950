"""`helpdesk smtpd`, `helpdesk imap-poll`, `helpdesk ingest` and `helpdesk mail-log`."""
from __future__ import annotations

import json
import logging
import sys

import click

from core.access import redaction
from core.config.settings import load_settings
from core.storage.db import Database


@click.command("smtpd")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2525, type=int, show_default=True)
@click.option("--processes", default=1, type=click.IntRange(min=1), show_default=True,
              help="server processes behind the one port, dealt connections in turn (on SQLite, "
                   "plus one that makes the database writes for them); one per core is a good start")
def smtpd(host: str, port: int, processes: int) -> None:
    """The SMTP server alone: takes mail for the helpdesk address and its aliases."""
    from mailin.smtpd import configure_logging, serve, serve_processes

    configure_logging()
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    def ready(bound: int) -> None:
        several = f" ({processes} processes)" if processes > 1 else ""
        click.echo(f"smtpd listening on {host}:{bound}{several}", err=True)

    if processes == 1:
        serve(Database(settings), host, port, ready=ready)
        return
    sys.exit(serve_processes(processes, host, port, ready=ready))


@click.command("imap-poll")
@click.option("--once", is_flag=True, help="poll once and exit (for cron); otherwise poll every --interval")
@click.option("--interval", default=30.0, type=float, show_default=True, help="seconds between polls")
def imap_poll(once: bool, interval: float) -> None:
    """Take new mail from the mailbox in HELPDESK_IMAP_URL into the pipeline."""
    from mailin.imap import mailbox_of, poll_forever, poll_once

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    redaction.install()
    settings = load_settings()
    try:
        mailbox_of(settings.imap_url)
    except ValueError as error:
        raise click.ClickException(str(error))
    db = Database(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not once:
        poll_forever(db, settings, interval=interval)
        return
    report = poll_once(db, settings)
    click.echo(f"fetched {report.fetched}, ingested {report.ingested}, failed {report.failed}")
    if report.failed:
        sys.exit(75)  # EX_TEMPFAIL: the next poll takes it again


@click.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True, dir_okay=False))
def ingest_files(files: tuple[str, ...]) -> None:
    """Feed raw .eml files through the same pipeline as SMTP ('-' reads stdin)."""
    from mailin.inbound import TemporaryFailure
    from mailin.pipeline import ingest

    db = Database(load_settings())
    failed = False
    for name in files:
        raw = sys.stdin.buffer.read() if name == "-" else click.open_file(name, "rb").read()
        try:
            result = ingest(db, raw, None, (), "file")
        except TemporaryFailure as failure:
            click.echo(f"{name}\tfailed\t-\t{failure}")
            failed = True
            continue
        reason = f"\t{result.reason}" if result.reason else ""
        click.echo(f"{name}\t{result.outcome}\t{result.ticket_ref or '-'}{reason}")
    if failed:
        sys.exit(75)  # EX_TEMPFAIL: try again later


@click.command("mail-log")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl")
def mail_log_command(fmt: str) -> None:
    """One JSON line per raw message received, with its outcome."""
    from core.mail.log import mail_log

    with Database(load_settings()).session() as session:
        for row in mail_log(session):
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


@click.command("reprocess")
@click.argument("raw_mail_ids", nargs=-1, required=True, type=int)
def reprocess_command(raw_mail_ids: tuple[int, ...]) -> None:
    """Run stored raw messages (say, quarantined ones) through the pipeline again."""
    from mailin.inbound import AlreadyProcessed
    from mailin.pipeline import reprocess

    db = Database(load_settings())
    for raw_mail_id in raw_mail_ids:
        try:
            result = reprocess(db, raw_mail_id)
        except (LookupError, AlreadyProcessed) as error:
            raise click.ClickException(str(error))
        click.echo(f"{raw_mail_id}\t{result.outcome}\t{result.ticket_ref or '-'}")
