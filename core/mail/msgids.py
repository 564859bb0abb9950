"""Our Message-IDs: they name the ticket and carry an HMAC, so a reply's
In-Reply-To/References find the ticket and cannot be forged to reach another.

Form: <REF.NONCE.MAC@domain>, e.g. <HD-7K3Q9P.a1b2c3d4.0f1e2d3c4b5a6978@helpdesk.example>.
"""
from __future__ import annotations

import re
import secrets

from core.access.tokens import sign, signature_matches

_OURS = re.compile(r"<?([A-Z]+-[0-9A-Z]+)\.([0-9a-f]{8})\.([0-9a-f]{16})@([^>\s]+)>?")


def make_message_id(ref: str, secret: str, domain: str) -> str:
    nonce = secrets.token_hex(4)
    return f"<{ref}.{nonce}.{sign(secret, ref, nonce)}@{domain}>"


def ref_from_message_id(message_id: str, secret: str, domain: str) -> str | None:
    """The ticket reference in one of our Message-IDs, or None if it is not ours or forged."""
    match = _OURS.fullmatch((message_id or "").strip())
    if not match:
        return None
    ref, nonce, mac, their_domain = match.groups()
    if their_domain.lower() != domain.lower() or not signature_matches(secret, mac, ref, nonce):
        return None
    return ref


def refs_from_headers(values: list[str], secret: str, domain: str) -> list[str]:
    """References named by our Message-IDs in In-Reply-To/References, newest first."""
    found: list[str] = []
    for value in reversed(values):
        for mid in reversed(re.findall(r"<[^<>]+>", value or "")):
            ref = ref_from_message_id(mid, secret, domain)
            if ref and ref not in found:
                found.append(ref)
    return found
