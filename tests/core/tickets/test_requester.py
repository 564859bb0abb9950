"""Core services of the customer's web channel, on a real database."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image
from sqlalchemy import select

from core.access import ratelimit
from core.config.policy import Policy
from core.content.thumbnails import MAX_PIXELS, NoThumbnail, shrink, thumbnail
from core.demo import seed_defaults
from core.content.uploads import Upload, UploadRefused, check_uploads
from core.models import Attachment, Category, Event, Outbox, Status
from core.tickets.private_link import serving
from core.tickets.requester import (
    WebTicket, can_rate, category_choices, customer_reply, mark_satisfied,
    mark_unsatisfied, submit_web_ticket,
)
from tests.bombs import zeros_bomb
from tests.factories import load_directory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def web(**changes) -> WebTicket:
    values = dict(name="Pak Budi", email="Budi@Example.test", subject="Tunjangan belum cair",
                  body="Tunjangan triwulan II belum diterima.", language="id")
    return WebTicket(**{**values, **changes})


@pytest.fixture
def world(session):
    offices = load_directory(session)
    seed_defaults(session)
    return offices


def test_rate_events_count_inside_the_window_only(session):
    for minutes in (0, 30, 61):
        ratelimit.hit(session, "k", NOW - timedelta(minutes=minutes))
    assert ratelimit.count(session, "k", timedelta(hours=1), NOW) == 2
    assert ratelimit.allowed(session, "k", 3, timedelta(hours=1), NOW)
    assert not ratelimit.allowed(session, "k", 2, timedelta(hours=1), NOW)
    assert ratelimit.allowed(session, "k", 0, timedelta(hours=1), NOW)  # 0: no limit
    assert ratelimit.prune(session, NOW - timedelta(minutes=45)) == 1


def test_forgetting_keeps_what_a_rule_can_still_count(session):
    ratelimit.hit(session, "day", NOW - timedelta(hours=23))
    ratelimit.hit(session, "old", NOW - timedelta(days=2))
    ratelimit.use_once(session, "fresh", NOW - timedelta(hours=5))
    ratelimit.use_once(session, "stale", NOW - timedelta(hours=7))
    assert ratelimit.forget_old(session, NOW) == 2
    assert ratelimit.count(session, "day", timedelta(days=1), NOW) == 1
    assert not ratelimit.use_once(session, "fresh", NOW) and ratelimit.use_once(session, "stale", NOW)


def test_a_one_time_value_spends_once_and_leaves_the_transaction_usable(session):
    assert ratelimit.use_once(session, "abc", NOW)
    assert not ratelimit.use_once(session, "abc", NOW)
    ratelimit.hit(session, "after", NOW)
    assert ratelimit.count(session, "after", timedelta(hours=1), NOW) == 1


def test_a_web_ticket_from_a_schools_address_is_held_by_its_city_and_acknowledged(session, settings, world):
    ticket = submit_web_ticket(session, settings, Policy(), web(email="SMAN1@sekolah.test"), now=NOW)
    assert (ticket.school.code, ticket.office.code, ticket.requester_email) == ("S001", "C3171", "sman1@sekolah.test")
    [ack] = session.scalars(select(Outbox).where(Outbox.ticket_id == ticket.id))
    assert (ack.template, ack.language, ack.to_address) == ("ack", "id", "sman1@sekolah.test")


def test_one_refused_file_refuses_the_whole_post():
    uploads = [Upload("ok.txt", b"hello"), Upload("run.exe", b"MZ\x90\x00\x03\x00\x00\x00")]
    with pytest.raises(UploadRefused) as refused:
        check_uploads(Policy(), uploads)
    assert (refused.value.filename, refused.value.reason) == ("run.exe", "content is an executable but the name says .exe")


def test_checked_files_are_stored_with_the_ticket(session, settings, world):
    uploads = check_uploads(Policy(), [Upload("ok.txt", b"hello")])
    ticket = submit_web_ticket(session, settings, Policy(), web(uploads=uploads), now=NOW)
    [attachment] = ticket.messages[0].attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == ("ok.txt", "text/plain", 5)


def test_the_archive_limits_are_the_policys(session):
    uploads = [Upload("arsip.zip", zeros_bomb(3))]
    assert check_uploads(Policy(archive_max_ratio=2000), uploads)[0].content_type == "application/zip"
    with pytest.raises(UploadRefused) as refused:
        check_uploads(Policy(archive_max_unpacked_bytes=2 * 1024 * 1024, archive_max_ratio=2000), uploads)
    assert refused.value.reason == "the archive unpacks to more than 2 MB"


def test_the_category_tree_lists_groups_before_their_children(session, world):
    labels = [label for _, label in category_choices(session)]
    assert labels.index("Data PTK") < labels.index("Data PTK › NUPTK") < labels.index("Lainnya")


def test_a_web_reply_reopens_an_answered_ticket_like_mail_does(session, settings, world):
    ticket = submit_web_ticket(session, settings, Policy(), web(), now=NOW)
    ticket.status = Status.answered
    landed = customer_reply(session, settings, Policy(), ticket, "Sudah saya coba.", [], NOW + timedelta(hours=1))
    assert landed is ticket and ticket.status is Status.open
    assert ticket.messages[-1].channel == "web"


def test_satisfied_closes_and_unsatisfied_reopens(session, settings, world):
    ticket = submit_web_ticket(session, settings, Policy(), web(), now=NOW)
    ticket.status = Status.answered
    assert can_rate(ticket)
    mark_unsatisfied(session, ticket, NOW)
    assert (ticket.status, ticket.satisfied, can_rate(ticket)) == (Status.open, False, False)
    ticket.status = Status.answered
    mark_satisfied(session, ticket, NOW)
    assert (ticket.status, ticket.satisfied, ticket.closed_at) == (Status.closed, True, NOW)
    kinds = session.scalars(select(Event.to_value).where(Event.ticket_id == ticket.id, Event.kind == "satisfaction"))
    assert list(kinds) == ["unsolved", "solved"]


@pytest.mark.parametrize("stored, served", [
    ("image/png", ("image/png", True)),
    ("application/pdf", ("application/pdf", False)),
    ("text/html", ("application/octet-stream", False)),
    ("image/svg+xml", ("application/octet-stream", False)),
    ("text/plain; charset=utf-8", ("text/plain", False)),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", False)),
])
def test_files_are_served_inline_only_when_they_are_safe_pictures(stored, served):
    assert serving(Attachment(filename="f", content_type=stored, size=1, sha256="0" * 64)) == served


def picture(size, mode="RGB", kind="PNG") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, kind)
    return out.getvalue()


def test_a_thumbnail_is_a_small_jpeg_cached_by_hash(tmp_path):
    source = tmp_path / "photo.png"
    source.write_bytes(picture((3000, 1000), "RGBA"))
    path = thumbnail(tmp_path / "thumbs", "ab" * 32, source)
    with Image.open(path) as small:
        assert (small.format, small.size) == ("JPEG", (320, 107))
    source.unlink()  # the second call uses the cache
    assert thumbnail(tmp_path / "thumbs", "ab" * 32, source) == path


def test_no_thumbnail_for_what_is_not_a_picture_or_is_a_decompression_bomb():
    with pytest.raises(NoThumbnail):
        shrink(b"%PDF-1.4 not a picture")
    side = int(MAX_PIXELS ** 0.5) + 10
    bomb = picture((side, side), "1")  # a few kilobytes declaring 40+ million pixels
    assert len(bomb) < 1_000_000
    with pytest.raises(NoThumbnail):
        shrink(bomb)


def test_the_topic_routes_a_strangers_web_ticket_but_never_a_schools(session, settings, world):
    dapodik = next(c for c in session.scalars(select(Category)) if c.name == "Dapodik")
    dapodik.default_office_id = world["P31"].id
    stranger = submit_web_ticket(session, settings, Policy(), web(category_id=dapodik.id), now=NOW)
    school = submit_web_ticket(session, settings, Policy(), web(email="sman3bdg@sekolah.test", category_id=dapodik.id),
                               now=NOW)
    assert (stranger.office.code, stranger.category.name) == ("P31", "Dapodik")
    assert school.office.code == "C3273"
