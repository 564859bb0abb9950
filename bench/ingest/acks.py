"""The corpus's second phase: customers answering the helpdesk's acknowledgements.

The product threads a reply by the [REF] tag in its subject or by
In-Reply-To/References against the Message-IDs the product itself sent, so the
replies that must land on the right ticket answer the acknowledgement, not
the customer's own first mail. After phase one is ingested:

    acks = find_acks(data_dir / "outgoing", corpus_dir)
    manifest = make_replies(corpus_dir, acks)   # writes corpus_dir/ack-replies/

and blast corpus_dir/ack-replies/*.eml. Each reply says "Re: [REF] <subject>",
In-Reply-To the ack's Message-ID, References the original and the ack; its
manifest line carries kind "ack_reply", ticket_of (the original's Message-ID)
and ticket_ref (the REF the ack announced).
"""

import random
import re
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path

import compose
import mailgen
import texts

REF_TAG = re.compile(r"\[([^\]\s]+)\]")


def find_acks(outgoing_dir: Path, corpus_dir: Path) -> dict[str, tuple[str, str]]:
    """Map each original mail's Message-ID to (REF, ack Message-ID) from sent mail."""
    originals = {line["message_id"] for line in mailgen.read_manifest(corpus_dir)
                 if line["kind"] != "reply"}
    acks: dict[str, tuple[str, str]] = {}
    for path in sorted(Path(outgoing_dir).glob("*.eml")):
        with path.open("rb") as raw:
            headers = BytesHeaderParser().parse(raw)
        answered = (headers.get("In-Reply-To") or "").strip()
        tag = REF_TAG.search(str(headers.get("Subject", "")))
        if answered in originals and tag and answered not in acks:
            acks[answered] = (tag.group(1), headers["Message-ID"].strip())
    return acks


def make_replies(corpus_dir: Path, original_to_ack: dict[str, tuple[str, str]],
                 out_dir: Path | None = None, seed: int = mailgen.SEED) -> list[dict]:
    """Write one reply per acknowledged original; return their manifest."""
    corpus_dir = Path(corpus_dir)
    manifest = mailgen.read_manifest(corpus_dir)
    rng = random.Random(seed + 2)
    when = datetime.fromisoformat(manifest[-1]["date"])
    drafts, refs = [], []
    for line in manifest:
        if line["message_id"] not in original_to_ack or line["kind"] == "reply":
            continue
        ref, ack_id = original_to_ack[line["message_id"]]
        when += timedelta(seconds=rng.randint(5, 240))
        drafts.append(answer_ack(len(manifest) + len(drafts) + 1, line, ref, ack_id, when, rng))
        refs.append(ref)
    out = Path(out_dir) if out_dir else corpus_dir / "ack-replies"
    return mailgen.write_corpus(out, drafts, [{"ticket_ref": ref} for ref in refs])


def answer_ack(index: int, original: dict, ref: str, ack_id: str, when: datetime,
               rng: random.Random) -> compose.Draft:
    school = mailgen.School(original["school"], original["school_name"], "",
                            original["sender"], original["contact"])
    non_ascii = not school.contact.isascii()
    text = (mailgen.invent_body(school, non_ascii, texts.REPLY_SENTENCES, rng)
            + f"\nPada {when.strftime('%d/%m/%Y')}, Helpdesk <{mailgen.HELPDESK}> menulis:\n"
            + f"> Laporan Anda telah kami terima dengan nomor [{ref}].\n")
    subject = f"Re: [{ref}] {original['subject']}"
    charset, cte, header_enc = mailgen.pick_encoding(not (subject + text).isascii(), rng)
    if charset == "iso-8859-1" and not mailgen.fits_latin1(subject + text):
        charset = "utf-8"
    domain = school.email.split("@")[1]
    return compose.Draft(
        index=index, kind="ack_reply", school=school, subject=subject, text=text,
        message_id=f"<{index:05d}.{rng.getrandbits(48):012x}@{domain}>",
        in_reply_to=ack_id, references=[original["message_id"], ack_id],
        ticket_of=original["ticket_of"], date=when, charset=charset, cte=cte,
        header_enc=header_enc, non_ascii=charset != "us-ascii", to=mailgen.HELPDESK,
    )
