"""`helpdesk ingest`, `helpdesk mail-log` and `helpdesk reprocess` on a real database."""
from __future__ import annotations

import json

from click.testing import CliRunner

from cli import main
from tests.mailin.mails import mail


def run(db, *args, stdin: bytes | None = None):
    env = {"HELPDESK_DATA_DIR": str(db.settings.data_dir), "HELPDESK_DATABASE_URL": db.settings.database_url,
           "HELPDESK_SECRET_KEY": db.settings.secret_key, "HELPDESK_ADDRESS": db.settings.address}
    return CliRunner().invoke(main, list(args), input=stdin, env=env, catch_exceptions=False)


def test_ingest_prints_one_line_per_file_with_its_outcome_and_ref(db, tmp_path):
    first, broken = tmp_path / "a.eml", tmp_path / "b.eml"
    first.write_bytes(mail(message_id="<cli@sekolah.test>"))
    broken.write_bytes(b"Subject: nobody\r\n\r\nx\r\n")
    result = run(db, "ingest", str(first), str(first), str(broken))
    assert result.exit_code == 0
    lines = [line.split("\t") for line in result.output.splitlines()]
    assert [line[:2] for line in lines] == [[str(first), "new_ticket"], [str(first), "duplicate"],
                                            [str(broken), "quarantined"]]
    assert lines[0][2].startswith("HD-") and lines[1][2] == lines[0][2] and lines[2][2] == "-"


def test_ingest_reads_standard_input_for_a_dash(db):
    result = run(db, "ingest", "-", stdin=mail())
    assert result.output.startswith("-\tnew_ticket\tHD-")


def test_mail_log_has_one_json_line_per_raw_message(db, tmp_path):
    (tmp_path / "a.eml").write_bytes(mail(message_id="<log@sekolah.test>"))
    run(db, "ingest", str(tmp_path / "a.eml"), str(tmp_path / "a.eml"))
    rows = [json.loads(line) for line in run(db, "mail-log", "--format", "jsonl").output.splitlines()]
    assert [row["outcome"] for row in rows] == ["new_ticket", "duplicate"]
    assert set(rows[0]) >= {"id", "received_at", "envelope_from", "message_id", "sha256", "size", "outcome",
                            "ticket_ref", "reason"}
    assert rows[0]["message_id"] == "<log@sekolah.test>" and rows[0]["ticket_ref"] == rows[1]["ticket_ref"]


def test_reprocess_refuses_mail_that_was_processed(db, tmp_path):
    (tmp_path / "a.eml").write_bytes(mail())
    run(db, "ingest", str(tmp_path / "a.eml"))
    result = CliRunner().invoke(main, ["reprocess", "1"], env={
        "HELPDESK_DATA_DIR": str(db.settings.data_dir), "HELPDESK_DATABASE_URL": db.settings.database_url})
    assert result.exit_code == 1 and "processed already" in result.output
