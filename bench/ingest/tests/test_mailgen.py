import csv
import email
from collections import Counter
from email import policy

import mailparser

import mailgen


def test_same_seed_writes_byte_identical_corpus(tmp_path):
    mailgen.generate(tmp_path / "a", count=40, school_count=10)
    mailgen.generate(tmp_path / "b", count=40, school_count=10)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_kinds_follow_the_issue_mix_and_a_third_is_non_ascii(corpus):
    manifest = mailgen.read_manifest(corpus)
    assert Counter(line["kind"] for line in manifest) == {
        "new": 120, "reply": 50, "html": 20, "attachment": 10}
    share = sum(line["non_ascii"] for line in manifest) / len(manifest)
    assert 0.25 < share < 0.42
    assert {line["charset"] for line in manifest} == {"us-ascii", "utf-8", "iso-8859-1"}
    encodings = {line["transfer_encoding"] for line in manifest}
    assert {"quoted-printable", "base64", "8bit"} <= encodings


def test_every_reply_answers_an_earlier_mail_of_its_own_sender(corpus):
    manifest = mailgen.read_manifest(corpus)
    seen = {}
    for line in manifest:
        if line["kind"] == "reply":
            parent = seen[line["in_reply_to"]]
            assert parent["sender"] == line["sender"]
            assert line["ticket_of"] == parent["ticket_of"]
            assert line["references"][-1] == parent["message_id"]
            assert line["subject"] == "Re: " + seen[line["ticket_of"]]["subject"]
        else:
            assert line["ticket_of"] == line["message_id"]
        seen[line["message_id"]] = line


def test_every_mail_parses_to_the_subject_and_sender_in_the_manifest(corpus):
    for line in mailgen.read_manifest(corpus):
        raw = (corpus / line["file"]).read_bytes()
        assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
        parsed = mailparser.parse_from_bytes(raw)
        assert parsed.subject == line["subject"]
        assert parsed.from_[0][1] == line["sender"]
        assert parsed.text_plain or parsed.text_html
        message = email.message_from_bytes(raw, policy=policy.default)
        assert message["Message-ID"] == line["message_id"]
        assert message["In-Reply-To"] == line["in_reply_to"]


def test_attachments_weigh_100_to_500_kb_and_keep_their_names(corpus):
    attached = [line for line in mailgen.read_manifest(corpus) if line["kind"] == "attachment"]
    for line in attached:
        raw = (corpus / line["file"]).read_bytes()
        message = email.message_from_bytes(raw, policy=policy.default)
        (part,) = list(message.iter_attachments())
        assert 100_000 <= len(part.get_content()) <= 500_000
        assert part.get_filename().rsplit(".", 1)[1] in {"pdf", "jpg", "xlsx", "docx"}


def test_directory_has_every_sender_as_a_school_under_a_city(corpus):
    with (corpus / "directory.csv").open(encoding="utf-8") as rows:
        directory = list(csv.DictReader(rows))
    kinds = {row["code"]: row["kind"] for row in directory}
    assert [row["code"] for row in directory if not row["parent_code"]] == ["MIN"]
    schools = {row["email"]: row for row in directory if row["kind"] == "school"}
    assert {line["sender"] for line in mailgen.read_manifest(corpus)} <= schools.keys()
    assert {kinds[row["parent_code"]] for row in schools.values()} == {"city"}
    assert {kinds[row["parent_code"]] for row in directory if row["kind"] == "city"} == {"province"}
