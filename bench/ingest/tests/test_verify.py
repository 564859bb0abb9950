import verify


def line(kind, message_id, ticket_of, **extra):
    return {"kind": kind, "message_id": message_id, "ticket_of": ticket_of, **extra}


MANIFEST = [line("new", "<a>", "<a>"), line("new", "<b>", "<b>"), line("html", "<c>", "<c>"),
            line("reply", "<r1>", "<a>"), line("reply", "<r2>", "<b>"),
            line("reply", "<r3>", "<a>"), line("ack_reply", "<r4>", "<c>", ticket_ref="T3")]


def test_reply_on_its_thread_ticket_is_right_and_elsewhere_wrong_or_missing():
    tickets = {"<a>": "T1", "<b>": "T2", "<c>": "T3", "<r1>": "T1", "<r2>": "T1", "<r4>": "T3"}
    found = verify.score(MANIFEST, tickets)
    assert (found["replies_right"], found["replies_wrong"], found["replies_missing"]) == (2, 1, 1)
    assert found["replies_right_share"] == 0.5
    assert found["originals_merged"] == 0
    assert found["by_kind"] == {"reply": {"right": 1, "wrong": 1, "missing": 1},
                                "ack_reply": {"right": 1}}


def test_two_new_mails_on_one_ticket_count_as_merged():
    tickets = {"<a>": "T1", "<b>": "T1", "<c>": "T3"}
    assert verify.score(MANIFEST, tickets)["originals_merged"] == 1


def test_export_lines_map_inbound_message_ids_to_refs(tmp_path):
    export = tmp_path / "export.jsonl"
    export.write_text(
        '{"ref": "T1", "messages": [{"direction": "in", "message_id": "<a>"},'
        ' {"direction": "out", "message_id": "<ack>"}]}\n'
        '{"ref": "T2", "messages": [{"direction": "in", "message_id": " <b> "}]}\n')
    assert verify.tickets_from_export(export) == {"<a>": "T1", "<b>": "T2"}
