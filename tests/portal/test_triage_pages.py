"""Priority and category through the real portal: staff set them on the ticket
page, admins write triage rules, the public form follows them, and the
queues and reports count by both."""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from core.config.policy import update_policy
from core.demo import seed_defaults
from core.models import Category, Event, Priority, Ticket
from tests.portal.staff_world import build_world, log_in
from tests.portal.test_public_form import START, open_form, send


@pytest.fixture
def world(database):
    built = build_world(database)
    with database.begin() as s:
        seed_defaults(s)
    return built


def ids(database) -> dict[str, int]:
    with database.begin() as s:
        found = {p.name: p.id for p in s.scalars(select(Priority))}
        found.update({c.name: c.id for c in s.scalars(select(Category))})
        return found


def the(database, ref: str) -> Ticket:
    with database.begin() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.ref == ref)).one()
        _ = ticket.priority, ticket.category, ticket.events
        return ticket


def test_staff_of_the_holding_office_set_priority_and_category_and_both_are_audited(client, database, world):
    ref, known = world.refs["sman1"], ids(database)
    log_in(client, world.emails["c3171"])
    before = the(database, ref)
    page = client.get(f"/staff/tickets/{ref}?lang=en").text
    assert 'name="priority"' in page and "Data PTK › NUPTK" in page
    client.post(f"/staff/tickets/{ref}/priority", data={"priority": known["mendesak"]})
    client.post(f"/staff/tickets/{ref}/category", data={"category": known["NUPTK"]})
    after = the(database, ref)
    assert after.priority.name == "mendesak" and after.category.name == "NUPTK"
    assert after.resolution_due_at == after.created_at + timedelta(hours=24) != before.resolution_due_at
    changes = [(e.kind, e.to_value) for e in after.events if e.kind in ("priority", "category")]
    assert changes == [("priority", "mendesak"), ("category", "Data PTK / NUPTK")]
    shown = client.get(f"/staff/tickets/{ref}?lang=id").text
    assert 'id="ticket-priority">mendesak' in shown and "Kategori" in shown


def test_an_office_that_only_reads_the_ticket_cannot_set_its_priority(client, database, world):
    ref, known = world.refs["sman1"], ids(database)
    log_in(client, world.emails["p31"])
    assert client.post(f"/staff/tickets/{ref}/priority", data={"priority": known["mendesak"]}).status_code == 403
    log_in(client, world.emails["c3273"])
    assert client.post(f"/staff/tickets/{ref}/category", data={"category": known["NUPTK"]}).status_code == 404
    assert the(database, ref).priority is None  # opened before the priorities were seeded, and still so


def test_an_unknown_priority_is_refused_with_a_message(client, database, world):
    ref = world.refs["sman1"]
    log_in(client, world.emails["c3171"])
    answer = client.post(f"/staff/tickets/{ref}/priority", data={"priority": "99999"}, follow_redirects=True)
    assert "prioritas tersebut tidak ada" in answer.text


def test_queues_filter_by_a_category_group_and_sort_by_category_and_reports_count_both(client, database, world):
    known = ids(database)
    log_in(client, world.emails["c3171"])
    client.post(f"/staff/tickets/{world.refs['sman1']}/category", data={"category": known["NUPTK"]})
    client.post(f"/staff/tickets/{world.refs['sman1']}/priority", data={"priority": known["tinggi"]})
    group = client.get(f"/staff/?queue=open&category={known['Data PTK']}&lang=en").text
    assert world.refs["sman1"] in group and world.refs["sman8"] not in group
    by_category = client.get("/staff/?queue=open&sort=by_category&lang=en").text
    assert by_category.index(world.refs["sman1"]) < by_category.index(world.refs["sman8"])
    urgent = client.get(f"/staff/?queue=open&priority={known['tinggi']}&lang=en").text
    assert world.refs["sman1"] in urgent and world.refs["sman8"] not in urgent
    report = client.get("/staff/reports?lang=en").text
    priority_table = report[report.index('id="by-priority"'):]
    assert "tinggi" in priority_table and "Data PTK / NUPTK" in report[report.index('id="by-category"'):]


def test_an_admin_rule_sets_category_and_priority_of_a_ticket_from_the_public_form(app, database, world):
    admin = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    log_in(admin, world.emails["min"])
    admin.get("/admin/triage-rules?lang=en")  # the language sticks (a cookie)
    with database.begin() as s:
        s.add(Category(name="Keuangan"))
    known = ids(database)
    answer = admin.post("/admin/triage-rules", data={"keyword": "dana bos, belum cair", "category": known["Keuangan"],
                                                     "priority": known["tinggi"]}, follow_redirects=True)
    assert "Rule added." in answer.text and "dana bos, belum cair" in answer.text
    refused = admin.post("/admin/triage-rules", data={"keyword": "bos"}, follow_redirects=True)
    assert "a rule needs an effect" in refused.text
    app.config["WTF_CSRF_ENABLED"] = True
    visitor = app.test_client()
    with freeze_time(START) as clock:
        form = open_form(visitor)
        clock.tick(30)
        assert send(visitor, form, subject="Dana BOS belum cair", body="Sudah tiga bulan belum diterima.").status_code == 302
    with database.begin() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.subject == "Dana BOS belum cair")).one()
        assert (ticket.category.name, ticket.priority.name) == ("Keuangan", "tinggi")
        assert s.scalars(select(Event.to_value).where(Event.kind == "triaged", Event.ticket_id == ticket.id)).one() \
            == "category Keuangan, priority tinggi"
    app.config["WTF_CSRF_ENABLED"] = False
    rules_page = admin.get("/admin/triage-rules?lang=en").text
    rule_id = rules_page.split("/admin/triage-rules/")[1].split("/remove")[0]
    assert "Rule removed." in admin.post(f"/admin/triage-rules/{rule_id}/remove", follow_redirects=True).text


def test_the_public_form_offers_a_priority_only_where_the_admin_allows_it(app, database, world):
    visitor = app.test_client()
    assert 'name="priority"' not in visitor.get("/?lang=en").text
    with database.begin() as s:
        update_policy(s, "admin@staff.test", web_priority_choice=True)
    known = ids(database)
    with freeze_time(START) as clock:
        form = open_form(visitor)
        clock.tick(30)
        assert send(visitor, form, priority=str(known["mendesak"])).status_code == 302
    with database.begin() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.subject == "Akun operator terkunci")).one()
        assert ticket.priority.name == "mendesak"
