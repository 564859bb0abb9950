"""The attachment check's cost per mail on the ingest corpus, before and
after archives were held to budgets, in the same run.

Generates the ingest corpus (bench/ingest/mailgen.py), parses every mail
once, then times the check of each mail's attachments, per round: `before`
is the check as it was (kept here only: every zip member that might be an
archive inflated up to 20 MB, no budgets), `after` is core.content.
attachments.check. The corpus's attachments are 100-500 KB PDFs, JPEGs and
Office files; a second set, `office`, has real zip containers (an xlsx of
20,000 rows, a docx, a zip of both) since the corpus's Office files are
random bytes behind a zip signature. Reports medians of the rounds.

    .venv/bin/python bench/attachment_check_bench.py [--count 2000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench" / "ingest")]

import mailgen  # noqa: E402

from core.config.policy import Policy  # noqa: E402
from core.content import attachments  # noqa: E402
from core.content.archives import PROGRAM_EXTENSIONS, is_program  # noqa: E402
from core.content.attachments import AttachmentRules, Refused, check, rules_for, safe_filename, sniff  # noqa: E402
from core.content.filenames import extension_of  # noqa: E402
from mailin.parse import parse  # noqa: E402
from tests.bombs import deflated as packed  # noqa: E402


def check_before(filename: str, content: bytes, rules: AttachmentRules) -> tuple[str, str]:
    """The check before archive budgets: the same steps, and the old look into zips."""
    if len(content) > rules.max_bytes:
        raise Refused("larger than the limit")
    if not content:
        raise Refused("the file is empty")
    name, sniffed = safe_filename(filename), sniff(content)
    if sniffed == attachments.EXECUTABLE:
        raise Refused("content is an executable")
    extension = extension_of(name)
    if not extension and sniffed is not None:
        extension = attachments._extension_for(sniffed)
        name = f"{name}.{extension}" if extension else name
    if extension not in {e.lower().lstrip(".") for e in rules.allowed_extensions}:
        raise Refused("extension not allowed")
    if extension not in attachments._KNOWN:
        return name, sniffed or "application/octet-stream"
    declared, accepted = attachments._KNOWN[extension]
    if sniffed not in accepted:
        raise Refused("content disagrees with the name")
    if sniffed == "application/zip":
        _old_refuse_programs_inside(content)
    return name, declared if sniffed in attachments._GENERIC else sniffed


def _old_refuse_programs_inside(content: bytes, depth: int = 0) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for member in [m for m in archive.infolist() if not m.is_dir()][:10_000]:
                inner = safe_filename(member.filename)
                if extension_of(inner) in PROGRAM_EXTENSIONS:
                    raise Refused(f"the archive holds a program: {inner}")
                if member.flag_bits & 0x1:
                    continue
                limit = 20 * 1024 * 1024 if depth == 0 else 64
                whole = member.file_size <= limit and extension_of(member.filename) in {"zip", ""}
                with archive.open(member) as stream:
                    head = stream.read(limit if whole else 64)
                if is_program(head):
                    raise Refused(f"the archive holds a program: {inner}")
                if depth == 0 and head.startswith(b"PK\x03\x04"):
                    _old_refuse_programs_inside(head, depth + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError, ValueError, zlib.error):
        return


def corpus_attachments(count: int) -> list[list[tuple[str, bytes]]]:
    """Each mail's attachments (name, bytes), as the pipeline's parse gives them."""
    with tempfile.TemporaryDirectory() as tmp:
        mailgen.generate(Path(tmp), count=count)
        return [[(a.filename, a.content) for a in parse(path.read_bytes()).attachments]
                for path in sorted(Path(tmp).glob("*.eml"))]


def office_files() -> list[list[tuple[str, bytes]]]:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r * 7.25}</v></c></row>' for r in range(1, 20_001))
    xlsx = packed({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                   "xl/worksheets/sheet1.xml": f"<worksheet><sheetData>{rows}</sheetData></worksheet>".encode()})
    docx = packed({"[Content_Types].xml": b"<Types/>",
                   "word/document.xml": b"<w:document>" + b"<w:p><w:t>Laporan</w:t></w:p>" * 20_000 + b"</w:document>"})
    return [[("nilai.xlsx", xlsx)], [("surat.docx", docx)], [("arsip.zip", packed({"a.xlsx": xlsx, "b.docx": docx}))]]


def time_per_mail(mails: list[list[tuple[str, bytes]]], checker, rules: AttachmentRules) -> float:
    """Seconds of CPU per mail for checking every attachment of every mail once."""
    started = time.process_time()
    for files in mails:
        for name, content in files:
            try:
                checker(name, content, rules)
            except Refused:
                pass
    return (time.process_time() - started) / len(mails)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    rules = rules_for(Policy())
    corpus = corpus_attachments(args.count)
    with_files = [files for files in corpus if files]
    sets = {"corpus, all mails": corpus, "corpus, mails with files": with_files, "office": office_files()}
    print(f"{len(corpus)} mails, {len(with_files)} with attachments, {args.rounds} rounds")
    print(f"{'set':26} {'before us/mail':>15} {'after us/mail':>14} {'after/before':>13}")
    for label, mails in sets.items():
        before, after = [], []
        for _ in range(args.rounds):  # interleaved, so both see the same noise
            before.append(time_per_mail(mails, check_before, rules))
            after.append(time_per_mail(mails, check, rules))
        b, a = statistics.median(before), statistics.median(after)
        print(f"{label:26} {b * 1e6:15.1f} {a * 1e6:14.1f} {a / b:13.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
