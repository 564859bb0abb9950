import email
from email import policy
from email.message import EmailMessage

import acks
import mailgen


def write_ack(folder, number, original_id, ref):
    ack = EmailMessage()
    ack["From"] = "helpdesk@localhost"
    ack["Subject"] = f"[{ref}] Laporan diterima"
    ack["Message-ID"] = f"<ack{number}@helpdesk.localhost>"
    ack["In-Reply-To"] = original_id
    ack.set_content("Laporan Anda telah kami terima.")
    (folder / f"{number:04d}.eml").write_bytes(ack.as_bytes())


def test_replies_to_acks_carry_the_ref_and_answer_the_ack(corpus, tmp_path):
    originals = [line for line in mailgen.read_manifest(corpus) if line["kind"] != "reply"][:5]
    outgoing = tmp_path / "outgoing"
    outgoing.mkdir()
    for number, line in enumerate(originals):
        write_ack(outgoing, number, line["message_id"], f"JTG-{number:05d}")

    found = acks.find_acks(outgoing, corpus)
    written = acks.make_replies(corpus, found, out_dir=tmp_path / "phase2")

    assert found[originals[0]["message_id"]] == ("JTG-00000", "<ack0@helpdesk.localhost>")
    assert [line["ticket_of"] for line in written] == [line["ticket_of"] for line in originals]
    for line, original in zip(written, originals):
        message = email.message_from_bytes((tmp_path / "phase2" / line["file"]).read_bytes(),
                                           policy=policy.default)
        assert message["Subject"] == f"Re: [{line['ticket_ref']}] {original['subject']}"
        assert message["In-Reply-To"] == found[original["message_id"]][1]
        assert message["References"].split()[0] == original["message_id"]
        assert message["From"].addresses[0].addr_spec == original["sender"]
    assert mailgen.read_manifest(tmp_path / "phase2") == written


def test_acks_to_replies_or_strangers_are_not_taken(corpus, tmp_path):
    reply = next(line for line in mailgen.read_manifest(corpus) if line["kind"] == "reply")
    write_ack(tmp_path, 1, reply["message_id"], "JTG-1")
    write_ack(tmp_path, 2, "<unknown@elsewhere>", "JTG-2")
    assert acks.find_acks(tmp_path, corpus) == {}
