"""Webhook deliveries against a real HTTP receiver on loopback."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.hooks import sealing, webhooks
from core.hooks.webhooks import EVENTS
from core.storage.retries import BACKOFF
from core.models import HookDelivery, Office, Outbox, OutboxStatus, Role, Status, Ticket, Webhook, utcnow
from core.tickets import lifecycle
from mailout.hooks import deliver_hooks_due
from tests.factories import load_directory, make_user
from tests.mailout.receiver import Receiver
from tests.mailout.world import open_with_ack


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


def register(database, url: str, events=EVENTS) -> str:
    with database.begin() as s:
        if not s.scalar(select(func.count()).select_from(Ticket)) and not s.scalar(select(func.count(Webhook.id))):
            load_directory(s)
        return webhooks.add(s, database.settings, url, events, "admin@kemdik.test").secret


def open_ticket(database) -> str:
    with database.begin() as s:
        return open_with_ack(s, database.settings).ref


def test_a_delivery_is_signed_with_the_secret_over_the_raw_body(database, receiver):
    secret = register(database, receiver.url(), ["ticket.created"])
    ref = open_ticket(database)
    assert deliver_hooks_due(database).sent == 1
    [got] = receiver.requests
    expected = "sha256=" + hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["x-helpdesk-signature"], expected)
    assert got.headers["x-helpdesk-event"] == "ticket.created"
    assert got.headers["content-type"] == "application/json"
    body = got.json
    assert body["id"] == got.headers["x-helpdesk-delivery"]
    assert body["event"] == "ticket.created" and body["ticket"]["ref"] == ref
    assert body["ticket"]["office"] == "C3171" and body["ticket"]["status"] == "open"
    wrong = "sha256=" + hmac.new(b"another secret", got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-helpdesk-signature"] != wrong


def test_a_receiver_that_fails_three_times_gets_the_event_once_with_one_delivery_id(database, receiver):
    register(database, receiver.url())
    open_ticket(database)
    receiver.statuses[:] = [503, 503, 503]
    now = utcnow()
    for step in range(3):
        report = deliver_hooks_due(database, now)
        assert (report.sent, report.retrying) == (0, 1)
        now += BACKOFF[step]
    assert deliver_hooks_due(database, now).sent == 1
    assert deliver_hooks_due(database, now + timedelta(days=2)).sent == 0
    assert [r.status for r in receiver.requests] == [503, 503, 503, 200]
    assert len({r.headers["x-helpdesk-delivery"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    assert len(receiver.accepted) == 1


def test_a_receiver_down_for_three_tries_gets_the_event_once_after_it_comes_back(database):
    down = Receiver().start()
    port = down.port
    down.stop()  # nothing listens there now: every attempt is refused
    register(database, f"http://127.0.0.1:{port}/hook")
    open_ticket(database)
    now = utcnow()
    for step in range(3):
        assert deliver_hooks_due(database, now).retrying == 1
        now += BACKOFF[step]
    with database.session() as s:
        row = s.scalar(select(HookDelivery))
        assert row.attempts == 3 and "Connect" in row.last_error
        delivery_id = row.delivery_id
    back = Receiver(port=port).start()
    try:
        assert deliver_hooks_due(database, now).sent == 1
        assert deliver_hooks_due(database, now + timedelta(days=2)).sent == 0
    finally:
        back.stop()
    [got] = back.requests
    assert got.headers["x-helpdesk-delivery"] == delivery_id == got.json["id"]


def test_events_of_a_ticket_arrive_in_the_order_of_its_changes(database, receiver):
    register(database, receiver.url())
    with database.begin() as s:
        ticket = open_with_ack(s, database.settings)
        agent = make_user(s, ticket.office, Role.agent)
        lifecycle.move(s, ticket, Status.on_hold, agent)
        lifecycle.move(s, ticket, Status.open, agent)
        lifecycle.move(s, ticket, Status.answered, agent)
    receiver.statuses[:] = [500]  # the first event fails once; the rest must wait for it
    now = utcnow()
    for _ in range(8):
        deliver_hooks_due(database, now)
        now += timedelta(minutes=2)
    changes = [(r.json["event"], r.json["change"]["to"]) for r in receiver.accepted]
    assert changes == [("ticket.created", "C3171"), ("ticket.status_changed", "on_hold"),
                       ("ticket.status_changed", "open"), ("ticket.status_changed", "answered")]
    assert receiver.requests[0].json["event"] == "ticket.created"  # nothing overtook the failed one


def test_only_the_events_a_webhook_wants_are_queued(database, receiver):
    register(database, receiver.url(), ["ticket.status_changed"])
    with database.begin() as s:
        ticket = open_with_ack(s, database.settings)
        lifecycle.move(s, ticket, Status.on_hold, "agent@staff.test")
    with database.session() as s:
        assert [row.event for row in s.scalars(select(HookDelivery))] == ["ticket.status_changed"]


def test_without_webhooks_a_change_queues_no_delivery(database):
    with database.begin() as s:
        load_directory(s)
        open_with_ack(s, database.settings)
    with database.session() as s:
        assert s.scalar(select(func.count(HookDelivery.id))) == 0


def test_a_webhook_failing_for_a_day_is_disabled_and_the_admins_are_told(database):
    dead = Receiver().start()
    dead.statuses[:] = [502] * 50
    try:
        register(database, dead.url())
        with database.begin() as s:
            make_user(s, s.scalar(select(Office).where(Office.code == "MIN")), Role.admin, email="admin@kemdik.test")
        open_ticket(database)
        now = utcnow()
        step = 0
        while deliver_hooks_due(database, now).retrying:
            now += BACKOFF[step]
            step += 1
    finally:
        dead.stop()
    with database.session() as s:
        webhook = s.scalar(select(Webhook))
        assert not webhook.enabled and "a day" in webhook.disabled_reason
        assert webhook.disabled_at - webhook.failing_since >= timedelta(days=1)
        assert s.scalar(select(HookDelivery.status)) is OutboxStatus.failed
        told = s.scalar(select(Outbox).where(Outbox.template == "webhook_disabled"))
        assert told.to_address == "admin@kemdik.test" and dead.url() in told.context
    # A disabled webhook gets nothing more.
    open_ticket(database)
    with database.session() as s:
        assert s.scalar(select(func.count(HookDelivery.id))) == 1


def test_urls_and_events_are_checked(settings):
    with pytest.raises(webhooks.BadWebhook, match="https"):
        webhooks.check_url(settings, "http://hooks.example.org/in")
    with pytest.raises(webhooks.BadWebhook):
        webhooks.check_url(settings, "ftp://hooks.example.org/in")
    with pytest.raises(webhooks.BadWebhook, match="password"):
        webhooks.check_url(settings, "https://user:pw@hooks.example.org/in")
    assert webhooks.check_url(settings, " https://hooks.example.org/in ") == "https://hooks.example.org/in"
    assert webhooks.check_url(settings, "http://127.0.0.1:9/in") == "http://127.0.0.1:9/in"
    with pytest.raises(webhooks.BadWebhook, match="unknown event ticket.eaten"):
        webhooks.check_events("ticket.created,ticket.eaten")
    with pytest.raises(webhooks.BadWebhook, match="at least one"):
        webhooks.check_events("")
    assert webhooks.check_events("ticket.assigned, ticket.created") == ("ticket.created", "ticket.assigned")


def test_the_secret_is_stored_sealed_and_opens_only_with_the_secret_key(session, settings):
    registered = webhooks.add(session, settings, "https://hooks.example.org/in", ["ticket.created"])
    stored = session.scalar(select(Webhook.secret_sealed).where(Webhook.id == registered.webhook.id))
    assert registered.secret not in stored
    assert webhooks.secret_of(settings, registered.webhook) == registered.secret
    with pytest.raises(sealing.InvalidToken):
        sealing.open_secret("another key", stored)


def test_removing_a_webhook_gives_up_its_waiting_deliveries(database, receiver):
    register(database, receiver.url())
    open_ticket(database)
    with database.begin() as s:
        webhooks.remove(s, s.scalar(select(Webhook.id)), "admin@kemdik.test")
    assert deliver_hooks_due(database).sent == 0
    with database.session() as s:
        row = s.scalar(select(HookDelivery))
        assert row.status is OutboxStatus.failed and row.webhook_id is None
    assert not receiver.requests
