"""Keeping robots off the public form without a captcha.

Four fences, cheapest first: a honeypot field people never see, a signed
time stamp (a person takes more than two seconds to write a ticket, and a
stamp carries one submission only), limits per IP and per address counted in
the database, and a cap on links in the message.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.access import ratelimit
from core.access.mailboxes import mailbox_of
from core.access.tokens import sign, signature_matches
from core.config.policy import Policy
from core.words import N_

MIN_AGE = timedelta(seconds=2)
MAX_AGE = ratelimit.STAMP_LIFETIME
WINDOW = timedelta(hours=1)
_LINK = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|net|org|info|xyz|top|ru|cn|io|ly)/\S*", re.I)


class Refusal(Exception):
    """A post turned away; `message` is English, for the page to translate."""
    message = N_("The form could not be sent.")
    status = 400


class Robot(Refusal):
    message = N_("The form could not be sent. If you are a person, leave the last field empty and try again.")


class TooFast(Refusal):
    message = N_("That was very quick. Please check your message and send it again.")


class Expired(Refusal):
    message = N_("This form has expired or was already sent. Please check your message and send it again.")


class Flood(Refusal):
    message = N_("Too many tickets were sent from here in the last hour. Please wait an hour, "
                 "or reply to the mail of a ticket you already have.")
    status = 429


def new_stamp(secret: str, now: datetime) -> str:
    moment, nonce = str(int(now.timestamp())), secrets.token_hex(12)
    return f"{moment}.{nonce}.{sign(secret, 'form-stamp', moment, nonce)}"


def read_stamp(secret: str, stamp: str, now: datetime) -> str:
    """The stamp's nonce, if it is ours and of a believable age."""
    moment, _, rest = (stamp or "").partition(".")
    nonce, _, mac = rest.partition(".")
    if not (moment.isascii() and moment.isdigit() and nonce and mac and signature_matches(secret, mac, "form-stamp", moment, nonce)):
        raise Expired()
    age = now - datetime.fromtimestamp(int(moment), now.tzinfo)
    if age < MIN_AGE:
        raise TooFast()
    if age > MAX_AGE:
        raise Expired()
    return nonce


def spend_stamp(session: Session, nonce: str, now: datetime) -> None:
    if not ratelimit.use_once(session, nonce, now):
        raise Expired()


def check_honeypot(value: str | None) -> None:
    if value:
        raise Robot()


def count_post(session: Session, policy: Policy, ip: str, now: datetime) -> None:
    """Count a post from this IP, refusing it when the IP is over its limit."""
    key = f"web-post:ip:{ip}"
    if not ratelimit.allowed(session, key, policy.web_posts_per_ip_hour, WINDOW, now):
        raise Flood()
    ratelimit.hit(session, key, now)


def check_address(session: Session, policy: Policy, email: str, now: datetime) -> None:
    if not ratelimit.allowed(session, _address_key(email), policy.web_tickets_per_address_hour, WINDOW, now):
        raise Flood()


def count_ticket(session: Session, email: str, now: datetime) -> None:
    ratelimit.hit(session, _address_key(email), now)


def _address_key(email: str) -> str:
    return f"web-ticket:address:{mailbox_of(email)}"


def count_links(text: str) -> int:
    return len(_LINK.findall(text or ""))
