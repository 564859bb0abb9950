"""The admin page of banned and allowed senders."""
from __future__ import annotations

from sqlalchemy import select

from core.mail.senders import rule_for
from core.models import Event, SenderRuleKind
from tests.portal.staff_world import log_in


def test_admin_bans_and_allows_senders_and_removes_a_rule(app, database, world):
    admin = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    log_in(admin, world.emails["min"])
    assert "Banned and allowed senders" in admin.get("/admin/senders?lang=en").text
    saved = admin.post("/admin/senders", data={"pattern": "@Spam.Example", "kind": "ban", "reason": "phishing"},
                       follow_redirects=True)
    assert "Sender rule saved." in saved.text and "spam.example" in saved.text and "phishing" in saved.text
    admin.post("/admin/senders", data={"pattern": "ok@spam.example", "kind": "allow"})
    refused = admin.post("/admin/senders", data={"pattern": "not an address", "kind": "ban"}, follow_redirects=True)
    assert "Give an address (name@domain) or a domain" in refused.text
    assert rule_for(database, "x@spam.example").kind is SenderRuleKind.ban
    assert rule_for(database, "ok@spam.example").kind is SenderRuleKind.allow
    page = admin.get("/admin/senders?lang=en").text
    rule_id = page.split("/admin/senders/")[1].split("/remove")[0]
    assert "Rule removed." in admin.post(f"/admin/senders/{rule_id}/remove", follow_redirects=True).text
    with database.session() as s:
        kinds = s.scalars(select(Event.kind).where(Event.kind.like("sender_%")).order_by(Event.id)).all()
    assert kinds[:2] == ["sender_ban", "sender_allow"] and kinds[2].endswith("_removed")


def test_sender_page_is_for_system_admins_only(app, world):
    agent = app.test_client()
    log_in(agent, world.emails["c3171"])
    assert agent.get("/admin/senders").status_code in (302, 403, 404)


def test_adding_a_rule_needs_the_csrf_token(app, world):
    admin = app.test_client()
    log_in(admin, world.emails["min"])
    assert admin.post("/admin/senders", data={"pattern": "spam.example", "kind": "ban"}).status_code == 400
