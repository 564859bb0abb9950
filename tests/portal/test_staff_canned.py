"""Canned responses through the portal: inserted into the reply box for
editing before sending (a form round trip), and kept by supervisors."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from core.models import CannedResponse, Message, Office, Role
from tests.factories import make_user
from tests.portal.staff_world import log_in


def add_answer(database, office_code: str, body: str, title: str = "Sedang diproses") -> int:
    with database.begin() as s:
        office = s.scalar(select(Office).where(Office.code == office_code))
        answer = CannedResponse(title=title, body=body, office_id=office.id)
        s.add(answer)
        s.flush()
        return answer.id


def reply_box(html: str) -> str:
    return re.search(r'<textarea id="text" name="text"[^>]*>(.*?)</textarea>', html, re.S).group(1)


def messages(database) -> int:
    with database.session() as s:
        return s.scalar(select(func.count(Message.id)))


def test_inserting_an_ancestors_answer_fills_the_reply_box_and_sends_nothing(client, database, world):
    answer = add_answer(database, "P31", "Yth. {{ school.name }}, tiket {{ ticket.ref }} sedang kami proses.")
    ref = world.refs["sman1"]
    log_in(client, world.emails["c3171"])
    before = messages(database)
    page = client.post(f"/staff/tickets/{ref}/compose?lang=en", data={"canned": answer, "text": "Mohon ditunggu."})
    assert page.status_code == 200
    assert reply_box(page.text) == f"Yth. SMA Negeri 1 Jakarta, tiket {ref} sedang kami proses.\n\nMohon ditunggu."
    assert messages(database) == before  # a preview, nothing saved or mailed
    edited = reply_box(page.text).replace("sedang kami proses", "sudah kami proses")
    sent = client.post(f"/staff/tickets/{ref}/reply", data={"text": edited, "status": "answered"})
    assert sent.status_code == 302
    with database.session() as s:
        last = s.scalars(select(Message).order_by(Message.id.desc())).first()
        assert last.text == edited.strip() and "{{" not in last.text


def test_a_sibling_citys_answer_is_refused_and_the_typed_text_kept(client, database, world):
    answer = add_answer(database, "C3172", "Jawaban Jakarta Timur")
    log_in(client, world.emails["c3171"])
    page = client.post(f"/staff/tickets/{world.refs['sman1']}/compose?lang=en",
                       data={"canned": answer, "text": "Teks saya"})
    assert "not offered to your office" in page.text
    assert reply_box(page.text) == "Teks saya"
    assert "Jawaban Jakarta Timur" not in page.text


def test_a_read_only_office_cannot_compose(client, world):
    log_in(client, world.emails["p31"])
    page = client.post(f"/staff/tickets/{world.refs['sman1']}/compose", data={"text": "x"})
    assert page.status_code == 403


def test_a_supervisor_keeps_the_offices_answers_and_its_agents_are_offered_them(client, database, world):
    with database.begin() as s:
        office = s.scalar(select(Office).where(Office.code == "C3171"))
        supervisor = make_user(s, office, Role.supervisor, email="sup@staff.test").email
    log_in(client, supervisor)
    saved = client.post("/staff/canned?lang=en", data={"title": "Dapodik", "body": "Halo {{ requester.name }}"},
                        follow_redirects=True)
    assert "Saved." in saved.text and "Dapodik" in saved.text
    refused = client.post("/staff/canned?lang=id", data={"title": "x", "body": "{{ requester.nama }}"},
                          follow_redirects=True)
    assert "Teks memuat penanda yang tidak ada." in refused.text and "{{ requester.nama }}" in refused.text
    client.post("/logout")
    log_in(client, world.emails["c3171b"])
    assert client.get("/staff/canned").status_code == 403  # agents use answers, they do not write them
    assert "Dapodik" in client.get(f"/staff/tickets/{world.refs['sman8']}").text
    client.post("/logout")
    log_in(client, world.emails["c3172"])
    assert "Dapodik" not in client.get(f"/staff/tickets/{world.refs['smkn26']}").text
