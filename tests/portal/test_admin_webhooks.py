"""The webhooks and chat page through the test client on a real database."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.hooks import webhooks
from core.models import Event, Office, Webhook
from tests.portal.staff_world import build_world, log_in


@pytest.fixture
def world(app, database):
    return build_world(database)


def admin_client(app, world, csrf: bool = False):
    app.config["WTF_CSRF_ENABLED"] = csrf
    client = app.test_client()
    log_in(client, world.emails["min"])
    return client


def test_registering_shows_the_secret_once_and_it_opens_the_stored_seal(app, world, database):
    client = admin_client(app, world)
    page = client.post("/admin/webhooks?lang=en", data={"url": "https://hooks.example.org/in",
                                                        "events": ["ticket.created", "ticket.assigned"]})
    assert page.status_code == 200
    secret = re.search(r"<code>(whsec_[^<]+)</code>", page.text).group(1)
    with database.session() as s:
        webhook = s.scalar(select(Webhook))
        assert webhook.events == "ticket.created ticket.assigned"
        assert webhooks.secret_of(database.settings, webhook) == secret
    listing = client.get("/admin/webhooks?lang=en").text
    assert "https://hooks.example.org/in" in listing and secret not in listing
    assert client.post(f"/admin/webhooks/{webhook.id}/remove").status_code == 302
    with database.session() as s:
        assert s.scalar(select(Webhook)) is None


def test_a_bad_url_is_refused_with_its_reason_and_nothing_is_kept(app, world, database):
    client = admin_client(app, world)
    page = client.post("/admin/webhooks?lang=en", data={"url": "http://hooks.example.org/in",
                                                        "events": ["ticket.created"]})
    assert page.status_code == 400 and "must use https" in page.text
    with database.session() as s:
        assert s.scalar(select(Webhook)) is None


def test_an_office_gets_its_slack_and_teams_urls(app, world, database):
    client = admin_client(app, world)
    response = client.post("/admin/webhooks/chat", data={
        "office": "c3171", "slack_url": "https://hooks.slack.com/services/T/B/X",
        "teams_url": "https://example.webhook.office.com/webhookb2/abc"})
    assert response.status_code == 302
    with database.session() as s:
        office = s.scalar(select(Office).where(Office.code == "C3171"))
        assert office.slack_url.endswith("/T/B/X") and office.teams_url.endswith("/abc")
        event = s.scalar(select(Event).where(Event.kind == "office_chat"))
        assert "X" not in (event.detail or "") and event.to_value == "C3171"
    listing = client.get("/admin/webhooks?lang=en").text
    assert "C3171" in listing and "hooks.slack.com" not in listing  # the URL is a credential
    bad = client.post("/admin/webhooks/chat?lang=en", data={"office": "NOPE", "slack_url": "https://x.test/"})
    assert bad.status_code == 400 and "no office with code" in bad.text


def test_only_the_root_admins_reach_the_page_and_forms_need_the_csrf_token(app, world, database):
    app.config["WTF_CSRF_ENABLED"] = False
    for who in ("c3171", "p31admin"):  # an agent; an admin below the root office
        other = app.test_client()
        log_in(other, world.emails[who])
        assert other.get("/admin/webhooks").status_code == 403
        assert other.post("/admin/webhooks", data={"url": "https://x.test/", "events": ["ticket.created"]}
                          ).status_code == 403
    client = admin_client(app, world)
    app.config["WTF_CSRF_ENABLED"] = True
    forged = client.post("/admin/webhooks", data={"url": "https://x.test/", "events": ["ticket.created"]})
    assert forged.status_code == 400
    with database.session() as s:
        assert s.scalar(select(Webhook)) is None
