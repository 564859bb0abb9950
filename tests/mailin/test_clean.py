"""Cleaning: display text, sanitised HTML with inline images, attachment rules."""
from __future__ import annotations

from core.config.policy import Policy
from core.storage.files import Store
from mailin.clean import clean
from mailin.parse import parse
from tests.mailin.mails import PDF, PNG, with_parts


def cleaned(tmp_path, raw, policy=Policy()):
    return clean(parse(raw), Store(tmp_path), policy)


def test_display_text_drops_quoted_history_and_full_text_keeps_it(tmp_path):
    text = "Sudah saya coba.\n\nOn Mon, 23 Nov 2026, Helpdesk <helpdesk@helpdesk.test> wrote:\n> Coba lagi"
    result = cleaned(tmp_path, with_parts(text=text))
    assert result.text == "Sudah saya coba." and "> Coba lagi" in result.full_text


def test_html_is_sanitised_and_inline_images_point_at_their_stored_attachment(tmp_path):
    raw = with_parts(html='<p onclick="x()">Lihat <img src="cid:logo@x"><script>alert(1)</script>'
                          '<img src="https://tracker.test/p.gif"></p>', inline=[("logo@x", "image/png", PNG)])
    result = cleaned(tmp_path, raw)
    (image,) = result.attachments
    assert (image.inline, image.content_id, image.refused_reason) == (True, "logo@x", None)
    assert f'src="cid-attachment:{image.sha256}"' in result.html
    assert "script" not in result.html and "onclick" not in result.html
    assert '<img src="https://tracker.test' not in result.html  # held back: remote images are off by default
    assert Store(tmp_path).get(image.sha256) == PNG


def test_html_only_mail_gets_its_text_from_the_html(tmp_path):
    raw = b"From: a@s.test\r\nContent-Type: text/html\r\n\r\n<p>Halo <b>tim</b></p>\r\n"
    result = cleaned(tmp_path, raw)
    assert result.text == "Halo tim" and result.full_text.strip() == "Halo tim"


def test_refused_attachments_are_recorded_with_the_reason_and_without_bytes(tmp_path):
    raw = with_parts(files=[("surat.pdf", "application/pdf", PDF), ("nilai.exe", "application/octet-stream", b"MZ"),
                            ("foto.pdf", "application/pdf", PNG), ("besar.pdf", "application/pdf", PDF * 100)])
    result = cleaned(tmp_path, raw, Policy(attachment_max_bytes=len(PDF) * 10))
    kept, exe, disguised, big = result.attachments
    assert (kept.filename, kept.content_type, kept.refused_reason) == ("surat.pdf", "application/pdf", None)
    assert exe.refused_reason == "extension .exe is not allowed"
    assert disguised.refused_reason == "content is image/png but the name says .pdf"
    assert big.refused_reason.startswith("larger than")
    store = Store(tmp_path)
    assert store.exists(kept.sha256) and not any(store.exists(r.sha256) for r in (exe, disguised, big))
