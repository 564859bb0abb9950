"""Webhook secrets, sealed at rest.

A webhook's secret must be recoverable, since every delivery is signed with
it; a hash would not do. It is stored encrypted (Fernet: AES-CBC with an
HMAC, from the `cryptography` package) under a key derived with HKDF from
HELPDESK_SECRET_KEY, so a copy of the database alone does not reveal it.
Changing the secret key makes the sealed secrets unreadable: the webhooks
must then be registered again.
"""
from __future__ import annotations

import base64
import functools
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["InvalidToken", "new_secret", "open_secret", "seal"]


@functools.lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"helpdesk webhook secrets").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def seal(secret_key: str, secret: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def open_secret(secret_key: str, sealed: str) -> str:
    """The secret; raises InvalidToken when it was sealed under another key."""
    return _fernet(secret_key).decrypt(sealed.encode()).decode()
