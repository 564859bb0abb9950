"""`helpdesk deliver`: one delivery pass by hand (the worker runs the same every few seconds)."""
from __future__ import annotations

import click


@click.command("deliver")
def deliver() -> None:
    """Deliver due outbox rows once."""
    from core.config.settings import load_settings
    from core.storage.db import Database
    from mailout.deliver import deliver_due

    report = deliver_due(Database(load_settings()))
    click.echo(f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}")
