"""`helpdesk deliver`: one delivery pass by hand (the worker runs the same
every few seconds); `helpdesk dkim-keygen`: a key to sign our mail with."""
from __future__ import annotations

import os
from pathlib import Path

import click


@click.command("deliver")
def deliver() -> None:
    """Deliver due outbox rows once, then the due webhook and chat deliveries."""
    from core.config.settings import load_settings
    from core.storage.db import Database
    from mailout.deliver import deliver_due
    from mailout.hooks import deliver_hooks_due

    db = Database(load_settings())
    report = deliver_due(db)
    click.echo(f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}")
    hooks = deliver_hooks_due(db)
    click.echo(f"webhooks and chat: sent {hooks.sent}, retrying {hooks.retrying}, failed {hooks.failed}")


@click.command("dkim-keygen")
@click.option("--selector", default="helpdesk", show_default=True, help="the DKIM selector the key is published under")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="where to write the private key (PEM); default: dkim-<selector>.pem in the data dir")
def dkim_keygen(selector: str, out: Path | None) -> None:
    """Write a new DKIM key and print the DNS TXT record to publish for it."""
    from core.config.settings import load_settings
    from mailout.dkim import dns_record, new_key

    settings = load_settings()
    out = out or settings.path(f"dkim-{selector}.pem")
    if out.exists():
        raise click.ClickException(f"{out} exists; remove it or choose another --out (the key it holds may be in use)")
    private, public = new_key()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    click.echo(f"private key written to {out}", err=True)
    click.echo(f"set HELPDESK_DKIM_KEY={out} and HELPDESK_DKIM_SELECTOR={selector}, after publishing:", err=True)
    click.echo(dns_record(public, selector, settings.domain))
