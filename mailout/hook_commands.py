"""`helpdesk webhook add|list|remove`: the admins' webhooks from the command line
(the same core functions as the portal's page and the API)."""
from __future__ import annotations

import click


def _database():
    from core.config.settings import load_settings
    from core.storage.db import Database

    return Database(load_settings())


@click.group("webhook")
def webhook() -> None:
    """Webhooks: endpoints told of ticket events by signed POSTs."""


@webhook.command("add")
@click.argument("url")
@click.option("--events", required=True, metavar="E1,E2",
              help="comma-separated: ticket.created, ticket.replied, ticket.status_changed, ticket.assigned, "
                   "ticket.forwarded, ticket.sla_breached")
def add(url: str, events: str) -> None:
    """Register a webhook; prints its id, then its secret (shown this once: the last line)."""
    from core.hooks.webhooks import BadWebhook, add as add_webhook

    db = _database()
    try:
        with db.begin() as session:
            registered = add_webhook(session, db.settings, url, events, "cli")
            webhook_id = registered.webhook.id
    except BadWebhook as exc:
        raise click.ClickException(str(exc))
    click.echo(f"webhook {webhook_id} registered for {url.strip()}")
    click.echo("secret (shown only now; it signs every delivery as X-Helpdesk-Signature):")
    click.echo(registered.secret)


@webhook.command("list")
def list_() -> None:
    """One line per webhook: id, state, URL, events."""
    from core.hooks.webhooks import listed

    with _database().session() as session:
        for hook in listed(session):
            state = "enabled" if hook.enabled else f"disabled {hook.disabled_at:%Y-%m-%d %H:%M}"
            click.echo(f"{hook.id}\t{state}\t{hook.url}\t{hook.events.replace(' ', ',')}")


@webhook.command("remove")
@click.argument("webhook_id", type=int)
def remove(webhook_id: int) -> None:
    """Delete a webhook; its waiting deliveries are given up."""
    from core.hooks.webhooks import NoSuchWebhook, remove as remove_webhook

    try:
        with _database().begin() as session:
            removed = remove_webhook(session, webhook_id, "cli")
            click.echo(f"webhook {webhook_id} removed ({removed.url})")
    except NoSuchWebhook:
        raise click.ClickException(f"no webhook {webhook_id}")
