"""The front door's judgement of a message during the SMTP dialogue, before
it is accepted: the admins' ban and allow lists, then rspamd's spam verdict.

rspamd is asked over its HTTP protocol (POST /checkv2 with the message and
the envelope in headers, JSON back). It runs in the SMTP server's pipeline
threads, never on the event loop, with a timeout: rspamd down or slow means
no score, and the mail is taken as if no rspamd were configured (logged).
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

from core.config.settings import Settings
from core.mail.auth import Client
from core.mail.senders import Verdict as SenderRule
from core.mail.senders import rule_for
from core.storage.db import Database
from core.words import N_

log = logging.getLogger("helpdesk.spam")

# rspamd's actions that make a message spam for staff to judge: kept, not
# ticketed, shown in the quarantine with its reason. ("greylist" asks a
# sender to retry later: we take the mail and score it as clean.)
QUARANTINE_ACTIONS = frozenset({"add header", "rewrite subject", "soft reject"})


class Refused(Exception):
    """The SMTP reply that refuses the message (5xx): the sender keeps it."""

    def __init__(self, reply: str):
        super().__init__(reply)
        self.reply = reply


@dataclass(frozen=True)
class SpamVerdict:
    action: str   # rspamd's: "no action", "greylist", "add header", "rewrite subject", "soft reject", "reject"
    score: float

    @property
    def rejects(self) -> bool:
        return self.action == "reject"

    @property
    def quarantines(self) -> bool:
        return self.action in QUARANTINE_ACTIONS

    @property
    def reason(self) -> str:
        return N_("spam: rspamd %(action)s, score %(score)s") % {"action": self.action, "score": f"{self.score:.2f}"}


def header_from(raw: bytes) -> str | None:
    """The address of the header From, lower case, read from the header only
    (the parser comes later): None when there is none."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    values = BytesHeaderParser(policy=compat32).parsebytes(head + b"\r\n\r\n").get_all("From") or []
    found = [address for _, address in getaddresses([str(v) for v in values]) if "@" in address]
    return found[0].strip().lower() if found else None


def check_envelope_sender(db: Database, envelope_from: str | None,
                          seen: dict[str, SenderRule | None] | None = None) -> None:
    """At RCPT: Refused when the envelope sender is banned. `seen`: the
    rules read for this SMTP transaction (see core.mail.senders.rule_for)."""
    rule = rule_for(db, envelope_from, seen)
    if rule is not None and rule.bans:
        raise Refused(f"550 5.7.1 Sender <{envelope_from}> is not accepted here: {rule.reason or 'banned'}")


def judge(db: Database, raw: bytes, envelope_from: str | None, recipients: tuple[str, ...],
          client: Client | None, seen: dict[str, SenderRule | None] | None = None) -> SpamVerdict | None:
    """At DATA, before the message is accepted: Refused for a banned header
    From or mail rspamd rejects; otherwise rspamd's verdict (None for an
    allowed sender, without rspamd, or when rspamd did not answer). `seen`:
    the rules read at RCPT for this SMTP transaction."""
    sender = header_from(raw) or envelope_from
    rule = rule_for(db, sender, seen)
    if rule is not None and rule.bans:
        raise Refused(f"550 5.7.1 Sender <{sender}> is not accepted here: {rule.reason or 'banned'}")
    if rule is not None or not db.settings.rspamd_url:  # an allowed sender skips the spam verdict
        return None
    verdict = score(db.settings, raw, envelope_from, recipients, client)
    if verdict is not None and verdict.rejects:
        raise Refused(f"550 5.7.1 Message refused as spam (score {verdict.score:.1f}); "
                      f"if it is not, write to us without the suspicious content")
    return verdict


def score(settings: Settings, raw: bytes, envelope_from: str | None, recipients: tuple[str, ...],
          client: Client | None) -> SpamVerdict | None:
    """rspamd's verdict on the message; None (logged) when it cannot be had in time."""
    headers = {"Content-Type": "message/rfc822"}
    if client is not None and client.ip:
        headers["IP"] = client.ip
    if client is not None and client.helo:
        headers["Helo"] = client.helo
    if envelope_from and envelope_from != "<>":
        headers["From"] = envelope_from
    if recipients:
        headers["Rcpt"] = recipients[0]
    request = urllib.request.Request(f"{settings.rspamd_url}/checkv2", data=raw, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.rspamd_timeout) as response:
            answer = json.loads(response.read())
        return SpamVerdict(str(answer["action"]), float(answer["score"]))
    except (OSError, ValueError, KeyError, TypeError) as error:  # URLError and timeouts are OSErrors
        log.warning("rspamd at %s gave no verdict, mail taken unscored: %s", settings.rspamd_url, error)
        return None
