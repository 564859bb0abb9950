"""Check where a server put each mail against the corpus manifest.

Any server under test reduces to one mapping, Message-ID -> ticket (a REF, a
database id: whatever the server calls it). A reply is right when it sits on
the same ticket as the mail that opened its thread (`ticket_of`) and, for
replies to acknowledgements, on the ticket the acknowledgement announced.
"""

import json
from collections import Counter
from pathlib import Path

REPLY_KINDS = ("reply", "ack_reply")


def tickets_from_export(export_jsonl: Path) -> dict[str, str]:
    """Message-ID -> REF from `helpdesk export --format jsonl`."""
    tickets = {}
    with Path(export_jsonl).open(encoding="utf-8") as lines:
        for line in lines:
            ticket = json.loads(line)
            for message in ticket["messages"]:
                if message.get("direction") == "in" and message.get("message_id"):
                    tickets[message["message_id"].strip()] = ticket["ref"]
    return tickets


def score(manifest: list[dict], ticket_of_message: dict[str, object]) -> dict:
    """Counts of replies on the right ticket, wrong ticket, or nowhere.

    Also split by kind: phase-one replies ("reply", threaded only by the
    customer's own Message-ID) and replies to acknowledgements ("ack_reply",
    carrying [REF] and the product's Message-ID) test different rules.
    """
    originals = [line for line in manifest if line["kind"] not in REPLY_KINDS]
    by_kind = {kind: Counter() for kind in REPLY_KINDS}
    for reply in (line for line in manifest if line["kind"] in REPLY_KINDS):
        landed = ticket_of_message.get(reply["message_id"])
        expected = reply.get("ticket_ref") or ticket_of_message.get(reply["ticket_of"])
        if landed is None or expected is None:
            by_kind[reply["kind"]]["missing"] += 1
        else:
            by_kind[reply["kind"]]["right" if str(landed) == str(expected) else "wrong"] += 1
    total = sum(by_kind.values(), Counter())
    replies = total.total()
    opened = Counter(ticket_of_message.get(line["message_id"]) for line in originals)
    return {
        "originals": len(originals),
        "originals_stored": len(originals) - opened.pop(None, 0),
        # Two new mails on one ticket means the server threaded a stranger in.
        "originals_merged": sum(count - 1 for count in opened.values() if count > 1),
        "replies": replies, "replies_right": total["right"],
        "replies_wrong": total["wrong"], "replies_missing": total["missing"],
        "replies_right_share": round(total["right"] / replies, 4) if replies else None,
        "by_kind": {kind: dict(counts) for kind, counts in by_kind.items() if counts},
    }
