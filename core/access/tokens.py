"""Secrets handed to customers (ticket links) and the HMACs that sign our mail.

A ticket link's token is 256 bits: an HMAC-SHA256, under the secret key, of
the ticket id and a random 128-bit nonce. The database keeps the nonce and
the token's SHA-256 (to find the ticket), never the token: a copy of the
database without the key opens no ticket. Every mail about a ticket can carry
the same link, and drawing a new nonce revokes it. A participant (copied on
the ticket) has a link of their own, kept the same way.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_nonce() -> str:
    return secrets.token_hex(16)


def link_token(secret: str, ticket_id: int, nonce: str) -> str:
    mac = hmac.new(secret.encode(), f"ticket-link\x1f{ticket_id}\x1f{nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def participant_token(secret: str, ticket_id: int, address: str, nonce: str) -> str:
    """A participant's own link to the ticket: like link_token, under a
    separate purpose, so no participant's token is ever a requester's."""
    mac = hmac.new(secret.encode(), f"participant-link\x1f{ticket_id}\x1f{address}\x1f{nonce}".encode(),
                   hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_matches(token: str, stored_hash: str | None) -> bool:
    return bool(stored_hash) and hmac.compare_digest(hash_token(token), stored_hash)


def sign(secret: str, *parts: str, length: int = 16) -> str:
    """A short keyed MAC over the parts, for Message-IDs and signed form stamps."""
    message = "\x1f".join(parts).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:length]


def signature_matches(secret: str, signature: str, *parts: str, length: int = 16) -> bool:
    """Whether `signature` is ours. Compared as bytes: compare_digest refuses a
    str with non-ASCII characters (TypeError), and a forged value is just wrong."""
    return hmac.compare_digest(sign(secret, *parts, length=length).encode(),
                               signature.encode("utf-8", "surrogatepass"))
