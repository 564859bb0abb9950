"""Every English string of the customer's pages has its Indonesian."""
from __future__ import annotations

import re
from pathlib import Path

from portal.i18n import filesize
from portal.messages_id import MESSAGES
from portal.public import spam, views
from portal.public.forms import ReplyForm, TicketForm

ROOT = Path(__file__).resolve().parents[2]
CALL = re.compile(r"""\b_\(\s*"((?:[^"\\]|\\.)+)"(?=\s*[,)])""")


def english_strings() -> set[str]:
    found: set[str] = set()
    for path in [*ROOT.joinpath("templates", "public").glob("*.html"), ROOT / "portal" / "public" / "views.py"]:
        found.update(CALL.findall(path.read_text()))
    for form in (TicketForm, ReplyForm):
        for unbound in vars(form).values():
            kwargs = getattr(unbound, "kwargs", {})
            if getattr(unbound, "args", None):
                found.add(unbound.args[0])
            for validator in kwargs.get("validators", []):
                if isinstance(getattr(validator, "message", None), str):
                    found.add(validator.message)
    found.update(cls.message for cls in vars(spam).values() if isinstance(cls, type) and issubclass(cls, spam.Refusal))
    found.update(views.STATUS_LABELS.values())
    found.update({views.FILES_NOT_KEPT, "At most 10 files at once.", "Please correct the fields marked below."})
    return found


def test_every_string_of_the_customers_pages_is_in_indonesian():
    strings = english_strings()
    assert len(strings) > 50
    assert sorted(s for s in strings if s not in MESSAGES) == []


def test_file_sizes_read_the_same_in_both_portals():
    assert [filesize(n) for n in (58, 1024, 1536, 5 * 1024 * 1024, 2_500_000)] == [
        "58 B", "1 KB", "1.5 KB", "5 MB", "2.4 MB"]
