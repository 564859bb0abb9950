"""Waves through the real portal: an incident answered once for fifty schools,
bulk actions from a filtered queue, their report and their progress page."""
from __future__ import annotations

from email import message_from_bytes, policy as email_policy

from sqlalchemy import select

from core.config.policy import update_policy
from core.models import BulkJob, JobStatus, Outbox, Status, Ticket
from core.tickets import bulk
from mailout.deliver import deliver_due
from tests.core.tickets.waves_world import build_wave
from tests.factories import make_user
from tests.portal.staff_world import log_in


def wave_of(database, count: int):
    with database.begin() as s:
        wave = build_wave(s, database.settings, count)
        return [t.ref for t in wave.tickets], wave.sibling.ref, wave.agent.email


def test_an_incident_reply_reaches_fifty_requesters_each_in_their_own_thread(client, database):
    refs, sibling, agent = wave_of(database, 51)
    parent, attached = refs[0], refs[1:]
    log_in(client, agent)
    client.post(f"/staff/tickets/{parent}/incident")
    page = client.post(f"/staff/tickets/{parent}/incident/attach", data={"q": "dapodik sinkron",
                                                                        "refs": sibling}, follow_redirects=True)
    assert "50 tiket terlampir." in page.text and f"{sibling}: tidak terlihat oleh Anda" in page.text
    answer = client.post(f"/staff/tickets/{parent}/reply", data={
        "text": "Server Dapodik pusat sudah pulih; silakan sinkron ulang.", "status": "answered"})
    assert answer.status_code == 302 and "/staff/bulk/" in answer.location
    report = client.get(answer.location)
    assert "50 dari 50 tiket ditangani, 0 ditolak." in report.text and 'http-equiv="refresh"' not in report.text

    assert deliver_due(database).sent == 51
    mails = [message_from_bytes(p.read_bytes(), policy=email_policy.default)
             for p in sorted(database.settings.path("outgoing").glob("*.eml"))]
    replies = {m["To"]: m for m in mails if "sudah pulih" in m.get_body(("plain",)).get_content()}
    assert len(replies) == 51
    with database.session() as s:
        tickets = {t.ref: t for t in s.scalars(select(Ticket).where(Ticket.ref.in_(refs)))}
        for i, ref in enumerate(refs):
            mail = replies[f"sdn{i}@sekolah.test"]
            assert mail["In-Reply-To"] == f"<wave-{i}@sekolah.test>"  # the school's own mail, not the parent's
            assert f"[{ref}]" in mail["Subject"]
            assert tickets[ref].status is Status.answered
        assert len({m["Message-ID"] for m in replies.values()}) == 51

    client.post(f"/staff/tickets/{parent}/status", data={"status": "closed"})
    with database.session() as s:
        assert set(s.scalars(select(Ticket.status).where(Ticket.ref.in_(attached)))) == {Status.closed}


def test_a_bulk_action_on_all_tickets_matching_a_filter_reports_the_refused(client, database):
    refs, sibling, agent = wave_of(database, 6)
    with database.begin() as s:
        closed = s.scalar(select(Ticket).where(Ticket.ref == refs[0]))
        from core.tickets import lifecycle
        lifecycle.move(s, closed, Status.closed)
    log_in(client, agent)
    queue = client.get("/staff/?queue=open&status=open")
    assert 'name="ref"' in queue.text and 'id="bulk"' in queue.text
    done = client.post("/staff/bulk", data={"queue": "open", "status": "open", "all": "1", "action": "status",
                                            "status_to": "on_hold", "ref": [refs[1]]}, follow_redirects=True)
    assert "5 dari 5 tiket ditangani, 0 ditolak." in done.text
    chosen = client.post("/staff/bulk", data={"ref": [refs[0], refs[1], sibling], "action": "reply",
                                              "reply_status": "answered", "text": "Sudah pulih."},
                         follow_redirects=True)
    assert "3 dari 3 tiket ditangani, 2 ditolak." in chosen.text
    assert "tiket sudah ditutup" in chosen.text and "tidak terlihat oleh Anda" in chosen.text
    with database.session() as s:
        assert s.scalar(select(Ticket.status).where(Ticket.ref == refs[1])) is Status.answered
        assert s.scalar(select(Ticket.status).where(Ticket.ref == refs[2])) is Status.on_hold


def test_an_impossible_bulk_action_says_why_and_changes_nothing(client, database):
    refs, _, agent = wave_of(database, 2)
    log_in(client, agent)
    page = client.post("/staff/bulk", data={"ref": refs, "action": "reply", "text": " ", "back": "/staff/?queue=open"},
                       follow_redirects=True)
    assert "balasan perlu teks" in page.text
    empty = client.post("/staff/bulk", data={"action": "note", "text": "x"}, follow_redirects=True)
    assert "pilih beberapa tiket" in empty.text
    with database.session() as s:
        assert s.scalar(select(BulkJob.id)) is None


def test_a_job_over_the_setting_waits_for_a_worker_and_its_page_refreshes(client, database):
    refs, _, agent = wave_of(database, 3)
    with database.begin() as s:
        update_policy(s, bulk_inline_max=2)
    log_in(client, agent)
    answer = client.post("/staff/bulk", data={"ref": refs, "action": "note", "text": "Dipantau."})
    page = client.get(answer.location)
    assert 'http-equiv="refresh"' in page.text and "Menunggu diproses" in page.text
    assert "0 dari 3 tiket ditangani" in page.text
    assert "<script" not in page.text
    job_id = int(answer.location.rsplit("/", 1)[1])
    assert bulk.run_pending(database) == 1
    page = client.get(answer.location)
    assert 'http-equiv="refresh"' not in page.text and "3 dari 3 tiket ditangani, 0 ditolak." in page.text
    with database.session() as s:
        assert s.get(BulkJob, job_id).status is JobStatus.done


def test_only_its_author_sees_a_job(client, database):
    refs, _, agent = wave_of(database, 1)
    log_in(client, agent)
    location = client.post("/staff/bulk", data={"ref": refs, "action": "note", "text": "x"}).location
    with database.begin() as s:
        other = s.scalar(select(Ticket).where(Ticket.ref == refs[0])).office
        make_user(s, other, email="colleague@c3171.test")
    client.post("/logout")
    log_in(client, "colleague@c3171.test")
    assert client.get(location).status_code == 404


def test_a_read_only_queue_offers_no_bulk_form(client, database):
    refs, _, _ = wave_of(database, 1)
    with database.begin() as s:
        province = s.scalar(select(Ticket).where(Ticket.ref == refs[0])).office.parent
        make_user(s, province, email="reader@p31.test")
    log_in(client, "reader@p31.test")
    page = client.get("/staff/?queue=below")
    assert refs[0] in page.text and 'id="bulk"' not in page.text
