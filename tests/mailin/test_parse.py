"""Parsing raw mail into an InboundMail, as senders really write it."""
from __future__ import annotations

import email
import email.feedparser
import itertools
import re
from datetime import datetime, timezone

import mailparser
import pytest

from mailin import parse as parsing
from mailin.inbound import Malformed
from mailin.parse import SCREENED_HEADERS, parse
from tests._shared import mail_corpus
from tests.mailin.mails import PDF, PNG, mail, with_parts


def test_addresses_names_and_threading_headers_are_read():
    raw = mail(message_id="<a1@sekolah.test>", headers={
        "Cc": "Kepala <Kepsek@Sekolah.test>", "In-Reply-To": "<x@helpdesk.test>",
        "References": "<r1@a.test>\r\n <r2@b.test> <x@helpdesk.test>"})
    parsed = parse(raw)
    assert (parsed.from_address, parsed.from_name) == ("sman1@sekolah.test", "Operator")
    assert parsed.to == ("helpdesk@helpdesk.test",) and parsed.cc == ("kepsek@sekolah.test",)
    assert parsed.message_id == "<a1@sekolah.test>" and parsed.in_reply_to == "<x@helpdesk.test>"
    assert parsed.references == ("<r1@a.test>", "<r2@b.test>", "<x@helpdesk.test>")
    assert parsed.date == datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def test_encoded_words_in_subject_and_name_are_decoded():
    raw = (b"From: =?utf-8?b?QnXDsGkgU2FudG9zbw==?= <b@sekolah.test>\r\n"
           b"Subject: =?iso-8859-1?q?Caf=E9?= =?utf-8?q?_r=C3=A9sum=C3=A9?=\r\n\r\nisi\r\n")
    parsed = parse(raw)
    assert parsed.from_name == "Buði Santoso" and parsed.subject == "Café résumé"


def test_unknown_charset_decodes_with_replacement_instead_of_failing():
    raw = b"From: a@sekolah.test\r\nContent-Type: text/plain; charset=x-no-such\r\n\r\nna\xefve \xff\r\n"
    assert parse(raw).text.startswith("na")


def test_wrong_charset_declared_keeps_the_text_readable():
    raw = ("From: a@sekolah.test\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
           "Nilai siswa kelas XII — terlampir\r\n").encode("utf-8")
    assert "Nilai siswa kelas XII" in parse(raw).text


def test_raw_8bit_headers_do_not_break_parsing():
    raw = "From: Jürgen Müller <jm@sekolah.test>\r\nSubject: Über café\r\n\r\nisi\r\n".encode("utf-8")
    parsed = parse(raw)
    assert parsed.from_address == "jm@sekolah.test" and "caf" in parsed.subject


def test_bare_lf_line_ends_parse_like_crlf():
    assert parse(mail(newline="\n", body="baris satu\nbaris dua")).text.splitlines() == ["baris satu", "baris dua"]


def test_missing_date_body_and_subject_are_empty_not_errors():
    parsed = parse(b"From: a@sekolah.test\r\nMessage-ID: <e@x>\r\n\r\n")
    assert (parsed.date, parsed.text, parsed.html, parsed.subject) == (None, "", "", "")


def test_message_id_without_angle_brackets_is_given_them():
    assert parse(mail(message_id="bare-id@client.test")).message_id == "<bare-id@client.test>"


def test_automatic_headers_are_kept_for_the_screen():
    parsed = parse(mail(headers={"Auto-Submitted": "auto-replied", "Precedence": "Bulk", "X-Spam": "no"}))
    assert parsed.header("Auto-Submitted") == "auto-replied" and parsed.header("precedence") == "Bulk"
    assert parsed.header("x-spam") == ""


def test_rfc2231_file_names_and_inline_images_come_out_decoded():
    raw = with_parts(html='<p>lihat <img src="cid:logo@x"></p>', files=[("Rapor kelas 7 – ganjil.pdf",
                     "application/pdf", PDF)], inline=[("logo@x", "image/png", PNG)])
    parsed = parse(raw)
    inline, attached = parsed.attachments
    assert (inline.filename, inline.content_id, inline.inline, inline.content) == ("", "logo@x", True, PNG)
    assert (attached.filename, attached.inline, attached.content) == ("Rapor kelas 7 – ganjil.pdf", False, PDF)
    assert "cid:logo@x" in parsed.html and parsed.text.strip() == "Terlampir."


@pytest.mark.parametrize("raw, reason", [
    (b"", "empty message"),
    (b"  \r\n", "empty message"),
    (b"\r\n\r\njust a body", "no header fields"),
    (b"Subject: no sender\r\n\r\nx", "no sender address in From or the envelope"),
    (b"From: undisclosed-recipients:;\r\n\r\nx", "no sender address in From or the envelope"),
])
def test_mail_that_cannot_be_read_or_answered_is_malformed(raw, reason):
    with pytest.raises(Malformed) as caught:
        parse(raw)
    assert caught.value.reason == reason


def test_deeply_nested_multiparts_are_malformed_not_a_crash():
    depth = 2000
    head = b"From: a@sekolah.test\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
    body = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (n, n + 1) for n in range(depth))
    try:
        parse(head + body)
    except Malformed as stop:
        assert stop.reason.startswith("unparseable")


def test_nul_characters_long_names_and_undecodable_bytes_come_out_storable():
    raw = b'From: "' + b"N" * 300 + b'" <a@sekolah.test>\r\nSubject: nul\x00here \xff\r\n\r\nisi\x00 \xff\r\n'
    parsed = parse(raw)
    assert len(parsed.from_name) == 200 and "\x00" not in parsed.subject + parsed.text
    (parsed.subject + parsed.text + parsed.from_name).encode("utf-8")


def test_an_overlong_sender_address_is_no_address():
    with pytest.raises(Malformed):
        parse(b"From: " + b"x" * 300 + b"@sekolah.test\r\n\r\nisi\r\n")


def test_the_lighter_parser_reads_every_corpus_message_as_mail_parser_does(monkeypatch):
    """parse.MailParser leaves out mail-parser's dicts of the whole message,
    and the screened headers are read by name: what parse() returns is the same."""
    files = mail_corpus()
    raws = [path.read_bytes() for path in files]

    def outcome(raw):
        try:
            return parse(raw, "envelope@sekolah.test")
        except Malformed as stop:
            return stop.reason

    lighter = [outcome(raw) for raw in raws]
    monkeypatch.setattr(parsing, "MailParser", mailparser.MailParser)
    assert [outcome(raw) for raw in raws] == lighter
    screened = 0
    for raw, light in zip(raws, lighter):
        if isinstance(light, str):
            continue
        everything = mailparser.parse_from_bytes(raw).headers  # each header decoded
        expected = {key.lower(): " ".join(parsing._text(value).split()) for key, value in everything.items()
                    if key.lower() in SCREENED_HEADERS}
        assert {key: value for key, value in expected.items() if value} == dict(light.headers)
        screened += len(light.headers)
    assert screened > len(raws)  # Content-Type at least, mostly


def test_address_headers_read_once_per_value_read_as_mail_parser_reads_them():
    """parse.remembered_addresses, which mail-parser calls for every address
    header, gives what mail-parser's own gives, diagnostics included, the
    first time and from what it kept; what a caller does to them stays its own."""
    values = ["helpdesk@helpdesk.test", "Budi <budi@sekolah.test>", '"Santoso, Budi" <b@s.test>, c@d.test',
              "a@b, (broken", "<a@b> <c@d>", "x@y@z", "=?utf-8?q?S=C3=AAno?= <s@t.test>", "", "undisclosed:;",
              "a" * 2000 + "@long.test"]
    for path in mail_corpus():
        message = mailparser.parse_from_bytes(path.read_bytes()).message
        for name in ("from", "to", "cc", "reply-to"):
            values += [str(value) for value in message.get_all(name) or []]
    for value in values:
        for _ in range(2):
            mine, theirs = [], []
            assert parsing.remembered_addresses(value, defects=mine, decode_names=True) == \
                parsing._library_get_addresses(value, defects=theirs, decode_names=True)
            assert mine == theirs
            for defect in mine:
                defect["header"] = "changed by the caller"
    assert parsing._addresses_once.cache_info().hits > 0
    assert all("header" not in defect for _, kept in [parsing._addresses_once(v, True) for v in values[:9]]
               for defect in kept)


def test_a_parts_last_line_end_is_found_as_email_finds_it():
    """parse.LineEndAtEnd, which email's feed parser uses in place of its
    NLCRE_eol, finds the same line end at the end of any text: every string
    of up to six of the characters that matter, and a long one."""
    assert isinstance(email.feedparser.NLCRE_eol, parsing.LineEndAtEnd)
    searched = 0
    for length in range(7):
        for letters in itertools.product("a\r\n.", repeat=length):
            text = "".join(letters)
            theirs, mine = _LINE_END.search(text), parsing.LineEndAtEnd().search(text)
            assert (mine and mine.group(0)) == (theirs and theirs.group(0)), repr(text)
            searched += 1
    assert searched == sum(4 ** length for length in range(7))
    assert parsing.LineEndAtEnd().search("x" * 100_000 + "\r\n").group(0) == "\r\n"


_LINE_END = re.compile(r"(\r\n|\r|\n)\Z")  # email.feedparser's own


def test_messages_parse_to_the_same_parts_with_either_line_end_search():
    """The corpus, a message with attachments, and a Unix From line with a
    preamble and an epilogue in each kind of line end: the same parts,
    preambles, epilogues and payloads with email's own search as with ours."""
    def structure(raw):
        message = email.message_from_bytes(raw)
        return [(part.get_content_type(), part.preamble, part.epilogue, part.get_payload(decode=True))
                for part in message.walk()]

    raws = [with_parts(html="<p>Terlampir</p>", files=[("rapor.pdf", "application/pdf", PDF)],
                       inline=[("logo", "image/png", PNG)])]
    for end in ("\r\n", "\n", "\r"):
        raws.append(end.join(["From budi@sekolah.test Mon Jan  1 00:00:00 2026", "From: <budi@sekolah.test>",
                              'Content-Type: multipart/mixed; boundary="b"', "", "preamble", "", "--b",
                              "Content-Type: text/plain", "", "text", "", "--b--", "epilogue", ""]).encode())
    raws += [path.read_bytes() for path in mail_corpus()]
    ours = [structure(raw) for raw in raws]
    try:
        email.feedparser.NLCRE_eol = _LINE_END
        assert [structure(raw) for raw in raws] == ours
    finally:
        email.feedparser.NLCRE_eol = parsing.LineEndAtEnd()
