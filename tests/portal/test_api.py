"""The REST API through Flask's test client on a real database: what the staff
portal tests show for pages, shown for the API (visibility, tokens, the same
core actions), and a reply through the API reaching the customer by mail."""
from __future__ import annotations

import email
import io
from datetime import timedelta
from email.policy import default

import pytest
from freezegun import freeze_time
from sqlalchemy import select, update

from core.access import apitokens
from core.config.policy import Policy
from core.demo import seed_defaults
from core.access.logins import FREE_FAILURES, set_password
from core.models import Event, Office, Ticket, User, utcnow
from core.queries.listing import Listing, list_tickets
from mailout.deliver import deliver_due
from mailout.transport import RelayTransport
from portal.api.schemas import TicketPage
from tests.factories import PASSWORD


def login(client, email_: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email_, "password": password})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(client, world):
    """Access tokens of a Jakarta Selatan agent, a Jakarta Timur agent and a Province agent."""
    return {name: login(client, world.emails[name]).get_json()["access_token"] for name in ("c3171", "c3172", "p31")}


def refs(client, token: str, **args) -> list[str]:
    answer = client.get("/api/v1/tickets", query_string=args, headers=bearer(token))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return [item["ref"] for item in answer.get_json()["items"]]


def test_login_gives_a_token_pair_and_wrong_credentials_get_401_without_a_hint(client, world):
    answer = login(client, world.emails["c3171"])
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["refresh_token"]
    wrong_password = login(client, world.emails["c3171"], "not the password")
    unknown_user = login(client, "nobody@staff.test", "not the password")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.content_type == "application/problem+json"
    assert wrong_password.get_json() == unknown_user.get_json()


def test_the_portals_lockout_applies_to_api_logins(client, world):
    for _ in range(FREE_FAILURES):
        assert login(client, world.emails["c3171"], "not the password").status_code == 401
    # Locked now: even the right password is refused, the same way.
    assert login(client, world.emails["c3171"]).status_code == 401


def test_a_sibling_citys_token_gets_404_on_a_ticket_and_does_not_see_it_in_lists(client, world, tokens):
    ref = world.refs["sman1"]  # held by Jakarta Selatan (C3171)
    assert client.get(f"/api/v1/tickets/{ref}", headers=bearer(tokens["c3171"])).status_code == 200
    hidden = client.get(f"/api/v1/tickets/{ref}", headers=bearer(tokens["c3172"]))
    assert hidden.status_code == 404 and hidden.content_type == "application/problem+json"
    assert hidden.get_json()["type"].endswith("/not-found")
    assert ref not in refs(client, tokens["c3172"])
    assert ref not in refs(client, tokens["c3172"], q="NUPTK")
    assert refs(client, tokens["c3172"]) == [world.refs["smkn26"]]
    # Nor may it act on it: the same 404, not a 403 that would confirm it exists.
    assert client.post(f"/api/v1/tickets/{ref}/messages", json={"text": "hi"},
                       headers=bearer(tokens["c3172"])).status_code == 404
    # The Province reads every ticket of its cities, but changes none of them.
    assert sorted(refs(client, tokens["p31"])) == sorted(world.refs.values())
    assert client.patch(f"/api/v1/tickets/{ref}", json={"status": "on_hold"},
                        headers=bearer(tokens["p31"])).status_code == 403


def test_the_list_pages_by_cursor_until_next_is_null(client, world, tokens):
    seen, cursor = [], None
    while True:
        args = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/tickets", query_string=args, headers=bearer(tokens["p31"])).get_json()
        seen += [item["ref"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(world.refs.values()) and len(seen) == len(set(seen))
    bad = client.get("/api/v1/tickets", query_string={"cursor": "bm90LWEtY3Vyc29y"}, headers=bearer(tokens["p31"]))
    assert bad.status_code == 422 and "cursor" in bad.get_json()["errors"]


def test_the_list_is_written_as_its_documented_schema_dumps_it(client, database, world, tokens):
    with database.begin() as s:
        seed_defaults(s)
    made = client.post("/api/v1/tickets", headers=bearer(tokens["c3171"]), json={
        "requester_email": "sman8@sekolah.test", "subject": "Dapodik", "text": "Macet.", "priority": "tinggi"})
    client.patch(f"/api/v1/tickets/{made.get_json()['ref']}", headers=bearer(tokens["c3171"]),
                 json={"assignee": world.emails["c3171b"]})
    page = client.get("/api/v1/tickets", query_string={"limit": 3}, headers=bearer(tokens["p31"])).get_json()
    with database.read() as s:
        user = s.scalar(select(User).where(User.email == world.emails["p31"]))
        rows, following = list_tickets(s, user, Policy(), Listing(), limit=3)
        items = [{"ref": r.ref, "status": r.status.value, "priority": r.priority, "category": r.category,
                  "office": r.office, "assignee": r.assignee, "requester": r.requester_email, "subject": r.subject,
                  "created_at": r.created_at, "updated_at": r.updated_at} for r in rows]
    assert page == TicketPage().dump({"items": items, "next": following.encode()})
    assert page["items"][0]["priority"] == "tinggi" and page["items"][0]["assignee"] == world.emails["c3171b"]
    assert page["items"][1]["assignee"] is None


def test_a_refresh_token_works_once_and_its_reuse_revokes_the_family(client, world):
    first = login(client, world.emails["c3171"]).get_json()
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    new = second.get_json()
    assert new["refresh_token"] != first["refresh_token"]
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    # The replay revoked the family: the legitimate holder's newer token is dead too.
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]}).status_code == 401


def test_logout_and_a_password_change_revoke_the_tokens(client, database, world):
    pair = login(client, world.emails["c3171"]).get_json()
    assert client.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}).status_code == 204
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401

    pair = login(client, world.emails["c3171"]).get_json()
    with database.begin() as s:
        user = s.scalar(select(User).where(User.email == world.emails["c3171"]))
        set_password(s, user, "another long password")
    assert client.get("/api/v1/tickets", headers=bearer(pair["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401


def test_an_access_token_expires(client, world):
    with freeze_time(utcnow()) as clock:
        token = login(client, world.emails["c3171"]).get_json()["access_token"]
        assert client.get("/api/v1/priorities", headers=bearer(token)).status_code == 200
        clock.tick(timedelta(minutes=16))
        assert client.get("/api/v1/priorities", headers=bearer(token)).status_code == 401


def test_missing_malformed_and_forged_tokens_get_401(client, world, tokens):
    for headers in ({}, bearer("nonsense"), bearer(tokens["c3171"][:-2] + "xx"), bearer("hd_forged"),
                    {"Authorization": f"Basic {tokens['c3171']}"}):
        answer = client.get("/api/v1/tickets", headers=headers)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_api_token_works_until_revoked_shows_its_last_use_and_names_itself_in_the_audit(
        client, database, world):
    with database.begin() as s:
        user = s.scalar(select(User).where(User.email == world.emails["c3171"]))
        row, token = apitokens.create(s, user, "school-data-system", ("read", "write"))
        token_id = row.id
    ref = world.refs["sman1"]
    assert client.patch(f"/api/v1/tickets/{ref}", json={"status": "on_hold", "reason": "menunggu berkas"},
                        headers=bearer(token)).status_code == 200
    with database.session() as s:
        assert s.get(apitokens.ApiToken, token_id).last_used_at is not None
        ticket = s.scalar(select(Ticket).where(Ticket.ref == ref))
        event = s.scalars(select(Event).where(Event.ticket_id == ticket.id, Event.kind == "status")
                          .order_by(Event.id.desc())).first()
    assert event.actor == world.emails["c3171"] and "via api token school-data-system" in event.detail

    # The admin of the Province revokes it on the admin page; it fails from then on.
    client.post("/login", data={"email": world.emails["p31admin"], "password": PASSWORD})
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "school-data-system" in page and token not in page
    assert client.post(f"/admin/tokens/{token_id}/revoke").status_code == 302
    assert client.get("/api/v1/tickets", headers=bearer(token)).status_code == 401


def test_a_read_only_token_may_not_change_anything(client, database, world):
    with database.begin() as s:
        user = s.scalar(select(User).where(User.email == world.emails["c3171"]))
        _row, token = apitokens.create(s, user, "dashboard", ("read",))
    assert client.get("/api/v1/tickets", headers=bearer(token)).status_code == 200
    refused = client.patch(f"/api/v1/tickets/{world.refs['sman1']}", json={"status": "on_hold"},
                           headers=bearer(token))
    assert refused.status_code == 403 and refused.content_type == "application/problem+json"


def test_a_reply_through_the_api_reaches_the_customer_in_their_thread(client, database, world, tokens, relay):
    ref = world.refs["sman1"]
    answer = client.post(f"/api/v1/tickets/{ref}/messages", json={"text": "NUPTK terbit pekan depan."},
                         headers=bearer(tokens["c3171"]))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    shown = answer.get_json()
    assert shown["status"] == "answered" and shown["messages"][-1]["direction"] == "out"
    with RelayTransport("127.0.0.1", relay.port) as channel:
        deliver_due(database, transport=channel)
    [reply] = [m for m in relay.messages if b"NUPTK terbit" in m.data]
    assert reply.recipients == ["sman1@sekolah.test"]
    parsed = email.message_from_bytes(reply.data, policy=default)
    assert parsed["In-Reply-To"] == "<sman1@sekolah.test>" and f"[{ref}]" in parsed["Subject"]


def test_a_note_with_a_file_as_multipart_stays_internal(client, database, world, tokens):
    ref = world.refs["sman1"]
    answer = client.post(f"/api/v1/tickets/{ref}/messages", headers=bearer(tokens["c3171"]),
                         data={"text": "Sudah dicek ke pusat.", "internal": "true",
                               "files": [(io.BytesIO(b"catatan"), "catatan.txt")]},
                         content_type="multipart/form-data")
    assert answer.status_code == 201, answer.get_data(as_text=True)
    note = answer.get_json()["messages"][-1]
    assert note["direction"] == "note" and note["attachments"][0]["filename"] == "catatan.txt"
    download = client.get(f"/api/v1/tickets/{ref}/attachments/{note['attachments'][0]['id']}",
                          headers=bearer(tokens["c3171"]))
    assert download.status_code == 200 and download.data == b"catatan"
    assert client.get(f"/api/v1/tickets/{ref}/attachments/{note['attachments'][0]['id']}",
                      headers=bearer(tokens["c3172"])).status_code == 404


def test_create_assign_prioritise_and_forward_call_the_core_actions(client, database, world, tokens):
    with database.begin() as s:
        seed_defaults(s)
        s.execute(update(User).where(User.email == world.emails["c3171b"]).values(available=True))
    made = client.post("/api/v1/tickets", headers=bearer(tokens["c3171"]), json={
        "requester_email": "sman8@sekolah.test", "requester_name": "Tata Usaha", "subject": "Dapodik macet",
        "text": "Tidak bisa masuk sejak pagi.", "priority": "tinggi"})
    assert made.status_code == 201, made.get_data(as_text=True)
    ref = made.get_json()["ref"]
    assert made.get_json()["office"] == "C3171" and made.get_json()["priority"] == "tinggi"
    # The answer shows the ticket as it was stored (assigned at once), as reading it back does.
    assert made.get_json()["assignee"] == world.emails["c3171b"]
    assert made.get_json() == client.get(f"/api/v1/tickets/{ref}", headers=bearer(tokens["c3171"])).get_json()
    changed = client.patch(f"/api/v1/tickets/{ref}", headers=bearer(tokens["c3171"]),
                           json={"assignee": world.emails["c3171b"], "priority": "rendah"})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["assignee"] == world.emails["c3171b"] and changed.get_json()["priority"] == "rendah"
    sideways = client.post(f"/api/v1/tickets/{ref}/forward", json={"to": "C3172", "reason": "salah kota"},
                           headers=bearer(tokens["c3171"]))
    assert sideways.status_code == 422, sideways.get_data(as_text=True)  # a sibling is not below C3171
    unknown = client.post(f"/api/v1/tickets/{ref}/forward", json={"to": "NOPE", "reason": "salah kota"},
                          headers=bearer(tokens["c3171"]))
    assert unknown.status_code == 422 and unknown.get_json()["type"].endswith("/unknown-office")
    up = client.post(f"/api/v1/tickets/{ref}/forward", json={"to": None, "reason": "perlu provinsi"},
                     headers=bearer(tokens["c3171"]))
    assert up.status_code == 200 and up.get_json()["office"] == "P31" and up.get_json()["status"] == "forwarded"
    down = client.post(f"/api/v1/tickets/{ref}/forward", json={"to": "C3172", "reason": "sekolah di Jakarta Utara"},
                       headers=bearer(tokens["p31"]))
    assert down.status_code == 200, down.get_data(as_text=True)
    assert down.get_json()["office"] == "C3172" and down.get_json()["status"] == "open"
    # The offices it left still read it (they answer the school's phone call).
    assert client.get(f"/api/v1/tickets/{ref}", headers=bearer(tokens["c3171"])).status_code == 200
    kinds = [e["kind"] for e in client.get(f"/api/v1/tickets/{ref}", headers=bearer(tokens["p31"]))
             .get_json()["events"]]
    assert {"opened_for", "assign", "priority", "forward", "dispatch"} <= set(kinds)


def test_a_ticket_opened_for_a_school_starts_at_its_city_and_only_within_the_openers_sight(
        client, database, world, tokens):
    """Where a ticket opened on someone's behalf starts, as the school's own
    mail would start: at the school's parent, in the school's language, with
    the default priority's SLA; a school out of the opener's sight (or with
    no parent) is refused; an address the directory does not know stays
    with the opener's office."""
    with database.begin() as s:
        seed_defaults(s)
        s.execute(update(Office).where(Office.code == "S003").values(language="en"))
    new = {"subject": "Dapodik macet", "text": "Tidak bisa masuk sejak pagi."}
    made = client.post("/api/v1/tickets", headers=bearer(tokens["p31"]),
                       json={**new, "requester_email": "SMKN26@sekolah.test"})
    assert made.status_code == 201, made.get_data(as_text=True)
    with database.read() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.ref == made.get_json()["ref"]))
        assert (ticket.office.code, ticket.school.code, ticket.language) == ("C3172", "S003", "en")
        assert ticket.priority.is_default and ticket.resolution_due_at is not None
    refused = client.post("/api/v1/tickets", headers=bearer(tokens["c3171"]),
                          json={**new, "requester_email": "smkn26@sekolah.test"})
    assert refused.status_code == 422 and "sight" in refused.get_json()["detail"]
    with database.begin() as s:
        s.execute(update(Office).where(Office.code == "S003").values(parent_id=None))
    orphan = client.post("/api/v1/tickets", headers=bearer(tokens["p31"]),
                         json={**new, "requester_email": "smkn26@sekolah.test"})
    assert orphan.status_code == 422 and "sight" in orphan.get_json()["detail"]
    stranger = client.post("/api/v1/tickets", headers=bearer(tokens["c3171"]),
                           json={**new, "requester_email": "orang@luar.test", "priority": "tinggi"})
    assert stranger.status_code == 201, stranger.get_data(as_text=True)
    assert (stranger.get_json()["office"], stranger.get_json()["priority"]) == ("C3171", "tinggi")


def test_a_request_uses_the_user_the_guard_read_and_loads_it_no_more(client, database, world, tokens):
    """The guard reads the caller's user and office with the policy; the view
    puts that row in its session (core.access.bearer.user_of) instead of
    loading the user by id again, and the user is the one a load would give."""
    from sqlalchemy import event
    with database.begin() as s:
        seed_defaults(s)
    seen = []

    def look(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))
    event.listen(database.engine, "before_cursor_execute", look)
    try:
        made = client.post("/api/v1/tickets", headers=bearer(tokens["c3171"]), json={
            "requester_email": "orang@luar.test", "subject": "Tanya jadwal", "text": "Kapan dibuka?"})
        listed = refs(client, tokens["c3171"])
    finally:
        event.remove(database.engine, "before_cursor_execute", look)
    assert made.status_code == 201 and made.get_json()["ref"] in listed
    assert seen and not [statement for statement in seen if "WHERE app_user.id = " in statement]
    with database.read() as s:
        opened = s.scalar(select(Event).where(Event.kind == "opened_for"))
        agent = s.scalar(select(User).where(User.email == world.emails["c3171"]))
        assert (opened.actor_id, opened.actor) == (agent.id, agent.email)


def test_a_new_ticket_nobody_could_take_is_answered_as_reading_it_back_shows_it(client, database, world, tokens):
    """Its history (created, opened_for, and whatever the office's notice
    recorded) is answered from what the intake recorded, not read back."""
    with database.begin() as s:
        seed_defaults(s)
        s.execute(update(User).values(available=False))
    made = client.post("/api/v1/tickets", headers=bearer(tokens["c3171"]), json={
        "requester_email": "orang@luar.test", "subject": "Tanya jadwal", "text": "Kapan dibuka?"})
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.get_json()["assignee"] is None and made.get_json()["linked"] == []
    assert [e["kind"] for e in made.get_json()["events"]][:2] == ["created", "opened_for"]
    read = client.get(f"/api/v1/tickets/{made.get_json()['ref']}", headers=bearer(tokens["c3171"]))
    assert made.get_json() == read.get_json()


def test_the_openapi_document_is_3_1_and_the_docs_page_runs_no_inline_script(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1") and "/api/v1/tickets/{ref}" in spec["paths"]
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in html and "http" not in html.replace("http-equiv", "")
    assert client.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_every_api_route_declares_its_rule_and_refuses_a_missing_token(app, client):
    from portal.api.guard import PUBLIC, rule_of
    public = {"api_auth.login", "api_auth.refresh", "api_auth.logout", "api_docs.docs", "api_docs.asset",
              "api-docs.openapi_json"}
    routes = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]
    assert len(routes) > 15
    for route in routes:
        if route.endpoint in public:
            continue
        assert rule_of(app, route.endpoint) not in (None, PUBLIC), route.endpoint
        url = route.build({arg: {"ref": "HD-AAAAAA", "attachment_id": 1, "webhook_id": 1}.get(arg, "x") for arg in route.arguments})[1]
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            answer = client.open(url, method=method, json={})
            assert answer.status_code == 401, (method, url, answer.status_code)


def test_webhooks_are_managed_by_the_top_offices_admins(client, world, tokens):
    top = login(client, world.emails["min"]).get_json()["access_token"]
    province_admin = login(client, world.emails["p31admin"]).get_json()["access_token"]
    assert client.get("/api/v1/webhooks", headers=bearer(tokens["c3171"])).status_code == 403  # no admin scope
    assert client.get("/api/v1/webhooks", headers=bearer(province_admin)).status_code == 403  # not the top office
    refused = client.post("/api/v1/webhooks", headers=bearer(top),
                          json={"url": "http://receiver.example/hook", "events": ["ticket.created"]})
    assert refused.status_code == 422 and "https" in refused.get_json()["detail"]
    made = client.post("/api/v1/webhooks", headers=bearer(top),
                       json={"url": "https://receiver.example/hook", "events": ["ticket.created", "ticket.replied"]})
    assert made.status_code == 201, made.get_data(as_text=True)
    hook = made.get_json()
    assert hook["secret"] and hook["events"] == ["ticket.created", "ticket.replied"]
    listed = client.get("/api/v1/webhooks", headers=bearer(top)).get_json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=bearer(top)).status_code == 204
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=bearer(top)).status_code == 404
    assert client.get("/api/v1/webhooks", headers=bearer(top)).get_json()["items"] == []
