"""What every round of ours shares: a fresh data dir with the corpus's
directory, the `helpdesk` command in it, and threading read back from
`helpdesk export`."""

import collections
import os
import re
import subprocess
import sys
from pathlib import Path

import verify

ROOT = Path(__file__).resolve().parent.parent.parent
HELPDESK = [sys.executable, "-c", "from cli import main; main()"]


def fresh_env(data: Path) -> dict[str, str]:
    """The embedded defaults in `data`: SQLite, the folder broker, no relay
    (outgoing mail is written to files)."""
    env = {**os.environ, "HELPDESK_DATA_DIR": str(data), "HELPDESK_DATABASE_URL": f"sqlite:///{data}/helpdesk.db",
           "HELPDESK_ADDRESS": "helpdesk@localhost"}
    for key in ("HELPDESK_SECRET_KEY", "HELPDESK_BROKER_URL", "HELPDESK_SMTP_RELAY"):
        env.pop(key, None)
    return env


def helpdesk(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*HELPDESK, *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True)


def prepare(env: dict[str, str], directory_csv: Path) -> None:
    helpdesk(env, "init-db")
    helpdesk(env, "import-directory", str(directory_csv))


def threading_score(env: dict[str, str], data: Path, manifest: list[dict]) -> dict:
    export = data / "export.jsonl"
    export.write_text(helpdesk(env, "export", "--format", "jsonl").stdout, encoding="utf-8")
    return verify.score(manifest, verify.tickets_from_export(export))


def mails_per_process(log: str) -> list[int]:
    """How many mails each SMTP server process took (the connections are dealt out in turn)."""
    return sorted(collections.Counter(re.findall(r"smtpd\[(\d+)\] INFO 250 ", log)).values())
