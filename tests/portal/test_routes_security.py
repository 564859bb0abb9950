"""Every staff and admin route, enumerated from the app's URL map, refuses
anonymous users, the wrong roles and other offices. A new route that is not
covered here (no access rule, or a URL parameter this table cannot fill) fails."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import Attachment, Contact, Message, Office, Outbox, OutboxStatus, Outcome, RawMail, Ticket, User
from portal.auth import ADMIN, PUBLIC, STAFF, SYSTEM, rule_of
from tests.portal.staff_world import build_world, log_in

GUARDED = ("staff.", "admin.")
PUBLIC_ENDPOINTS = {"staff.login", "staff.forgot_password", "staff.reset_password_form"}


@pytest.fixture
def setup(app, database):
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF has its own test; here the access rules answer
    world = build_world(database)
    with database.begin() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.ref == world.refs["sman1"]))  # held by C3171
        message = s.scalar(select(Message).where(Message.ticket_id == ticket.id))
        attachment = Attachment(filename="a.pdf", content_type="application/pdf", size=1, sha256="0" * 64)
        message.attachments.append(attachment)
        raw = RawMail(channel="smtp", sha256="1" * 64, size=10, outcome=Outcome.quarantined, reason="malformed")
        mail = Outbox(template="staff_reply", to_address="x@sekolah.test", message_id="<x@helpdesk.test>",
                      status=OutboxStatus.failed)
        far_school = s.scalar(select(Office).where(Office.code == "S004"))  # under P32
        contact = Contact(email="guru@gmail.test", school=far_school)
        s.add_all([raw, mail, contact])
        s.flush()
        far_user = s.scalar(select(User.id).where(User.email == world.emails["c3273"]))  # under P32
        values = {"ref": ticket.ref, "attachment_id": attachment.id, "raw_id": raw.id, "outbox_id": mail.id,
                  "user_id": far_user, "contact_id": contact.id, "token": "no-such-token",
                  "name": "staff_reply/body.txt", "rule_id": 1, "webhook_id": 1, "token_id": 1, "job_id": 1}
    return app, world, values


def guarded_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith(GUARDED)]


def url_of(rule, values) -> str:
    missing = [arg for arg in rule.arguments if arg not in values]
    assert not missing, f"{rule.endpoint}: add a value for {missing} to this table"
    return rule.build({arg: values[arg] for arg in rule.arguments})[1]


def calls(app, values):
    for rule in guarded_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, url_of(rule, values)


def test_every_guarded_view_declares_who_may_open_it(app):
    rules = {r.endpoint: rule_of(app, r.endpoint) for r in guarded_rules(app)}
    assert all(rules.values()), [e for e, rule in rules.items() if rule is None]
    assert {e for e, rule in rules.items() if rule == PUBLIC} == PUBLIC_ENDPOINTS
    assert len(rules) > 30


def test_anonymous_users_are_sent_to_the_login_page(setup):
    app, _, values = setup
    client = app.test_client()
    for rule, method, url in calls(app, values):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        response = client.open(url, method=method)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login"), (method, url)


def test_agents_are_refused_every_admin_page(setup):
    app, world, values = setup
    client = app.test_client()
    log_in(client, world.emails["c3171"])
    for rule, method, url in calls(app, values):
        if rule_of(app, rule.endpoint) in (ADMIN, SYSTEM):
            assert client.open(url, method=method).status_code == 403, (method, url)


def test_admins_below_the_root_are_refused_the_system_pages(setup):
    app, world, values = setup
    client = app.test_client()
    log_in(client, world.emails["p31admin"])
    for rule, method, url in calls(app, values):
        if rule_of(app, rule.endpoint) == SYSTEM:
            assert client.open(url, method=method).status_code == 403, (method, url)


def test_a_sibling_office_gets_404_on_every_ticket_route(setup):
    app, world, values = setup
    client = app.test_client()
    log_in(client, world.emails["c3172"])
    checked = 0
    for rule, method, url in calls(app, values):
        if "ref" in rule.arguments:
            assert rule_of(app, rule.endpoint) == STAFF
            assert client.open(url, method=method).status_code == 404, (method, url)
            checked += 1
    assert checked >= 9


def test_an_admin_gets_404_for_users_and_contacts_outside_their_part_of_the_directory(setup):
    app, world, values = setup
    client = app.test_client()
    log_in(client, world.emails["p31admin"])
    checked = 0
    for rule, method, url in calls(app, values):
        if "user_id" in rule.arguments or "contact_id" in rule.arguments:
            assert client.open(url, method=method).status_code == 404, (method, url)
            checked += 1
    assert checked >= 3


def test_the_root_admin_opens_every_admin_page(setup):
    app, world, values = setup
    client = app.test_client()
    log_in(client, world.emails["min"])
    for rule, method, url in calls(app, values):
        if method == "GET" and rule.endpoint.startswith("admin.") and "name" not in rule.arguments:
            assert client.get(url).status_code == 200, url
