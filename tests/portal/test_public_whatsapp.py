"""The public form's WhatsApp consent, end to end: the number and the consent
are kept on the ticket and the acknowledgement reaches a local Cloud API."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from core.models import HookDelivery, Ticket
from core.storage.db import Database
from mailout.hooks import deliver_hooks_due
from portal import create_app
from tests.mailout.receiver import Receiver
from tests.portal.public_helpers import seed
from tests.portal.test_public_form import FIELDS, open_form, send

START = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def whatsapp_db(database, receiver) -> Database:
    seed(database)
    return Database(replace(database.settings, whatsapp_token="wa-token", whatsapp_phone_id="555",
                            whatsapp_api_url=receiver.url("/v21.0")))


def client_of(db: Database):
    app = create_app(db.settings, db)
    app.config["TESTING"] = True
    return app.test_client()


def test_a_customer_who_agrees_gets_the_acknowledgement_on_whatsapp(whatsapp_db, receiver):
    client = client_of(whatsapp_db)
    with freeze_time(START) as clock:
        form = open_form(client)
        clock.tick(30)
        answer = send(client, form, phone="0812 3456 7890", whatsapp="y")
    assert answer.status_code == 302
    with whatsapp_db.session() as s:
        ticket = s.scalar(select(Ticket))
        assert (ticket.requester_phone, ticket.whatsapp_consent) == ("6281234567890", True)
        assert s.scalar(select(HookDelivery.event)) == "ack"
    deliver_hooks_due(whatsapp_db, now=datetime.now(timezone.utc))
    [got] = receiver.requests
    assert got.path == "/v21.0/555/messages" and got.json["to"] == "6281234567890"
    assert got.json["template"]["language"] == {"code": "en"}
    assert got.json["template"]["components"][0]["parameters"][1]["text"].startswith("http://helpdesk.test/t/")


def test_a_number_without_consent_is_kept_but_nothing_is_sent(whatsapp_db):
    client = client_of(whatsapp_db)
    with freeze_time(START) as clock:
        form = open_form(client)
        clock.tick(30)
        assert send(client, form, phone="+62 812 3456 7890").status_code == 302
    with whatsapp_db.session() as s:
        ticket = s.scalar(select(Ticket))
        assert (ticket.requester_phone, ticket.whatsapp_consent) == ("6281234567890", False)
        assert s.scalar(select(HookDelivery)) is None


def test_a_bad_number_is_refused_next_to_its_field_and_nothing_is_kept(whatsapp_db):
    client = client_of(whatsapp_db)
    with freeze_time(START) as clock:
        form = open_form(client, lang="id")
        clock.tick(30)
        answer = send(client, form, phone="0812 abc", whatsapp="y")
    assert answer.status_code == 400
    assert "nomor telepon hanya berisi angka" in answer.text and FIELDS["subject"] in answer.text
    with whatsapp_db.session() as s:
        assert s.scalar(select(Ticket)) is None


def test_without_whatsapp_configured_the_form_asks_for_no_number(database):
    seed(database)
    page = client_of(database).get("/?lang=en")
    assert "WhatsApp" not in page.text and 'name="phone"' not in page.text
