"""Ticket references: short, unique, and safe to read over the phone.

Format: "HD-" and six characters from an alphabet without 0/O, 1/I/L and U
(so no look-alikes and no accidental words), e.g. HD-7K3Q9P. 30**6 is about
729 million references; a collision is retried by the caller. A reference is
matched case-insensitively in a subject, inside square brackets: "[HD-7K3Q9P]".
"""
from __future__ import annotations

import re
import secrets

PREFIX = "HD"
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 6
_TAG = re.compile(rf"\[\s*({PREFIX}-[{ALPHABET}]{{{LENGTH}}})\s*\]", re.IGNORECASE)


def new_ref() -> str:
    return f"{PREFIX}-" + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def find_ref(subject: str | None) -> str | None:
    """The first reference tag anywhere in a subject, normalised to upper case."""
    match = _TAG.search(subject or "")
    return match.group(1).upper() if match else None


def tag(ref: str) -> str:
    return f"[{ref}]"
