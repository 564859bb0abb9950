"""Score core.content.quotes.display_text on the shared reply corpus.

    .venv/bin/python bench/reply_score.py [PRODUCED_DIR] [--verbose]

Writes NAME.produced.txt for every NAME.eml of ../shared/corpora/replies into
PRODUCED_DIR (a fresh temp dir by default), then runs the corpus's own
score.py on them, so the figure is the one its README defines.
"""
from __future__ import annotations

import argparse
import email
import subprocess
import sys
import tempfile
from email import policy
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.content.quotes import display_text  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "replies"


def read_bodies(raw: bytes) -> tuple[str, str | None]:
    """Return (plain text, html) the way the inbound pipeline hands them over."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    plain = msg.get_body(preferencelist=("plain",))
    if plain is not None:
        return plain.get_content(), None
    html = msg.get_body(preferencelist=("html",))
    return "", html.get_content() if html is not None else ""


def produce(corpus: Path, out: Path) -> None:
    for eml in sorted(corpus.glob("*.eml")):
        text, html = read_bodies(eml.read_bytes())
        produced = display_text(text, html=html) + "\n"
        out.joinpath(eml.stem + ".produced.txt").write_text(produced, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("produced_dir", nargs="?")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()
    out = Path(args.produced_dir or tempfile.mkdtemp(prefix="reply_score_"))
    out.mkdir(parents=True, exist_ok=True)
    produce(CORPUS, out)
    cmd = [sys.executable, str(CORPUS / "score.py"), str(CORPUS), str(out)] + (["-v"] if args.verbose else [])
    print(f"produced in {out}")
    for extra in ([], ["--strict-only"]):
        subprocess.run(cmd + extra, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
