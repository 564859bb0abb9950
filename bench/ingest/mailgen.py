"""Generate a seeded corpus of inbound helpdesk mail, its manifest and directory.

    python bench/ingest/mailgen.py OUT_DIR [--count 2000] [--schools 200] [--seed N]

writes OUT_DIR/00001.eml ... in sending order, OUT_DIR/manifest.jsonl (one
line per mail, see `describe`) and OUT_DIR/directory.csv (the ministry, one
province, its cities and the schools that send the mail, in the columns of
`helpdesk import-directory`). The same seed gives byte-identical files.

The mix: 60% new tickets (plain text), 25% replies, 10% HTML, 5% with a
100-500 KB attachment; a third of all mails carry non-ASCII text (RFC 2047
subjects and names, UTF-8 or ISO-8859-1 bodies, quoted-printable, base64 or
8bit). A phase-one reply answers an earlier mail of the same school, as a
customer answering their own first mail would: "Re: <subject>" and
In-Reply-To/References to that mail's Message-ID, no reference tag.
acks.make_replies writes the second phase: replies to the helpdesk's
acknowledgements, "Re: [REF] <subject>" with In-Reply-To the ack's Message-ID.
"""

import argparse
import csv
import json
import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compose  # noqa: E402
import texts  # noqa: E402

SEED = 20260302
HELPDESK = "helpdesk@localhost"
WIB = timezone(timedelta(hours=7))
MIX = {"reply": 0.25, "html": 0.10, "attachment": 0.05}  # the rest is "new"


@dataclass(frozen=True)
class School:
    code: str
    name: str
    city_code: str
    email: str
    contact: str


def make_schools(count: int, rng: random.Random) -> list[School]:
    schools = []
    for i in range(count):
        city_code, _, places = texts.CITIES[i % len(texts.CITIES)]
        label, slug = texts.SCHOOL_KINDS[(i // len(texts.CITIES)) % len(texts.SCHOOL_KINDS)]
        place = places[(i // 25) % len(places)]
        number = i // 100 + 1
        name = f"{label} {number} {place}"
        email = f"{slug}{number}.{place.lower().replace(' ', '')}@sekolah.example.org"
        # Every third school's contact has a Javanese spelling: their mail is
        # the non-ASCII third of the corpus, replies included.
        contact = rng.choice(texts.NAMES_ACCENTED if i % 3 == 0 else texts.NAMES_ASCII)
        schools.append(School(f"2033{i:04d}", name, city_code, email, contact))
    return schools


def write_directory(path: Path, schools: list[School]) -> None:
    code, name = texts.PROVINCE
    with path.open("w", newline="", encoding="utf-8") as out:
        rows = csv.writer(out)
        rows.writerow(["code", "name", "kind", "parent_code", "email"])
        rows.writerow(["MIN", "Kementerian Pendidikan Dasar dan Menengah", "ministry", "", ""])
        rows.writerow([code, name, "province", "MIN", ""])
        for city_code, city_name, _ in texts.CITIES:
            rows.writerow([city_code, city_name, "city", code, ""])
        for school in schools:
            rows.writerow([school.code, school.name, "school", school.city_code, school.email])


def plan_kinds(count: int, rng: random.Random) -> list[str]:
    kinds = [kind for kind, share in MIX.items() for _ in range(round(count * share))]
    kinds += ["new"] * (count - len(kinds))
    rng.shuffle(kinds)
    # A reply needs an earlier mail to answer: bring the first original forward.
    first = next(i for i, kind in enumerate(kinds) if kind != "reply")
    kinds[0], kinds[first] = kinds[first], kinds[0]
    return kinds


def pick_encoding(non_ascii: bool, rng: random.Random) -> tuple[str, str, str]:
    """(charset, body transfer encoding, header encoding) for one mail."""
    if not non_ascii:
        return "us-ascii", "7bit", "q"
    charset = rng.choice(["utf-8", "utf-8", "iso-8859-1"])
    # 8bit Latin-1 on disk is not text any reader can open; real clients send it
    # as quoted-printable or base64, and so does this corpus.
    ctes = ["quoted-printable", "base64"] + (["8bit"] if charset == "utf-8" else [])
    return charset, rng.choice(ctes), rng.choice(["q", "b"])


def invent_subject(non_ascii: bool, charset: str, rng: random.Random) -> str:
    subject = rng.choice(texts.TOPICS).format(n=rng.randint(1, 6))
    if non_ascii:
        tails = texts.ACCENTED_TAILS + (texts.UTF_ONLY if charset == "utf-8" else [])
        subject += " " + rng.choice(tails).format(n=rng.randint(1, 6))
    return subject


def invent_body(school: School, non_ascii: bool, pool: list[str], rng: random.Random) -> str:
    sentences = rng.sample(pool, rng.randint(2, 4))
    if non_ascii:
        sentences.append(rng.choice(texts.ACCENTED_SENTENCES))
    return "\n".join(["Yth. Tim Helpdesk,", "", " ".join(sentences), "",
                      "Hormat kami,", school.contact, f"Operator {school.name}",
                      f"NPSN {school.code}"]) + "\n"


def quote(original: "compose.Draft") -> str:
    stamp = original.date.strftime("%d/%m/%Y %H.%M")
    lines = original.text.rstrip("\n").split("\n")
    return f"Pada {stamp}, {original.sender} menulis:\n" + "\n".join("> " + x for x in lines) + "\n"


def draft_mail(index: int, kind: str, non_ascii: bool, when: datetime, schools: list[School],
               earlier: list["compose.Draft"], rng: random.Random) -> "compose.Draft":
    if kind == "reply":
        parent = rng.choice([d for d in earlier if d.kind != "reply"])
        thread = [d for d in earlier if d.ticket_of == parent.message_id]
        parent = thread[-1] if rng.random() < 0.3 else parent  # sometimes answer own reply
        school = parent.school
        non_ascii = not school.contact.isascii()
        subject = "Re: " + parent.subject.removeprefix("Re: ")
        text = invent_body(school, non_ascii, texts.REPLY_SENTENCES, rng) + "\n" + quote(parent)
        references = parent.references + [parent.message_id]
        ticket_of, in_reply_to = parent.ticket_of, parent.message_id
    else:
        school = rng.choice([s for s in schools if s.contact.isascii() != non_ascii] or schools)
        subject = invent_subject(non_ascii, "utf-8" if rng.random() < 0.7 else "latin-1", rng)
        text = invent_body(school, non_ascii, texts.SENTENCES, rng)
        references, ticket_of, in_reply_to = [], None, None
    # A quoted parent or a contact's name can make a mail non-ASCII unplanned.
    non_ascii = not (subject + text + school.contact).isascii()
    charset, cte, header_enc = pick_encoding(non_ascii, rng)
    if charset == "iso-8859-1" and not fits_latin1(subject + text):
        charset = "utf-8"
    domain = school.email.split("@")[1]
    message_id = f"<{index:05d}.{rng.getrandbits(48):012x}@{domain}>"
    return compose.Draft(
        index=index, kind=kind, school=school, subject=subject, text=text,
        message_id=message_id, in_reply_to=in_reply_to, references=references,
        ticket_of=ticket_of or message_id, date=when, charset=charset, cte=cte,
        header_enc=header_enc, non_ascii=non_ascii, to=HELPDESK,
        html_only=kind == "html" and rng.random() < 1 / 3,
        remote_image=kind == "html" and rng.random() < 1 / 3,
        attachment=compose.invent_attachment(rng) if kind == "attachment" else None,
    )


def fits_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def describe(draft: "compose.Draft", size: int) -> dict:
    """One manifest line: enough to check where each mail must land."""
    return {"file": draft.filename, "kind": draft.kind, "sender": draft.school.email,
            "contact": draft.school.contact, "school": draft.school.code,
            "school_name": draft.school.name, "date": draft.date.isoformat(),
            "message_id": draft.message_id,
            "subject": draft.subject, "in_reply_to": draft.in_reply_to,
            "references": draft.references, "ticket_of": draft.ticket_of,
            "non_ascii": draft.non_ascii, "charset": draft.charset,
            "transfer_encoding": draft.cte, "size": size}


def write_corpus(out_dir: Path, drafts: list["compose.Draft"],
                 extras: list[dict] | None = None) -> list[dict]:
    """Write the .eml files and manifest.jsonl; `extras` adds fields per line."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = []
    for draft, extra in zip(drafts, extras or [{}] * len(drafts)):
        raw = compose.render(draft)
        (out_dir / draft.filename).write_bytes(raw)
        manifest.append(describe(draft, len(raw)) | extra)
    with (out_dir / "manifest.jsonl").open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in manifest)
    return manifest


def generate(out_dir: Path, count: int = 2000, seed: int = SEED,
             schools: list[School] | None = None, school_count: int = 200) -> list[dict]:
    """Write the corpus, manifest.jsonl and directory.csv; return the manifest.

    `schools` are the registered senders; by default `school_count` are made up.
    """
    schools = schools or make_schools(school_count, random.Random(seed))
    rng = random.Random(seed + 1)
    when = datetime(2026, 3, 2, 7, 30, tzinfo=WIB)
    non_ascii = set(rng.sample(range(count), count // 3))
    drafts: list[compose.Draft] = []
    for index, kind in enumerate(plan_kinds(count, rng), start=1):
        when += timedelta(seconds=rng.randint(5, 240))
        drafts.append(draft_mail(index, kind, index - 1 in non_ascii, when, schools, drafts, rng))
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_directory(Path(out_dir) / "directory.csv", schools)
    return write_corpus(Path(out_dir), drafts)


def read_manifest(corpus_dir: Path) -> list[dict]:
    with (Path(corpus_dir) / "manifest.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--schools", type=int, default=200)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    manifest = generate(args.out_dir, args.count, args.seed, school_count=args.schools)
    print(f"{len(manifest)} mails in {args.out_dir}")


if __name__ == "__main__":
    main()
