"""A customer whose attachment was refused hears it in the acknowledgement,
with the reason, so the file can be sent again in a form that passes."""
from __future__ import annotations

import io
import json
import zipfile
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from core.models import Outbox
from mailin.pipeline import ingest
from mailout.render import render_parts


def mail_with(attachments: dict[str, bytes]) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "sman1@sekolah.test", "helpdesk@helpdesk.test", "Rapor tidak bisa diunggah"
    m["Message-ID"] = "<refused1@sekolah.test>"
    m.set_content("Rapor semester tidak bisa diunggah.")
    for name, content in attachments.items():
        m.add_attachment(content, maintype="application", subtype="octet-stream", filename=name)
    return m.as_bytes()


def zipped(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize("language, heading, reason", [
    ("id", "Lampiran berikut tidak kami simpan:", "arsip berisi program: setup.exe"),
    ("en", "We could not keep these attachments:", "the archive holds a program: setup.exe")])
def test_the_acknowledgement_names_each_refused_file_and_why_in_its_language(db, language, heading, reason):
    ingest(db, mail_with({"rapor.pdf": b"%PDF-1.4\n%%EOF\n", "arsip.zip": zipped("tugas/setup.exe", b"MZ")}),
           "sman1@sekolah.test", ["helpdesk@helpdesk.test"], "smtp")
    with db.session() as s:
        row = s.scalar(select(Outbox).where(Outbox.template == "ack"))
    assert json.loads(row.context)["refused"] == [["arsip.zip", "the archive holds a program: setup.exe"]]
    _, text, html = render_parts(db.settings, "ack", language, json.loads(row.context))
    assert f"{heading}\n- arsip.zip: {reason}\n" in text
    assert f"<li>arsip.zip: {reason}</li>" in html
    assert "rapor.pdf" not in text


def test_an_acknowledgement_with_every_file_kept_says_nothing_of_refusals(db):
    ingest(db, mail_with({"rapor.pdf": b"%PDF-1.4\n%%EOF\n"}), "sman1@sekolah.test", ["helpdesk@helpdesk.test"],
           "smtp")
    with db.session() as s:
        row = s.scalar(select(Outbox).where(Outbox.template == "ack"))
    _, text, html = render_parts(db.settings, "ack", "en", json.loads(row.context))
    assert "could not keep" not in text and "could not keep" not in html
