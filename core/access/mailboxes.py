"""One key for the spellings of an address that reach the same mailbox, so a
per-address limit cannot be dodged by writing the address another way."""
from __future__ import annotations


def mailbox_of(address: str) -> str:
    """The address as limits count it: lowercased, without a `+tag` on the
    local part and without trailing dots on the domain, so
    "Ana+x@Sekolah.Test." and "ana@sekolah.test" are one mailbox."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return domain.rstrip(".")
    # A local part that is all tag ("+x") is kept whole: there is nothing before it.
    local = local.split("+", 1)[0] or local
    return f"{local}@{domain.rstrip('.')}"
