"""Feed a corpus through django-helpdesk 2.6.1's own email ingest; time it.

    .peer-venv/bin/python run_peer.py CORPUS_DIR [--assignments OUT.jsonl]

Run with the peer's virtualenv (setup.sh). Each run is one round on a fresh
SQLite database in a temp dir: migrate, create the queue, then for every
.eml in name order do exactly what `manage.py get_email` does per message for
a "local" mailbox (helpdesk.email.process_queue): read the file as text,
`extract_email_metadata(message, queue, logger)`, delete the file. Only that
loop is timed. Unlike process_queue, a message that raises is counted and
the loop goes on, and files go in name order (process_queue takes
os.listdir's order), so replies follow the mail they answer.

Prints {"messages", "seconds", "per_second", "errors", ...} as JSON; with
--assignments, writes one {"message_id", "ticket"} line per stored follow-up.
"""

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def prepare(work_dir: Path) -> None:
    os.environ["PEER_WORK_DIR"] = str(work_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def make_queue(mailbox: Path):
    from helpdesk.models import Queue

    return Queue.objects.create(
        title="Helpdesk", slug="helpdesk", email_address="helpdesk@localhost",
        allow_email_submission=True, email_box_type="local",
        email_box_local_dir=str(mailbox))


def quiet_logger() -> logging.Logger:
    # process_email does this for a queue whose logging_type is unset (the default).
    logger = logging.getLogger("django.helpdesk.queue.helpdesk")
    logger.handlers = []
    logger.propagate = False
    return logger


def ingest(mail: list[Path], queue, logger: logging.Logger) -> dict:
    from django.utils import encoding
    from helpdesk.email import extract_email_metadata
    from helpdesk.exceptions import DeleteIgnoredTicketException, IgnoreTicketException

    errors, ignored, samples = 0, 0, []
    started = time.perf_counter()
    for path in mail:
        try:
            with open(path, "r") as f:
                full_message = encoding.force_str(f.read(), errors="replace")
            ticket = extract_email_metadata(message=full_message, queue=queue, logger=logger)
        except (IgnoreTicketException, DeleteIgnoredTicketException):
            ignored += 1
        except Exception as failure:  # process_queue would abort the whole queue here
            errors += 1
            samples.append(f"{path.name}: {failure!r}"[:300])
        else:
            if ticket:
                os.unlink(path)
            else:
                errors += 1
    seconds = time.perf_counter() - started
    return {"messages": len(mail), "seconds": round(seconds, 3),
            "per_second": round(len(mail) / seconds, 1), "errors": errors,
            "ignored": ignored, "error_samples": samples[:5]}


def write_assignments(out: Path) -> None:
    from helpdesk.models import FollowUp

    with out.open("w", encoding="utf-8") as lines:
        for message_id, ticket in FollowUp.objects.values_list("message_id", "ticket_id"):
            lines.write(json.dumps({"message_id": message_id, "ticket": ticket}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--assignments", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="peer-") as tmp:
        work_dir = Path(tmp)
        prepare(work_dir)
        mailbox = work_dir / "mailbox"
        mailbox.mkdir()
        for path in sorted(args.corpus.glob("*.eml")):
            shutil.copy(path, mailbox / path.name)
        result = ingest(sorted(mailbox.glob("*.eml")), make_queue(mailbox), quiet_logger())
        if args.assignments:
            write_assignments(args.assignments)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
