"""Sender authentication of inbound mail: SPF, DKIM, DMARC (and ARC where
present), as one `Verdict` recorded on the raw mail.

The checks are the maintained libraries' (pyspf for SPF, dkimpy for DKIM and
ARC); this module gives them one DNS (core.mail.dnslookup: the configured
resolver, cached briefly) and works out DMARC from their results: the
policy record of the From domain (or of its organisational domain, by the
Public Suffix List), and whether a passing SPF or DKIM domain aligns with it.

Where the mail came from decides what is checked:

- `check`: a mail an SMTP client handed us, with its IP and HELO;
- `from_front_mta`: a mail our own front MTA already checked, by its
  Authentication-Results header (trusted only under Settings.front_mta);
- `unchecked`: anything else (IMAP, a file) has no client to check: `none`.

A lookup that times out makes its result `temperror`; `Verdict.temporary`
says the verdict may change when asked again (the pipeline keeps the mail
and checks it later). Nothing here touches the database.
"""
from __future__ import annotations

import ipaddress
import json
import re
import threading
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from functools import lru_cache

import authres
import dkim
import dkim.util
import spf
from publicsuffixlist import PublicSuffixList

from core.mail.dnslookup import DnsTemporary, Lookup

# A DKIM-Signature or ARC-Seal field in the header; the header's end.
_SIGNED = re.compile(rb"^(?:dkim-signature|arc-seal)[ \t]*:", re.IGNORECASE | re.MULTILINE)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
# Results as RFC 8601 names them.
PASS, FAIL, SOFTFAIL, NEUTRAL, NONE = "pass", "fail", "softfail", "neutral", "none"
TEMPERROR, PERMERROR = "temperror", "permerror"
# Which DKIM result a message shows when it carries several signatures.
_DKIM_RANK = {PASS: 4, TEMPERROR: 3, FAIL: 2, PERMERROR: 1, NONE: 0}


@dataclass(frozen=True)
class Signature:
    domain: str
    selector: str
    result: str


@dataclass(frozen=True)
class Verdict:
    """What the checks found, as recorded on RawMail.auth (JSON)."""
    source: str = "none"            # checked | front_mta | none
    spf: str = NONE                 # for the envelope sender (or the HELO name, for a null sender)
    spf_domain: str | None = None
    spf_helo: str | None = None     # for the HELO name alone, when it is a domain name
    dkim: str = NONE                # the best of the signatures' results
    signatures: tuple[Signature, ...] = ()
    dmarc: str = NONE               # pass | fail | none (no record) | temperror | permerror
    dmarc_policy: str | None = None  # none | quarantine | reject, for the From domain
    from_domain: str | None = None
    aligned: bool = False           # a passing SPF or DKIM domain aligns with the From domain
    arc: str | None = None          # pass | fail | none, when the mail carries an ARC set
    ip: str | None = None
    helo: str | None = None

    @property
    def temporary(self) -> bool:
        """A lookup timed out and the verdict is not settled by a pass."""
        return not self.aligned and TEMPERROR in (self.spf, self.dkim, self.dmarc)

    def as_json(self) -> str:
        # As asdict() gives it, without its deep copy of every value (a
        # fortieth of a server process's CPU per mail): the fields are plain values.
        values = dict(self.__dict__)
        values["signatures"] = [dict(signature.__dict__) for signature in self.signatures]
        return json.dumps(values, separators=(",", ":"))

    def summary(self) -> str:
        return f"spf={self.spf} dkim={self.dkim} dmarc={self.dmarc}" + (
            f" (p={self.dmarc_policy})" if self.dmarc_policy else "")


def verdict_from_json(text: str | None) -> Verdict | None:
    if not text:
        return None
    values = json.loads(text)
    values["signatures"] = tuple(Signature(**s) for s in values.get("signatures", ()))
    return Verdict(**{k: v for k, v in values.items() if k in Verdict.__dataclass_fields__})


@dataclass(frozen=True)
class Client:
    """The SMTP client as the session saw it."""
    ip: str
    helo: str | None = None


# --- DNS for the libraries -------------------------------------------------

_current = threading.local()
_library_spf_lookup = spf.DNSLookup


def _spf_lookup(name, qtype, strict=True, timeout=None):
    """pyspf asks its module-level DNSLookup; while `check` runs in this
    thread, it is our Lookup's (the library's own otherwise)."""
    lookup: Lookup | None = getattr(_current, "lookup", None)
    if lookup is None:
        return _library_spf_lookup(name, qtype, strict, timeout)
    try:
        return [((name, qtype), value) for value in lookup.records(name, qtype)]
    except DnsTemporary as error:
        raise spf.TempError(f"DNS {error}") from error


spf.DNSLookup = _spf_lookup


class _DkimDns:
    """dkimpy's `dnsfunc`: the key record, and whether a lookup timed out."""

    def __init__(self, lookup: Lookup):
        self.lookup, self.timed_out = lookup, False

    def __call__(self, name: bytes, timeout: float = 5) -> bytes | None:
        try:
            records = self.lookup.txt(name.decode("ascii", "replace"))
        except DnsTemporary as error:
            self.timed_out = True
            raise dkim.DnsTimeoutError(str(error)) from error
        return records[0] if records else None


# --- the checks ------------------------------------------------------------

def check(raw: bytes, from_address: str | None, mail_from: str | None, client: Client, lookup: Lookup) -> Verdict:
    """SPF for the client and envelope sender (and HELO), every DKIM
    signature, ARC where present, and DMARC for the From domain."""
    helo = (client.helo or "").strip().lower() or None
    sender = mail_from if mail_from and mail_from != "<>" else None
    spf_result, spf_domain, spf_helo = _spf(client.ip, sender, helo, lookup)
    signatures, arc = _dkim(raw, lookup)
    return _conclude(Verdict(source="checked", spf=spf_result, spf_domain=spf_domain, spf_helo=spf_helo,
                             signatures=signatures, dkim=_best(signatures), arc=arc, ip=client.ip, helo=helo,
                             from_domain=domain_of(from_address)), lookup)


def unchecked(from_address: str | None) -> Verdict:
    """A mail with no client to check (IMAP, a file) and no trusted header."""
    return Verdict(source="none", from_domain=domain_of(from_address))


def from_front_mta(raw: bytes, authserv_id: str, from_address: str | None, lookup: Lookup) -> Verdict | None:
    """The verdict of our own front MTA, from the topmost Authentication-Results
    header it added (RFC 8601 5: one with another authserv-id may be a
    forgery, and is ignored); None when it added none. DMARC's policy is read
    from the DNS, as the header does not carry it."""
    if not authserv_id:
        return None
    for value in _header_values(raw, "authentication-results"):
        try:
            header = authres.AuthenticationResultsHeader.parse_value(value)
        except Exception:  # noqa: BLE001 - an unreadable header is not ours to believe
            continue
        if (header.authserv_id or "").lower() != authserv_id:
            continue
        spf_result, spf_domain, signatures, dmarc = NONE, None, [], None
        for result in header.results:
            props = {f"{p.type}.{p.name}".lower(): p.value for p in result.properties}
            method = (result.method or "").lower()
            if method == "spf":
                spf_result = (result.result or NONE).lower()
                spf_domain = domain_of(props.get("smtp.mailfrom")) or props.get("smtp.helo")
            elif method == "dkim":
                signatures.append(Signature((props.get("header.d") or "").lower(), props.get("header.s") or "",
                                            (result.result or NONE).lower()))
            elif method == "dmarc":
                dmarc = (result.result or NONE).lower()
        verdict = Verdict(source="front_mta", spf=spf_result, spf_domain=spf_domain, signatures=tuple(signatures),
                          dkim=_best(signatures), from_domain=domain_of(from_address))
        return _conclude(verdict, lookup, stated=dmarc)
    return None


def _spf(ip: str, sender: str | None, helo: str | None, lookup: Lookup) -> tuple[str, str | None, str | None]:
    """(result for the sender, its domain, result for the HELO name)."""
    helo_result = None
    helo_is_name = helo is not None and "." in helo and not _is_ip(helo.strip("[]"))
    _current.lookup = lookup
    try:
        if helo_is_name:
            helo_result = spf.check2(i=ip, s=f"postmaster@{helo}", h=helo)[0]
        if sender is None:
            # RFC 7208 2.4: a null sender is checked by its HELO name.
            return (helo_result or NONE), (helo if helo_is_name else None), helo_result
        domain = domain_of(sender)
        if domain is None:
            return NONE, None, helo_result
        return spf.check2(i=ip, s=sender, h=helo or "unknown")[0], domain, helo_result
    finally:
        _current.lookup = None


def _dkim(raw: bytes, lookup: Lookup) -> tuple[tuple[Signature, ...], str | None]:
    """Each DKIM signature's result, and ARC's chain validation when the mail carries one."""
    if not _SIGNED.search(_BLANK_LINE.split(raw, 1)[0]):
        return (), None  # dkimpy's split of the whole message costs more than all the rest
    dnsfunc = _DkimDns(lookup)
    try:
        verifier = dkim.DKIM(raw, minkey=1024)
    except Exception:  # noqa: BLE001 - a message dkimpy cannot even split
        return (), None
    names = [name.lower() for name, _ in verifier.headers]
    found: list[Signature] = []
    for index, (name, value) in enumerate((n, v) for n, v in verifier.headers if n.lower() == b"dkim-signature"):
        try:
            tags = dkim.util.parse_tag_value(value)
        except Exception:  # noqa: BLE001
            tags = {}
        domain = tags.get(b"d", b"").decode("ascii", "replace").lower()
        selector = tags.get(b"s", b"").decode("ascii", "replace")
        dnsfunc.timed_out = False
        try:
            result = PASS if verifier.verify(index, dnsfunc=dnsfunc) else FAIL
        except dkim.DKIMException:
            result = PERMERROR
        if result != PASS and dnsfunc.timed_out:
            result = TEMPERROR
        found.append(Signature(domain, selector, result))
    arc = None
    if b"arc-seal" in names:
        try:
            arc = dkim.arc_verify(raw, dnsfunc=dnsfunc)[0].decode("ascii").lower()
        except Exception:  # noqa: BLE001 - a broken ARC set fails, it does not stop the mail
            arc = FAIL
    return tuple(found), arc


def _conclude(verdict: Verdict, lookup: Lookup, stated: str | None = None) -> Verdict:
    """DMARC (RFC 7489): the From domain's policy record, and alignment of
    the passing SPF and DKIM domains with it. `stated`: the result a trusted
    header gave, which stands."""
    domain = verdict.from_domain
    if domain is None:
        return verdict
    try:
        record = dmarc_record(domain, lookup)
    except DnsTemporary:
        return _with(verdict, dmarc=stated or TEMPERROR, aligned=_aligned(verdict, domain, relaxed=True))
    if record is None:
        return _with(verdict, dmarc=stated or NONE, aligned=_aligned(verdict, domain, relaxed=True))
    tags, at_org = record
    policy = (tags.get("sp") if at_org and "sp" in tags else tags.get("p", "none")).lower()
    if policy not in ("none", "quarantine", "reject"):
        policy = "none"
    spf_ok = verdict.spf == PASS and _aligns(verdict.spf_domain, domain, tags.get("aspf", "r") != "s")
    dkim_ok = any(s.result == PASS and _aligns(s.domain, domain, tags.get("adkim", "r") != "s")
                  for s in verdict.signatures)
    aligned = spf_ok or dkim_ok
    if stated:
        result = stated
    elif aligned:
        result = PASS
    elif TEMPERROR in (verdict.spf, verdict.dkim):
        result = TEMPERROR
    else:
        result = FAIL
    return _with(verdict, dmarc=result, dmarc_policy=policy, aligned=aligned or result == PASS)


def _with(verdict: Verdict, **changes) -> Verdict:
    return Verdict(**{**verdict.__dict__, **changes})


def _aligned(verdict: Verdict, domain: str, relaxed: bool) -> bool:
    return (verdict.spf == PASS and _aligns(verdict.spf_domain, domain, relaxed)) or any(
        s.result == PASS and _aligns(s.domain, domain, relaxed) for s in verdict.signatures)


def _aligns(other: str | None, domain: str, relaxed: bool) -> bool:
    if not other:
        return False
    other = other.lower().rstrip(".")
    return other == domain if not relaxed else organisational_domain(other) == organisational_domain(domain)


def dmarc_record(domain: str, lookup: Lookup) -> tuple[dict[str, str], bool] | None:
    """(tags, found at the organisational domain) of the DMARC record that
    governs `domain`, or None when there is none (RFC 7489 6.6.3)."""
    org = organisational_domain(domain)
    for name, at_org in ((domain, False), (org, True)):
        if at_org and name == domain:
            break
        records = [r for r in lookup.txt(f"_dmarc.{name}") if r[:8].lower() == b"v=dmarc1"]
        if len(records) == 1:
            return _tags(records[0].decode("ascii", "replace")), at_org
    return None


def _tags(record: str) -> dict[str, str]:
    """A DMARC record's tag=value list, tag names in lower case."""
    tags = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags[name.strip().lower()] = value.strip()
    return tags


_suffix_list: PublicSuffixList | None = None
_suffix_list_lock = threading.Lock()


def _suffixes() -> PublicSuffixList:
    """The Public Suffix List, built once per process (30 ms): under a lock,
    as every pipeline thread of a server meets it with its first mail, and
    each built its own (an lru_cache computes in every caller at once)."""
    global _suffix_list
    if _suffix_list is None:
        with _suffix_list_lock:
            if _suffix_list is None:
                _suffix_list = PublicSuffixList()
    return _suffix_list


def warm() -> None:
    """Build what the checks build on first use, so a server does it before
    it takes mail rather than with its first mails."""
    _suffixes()


@lru_cache(maxsize=4096)
def organisational_domain(domain: str) -> str:
    """The registered domain (one label below its public suffix)."""
    domain = domain.lower().rstrip(".")
    return _suffixes().privatesuffix(domain) or domain


def domain_of(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    domain = address.rpartition("@")[2].strip().strip(">").lower().rstrip(".")
    return domain or None


def _best(signatures) -> str:
    return max((s.result for s in signatures), key=_DKIM_RANK.__getitem__, default=NONE)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _header_values(raw: bytes, name: str) -> list[str]:
    head = BytesHeaderParser(policy=compat32).parsebytes(raw, headersonly=True)
    return [str(value) for value in head.get_all(name, [])]


__all__ = ["Client", "Signature", "Verdict", "check", "from_front_mta", "unchecked", "verdict_from_json",
           "dmarc_record", "organisational_domain"]
