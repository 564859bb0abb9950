"""`helpdesk webhook add|list|remove` as an operator runs them, end to end:
the secret printed signs what `helpdesk deliver` posts for a mail ingested."""
from __future__ import annotations

import hashlib
import hmac

from core.models import Webhook
from tests.factories import DIRECTORY
from tests.mailout.receiver import Receiver
from tests.test_cli import helpdesk

MAIL = "From: sman1@sekolah.test\r\nSubject: NUPTK belum terbit\r\nMessage-ID: <c1@sekolah.test>\r\n\r\nMohon bantuan.\r\n"


def test_add_prints_the_secret_last_and_it_signs_the_deliveries(database, tmp_path):
    receiver = Receiver().start()
    try:
        (tmp_path / "d.csv").write_text(DIRECTORY)
        assert helpdesk(database, "import-directory", str(tmp_path / "d.csv")).returncode == 0
        added = helpdesk(database, "webhook", "add", receiver.url(), "--events", "ticket.created,ticket.assigned")
        assert added.returncode == 0, added.stderr
        secret = added.stdout.strip().splitlines()[-1]
        assert secret.startswith("whsec_") and len(secret) > 40
        listed = helpdesk(database, "webhook", "list")
        assert f"{receiver.url()}\tticket.created,ticket.assigned" in listed.stdout
        assert helpdesk(database, "ingest", "-", stdin=MAIL).returncode == 0
        delivered = helpdesk(database, "deliver")
        assert "webhooks and chat: sent 1," in delivered.stdout, delivered.stdout + delivered.stderr
    finally:
        receiver.stop()
    [got] = receiver.requests
    assert got.headers["x-helpdesk-event"] == "ticket.created"
    expected = "sha256=" + hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-helpdesk-signature"] == expected
    with database.session() as s:
        webhook_id = s.query(Webhook.id).scalar()
    removed = helpdesk(database, "webhook", "remove", str(webhook_id))
    assert removed.returncode == 0 and "removed" in removed.stdout
    assert helpdesk(database, "webhook", "list").stdout == ""
    again = helpdesk(database, "webhook", "remove", str(webhook_id))
    assert again.returncode == 1 and f"no webhook {webhook_id}" in again.stderr


def test_add_refuses_plain_http_and_unknown_events_with_a_clear_message(database):
    http = helpdesk(database, "webhook", "add", "http://hooks.example.org/in", "--events", "ticket.created")
    assert http.returncode == 1 and "must use https" in http.stderr
    unknown = helpdesk(database, "webhook", "add", "https://hooks.example.org/in", "--events", "ticket.lost")
    assert unknown.returncode == 1 and "unknown event ticket.lost" in unknown.stderr
