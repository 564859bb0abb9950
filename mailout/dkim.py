"""DKIM signatures on the mail we send (dkimpy), and new keys to sign with.

Large providers file unsigned mail from a domain that sends this much as
spam. Each mail is signed as it leaves (mailout.deliver, after rendering and
outside any database transaction), relaxed/relaxed, for the domain of
HELPDESK_ADDRESS with the selector of HELPDESK_DKIM_SELECTOR.
"""
from __future__ import annotations

import base64
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.config.settings import Settings
from mailout.render import OutgoingMail
from mailout.transport import DeliveryFailure

# The headers a signature covers: those a reader sees and threads by, and the
# MIME ones that say how to read the body. Each is named once, present or
# not: one we did not send (Cc, In-Reply-To) cannot be added in transit
# without breaking the signature.
SIGNED_HEADERS = (
    b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"in-reply-to", b"references", b"reply-to",
    b"mime-version", b"content-type", b"content-transfer-encoding", b"auto-submitted",
)
KEY_BITS = 2048


class Signer:
    """Signs with one key, read once per delivery pass."""

    def __init__(self, key_pem: bytes, selector: str, domain: str):
        self.key, self.selector, self.domain = key_pem, selector.encode(), domain.encode()

    def sign(self, mail: OutgoingMail) -> OutgoingMail:
        """The mail with a DKIM-Signature header in front; DeliveryFailure
        (retried later) when dkimpy cannot sign it."""
        try:
            signature = dkim.sign(mail.data, self.selector, self.domain, self.key,
                                  canonicalize=(b"relaxed", b"relaxed"), include_headers=list(SIGNED_HEADERS))
        except dkim.DKIMException as exc:
            raise DeliveryFailure(f"cannot DKIM-sign: {exc}") from None
        return OutgoingMail(mail.message_id, signature + mail.data)


def signer_for(settings: Settings) -> Signer | None:
    """The signer HELPDESK_DKIM_KEY and HELPDESK_DKIM_SELECTOR ask for; None
    when either is unset. A key that cannot be read stops the pass loudly:
    sending unsigned would quietly land our mail in spam folders."""
    if not (settings.dkim_key and settings.dkim_selector):
        return None
    return Signer(Path(settings.dkim_key).read_bytes(), settings.dkim_selector, settings.domain)


def new_key() -> tuple[bytes, bytes]:
    """A new RSA key: (private key as PEM, the public key's DER for the DNS record)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def txt_record(public_der: bytes) -> str:
    """The value of the TXT record at <selector>._domainkey.<domain>."""
    return f"v=DKIM1; k=rsa; p={base64.b64encode(public_der).decode()}"


def dns_record(public_der: bytes, selector: str, domain: str) -> str:
    """The record as a zone-file line; the value is split into strings of at
    most 255 characters, as DNS requires of one TXT string."""
    value = txt_record(public_der)
    strings = " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))
    return f"{selector}._domainkey.{domain}. IN TXT ( {strings} )"
