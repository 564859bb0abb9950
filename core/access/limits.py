"""Limits on what anyone may write without logging in, beyond the public form
(portal/public/spam.py): replies on a customer's private page and requests
for a password-reset mail.

Counted in the database (core.access.ratelimit), so a limit holds across
every web process; the numbers are admin policy (core.config.policy), 0
meaning no limit. The check and the count are two statements, so requests
arriving at the same instant may pass a limit by a few: these limits stop
floods, not the odd extra reply.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.access import ratelimit
from core.config.policy import Policy
from core.models import utcnow
from core.words import N_

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


class LimitReached(Exception):
    """Over a limit; nothing was counted or written. `message` is English,
    for the page to translate; `retry_after` is in seconds."""
    message = N_("Too many requests. Please wait a moment and try again.")
    retry_after = 60


class TooManyReplies(LimitReached):
    message = N_("Too many replies were sent in the last minute. Please wait a minute, then send your reply again.")


class TooMuchUploaded(LimitReached):
    message = N_("This ticket has received too many files in the last hour. Please wait an hour, "
                 "or send fewer or smaller files.")
    retry_after = 3600


def admit_reply(session: Session, policy: Policy, ticket_id: int, client: str, upload_bytes: int,
                now: datetime | None = None) -> None:
    """Count a customer's reply to a ticket from a client address, carrying
    `upload_bytes` of files, or raise LimitReached and count nothing.

    Counted before the files are inspected, so a reply whose files are then
    refused still used up its share: inspecting is the cost being limited.
    """
    now = now or utcnow()
    ticket_key, client_key, bytes_key = f"reply:ticket:{ticket_id}", f"reply:ip:{client}", f"upload:ticket:{ticket_id}"
    if not (ratelimit.allowed(session, ticket_key, policy.web_replies_per_ticket_minute, MINUTE, now)
            and ratelimit.allowed(session, client_key, policy.web_replies_per_ip_minute, MINUTE, now)):
        raise TooManyReplies()
    budget = policy.web_upload_bytes_per_ticket_hour
    if upload_bytes and budget > 0 and ratelimit.total(session, bytes_key, HOUR, now) + upload_bytes > budget:
        raise TooMuchUploaded()
    ratelimit.hit(session, ticket_key, now)
    ratelimit.hit(session, client_key, now)
    if upload_bytes:
        ratelimit.hit(session, bytes_key, now, amount=upload_bytes)


def admit_reset(session: Session, policy: Policy, email: str, client: str, now: datetime | None = None) -> bool:
    """Whether a password-reset mail may be sent to `email` at a client's
    request, counting the request if so.

    Every request counts against the client address, whatever it names and
    whether or not an account has that address; a mail counts against the
    address once the client is let through. The caller answers the same
    whatever this says, so the limit tells nobody which addresses exist.
    """
    now = now or utcnow()
    client_key, address_key = f"reset:ip:{client}", f"reset:address:{email.strip().lower()}"
    if not ratelimit.allowed(session, client_key, policy.reset_requests_per_ip_hour, HOUR, now):
        return False
    ratelimit.hit(session, client_key, now)
    if not ratelimit.allowed(session, address_key, policy.reset_mails_per_address_hour, HOUR, now):
        return False
    ratelimit.hit(session, address_key, now)
    return True
