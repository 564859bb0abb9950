"""Chat notices, delivered like webhooks (core.hooks.queue, mailout.hooks).

- Slack and Microsoft Teams incoming webhooks, per office: a ticket that
  arrived where no agent is available, and an SLA breach.
- WhatsApp, through the WhatsApp Business Cloud API, to a customer who gave a
  phone number on the web form and agreed: the acknowledgement and "staff
  replied", as approved template messages whose parameters are the ticket's
  reference and private link. The link is filled in when the message leaves
  (mailout.hooks), like a mail's, so it is never stored in a queued body.

Each body is in the provider's documented format: Slack's {"text"} with a
section block; Teams' MessageCard; WhatsApp's template message.
"""
from __future__ import annotations

from datetime import datetime

from babel.numbers import format_decimal
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import audit
from core.config.settings import Settings
from core.hooks import queue
from core.hooks.webhooks import BadWebhook, check_url
from core.models import Channel, Office, Ticket, User
from core.words import N_, localize

UNSTAFFED, SLA_BREACHED, UNSTAFFED_SUMMARY = "unstaffed", "sla_breached", "unstaffed_summary"
# The placeholder for the private link in a queued WhatsApp body.
LINK = "{{link}}"

# The notices' sentences: English here, translated (core.words.localize)
# into the language the office's notice goes out in, then filled in, so a
# subject or an office name is never taken for a sentence.
_SENTENCES = {
    UNSTAFFED: N_("Ticket %(ref)s arrived at %(office)s and no agent is available to take it: %(subject)s"),
    SLA_BREACHED: N_("Ticket %(ref)s at %(office)s is past its %(clock)s time: %(subject)s"),
    UNSTAFFED_SUMMARY: N_("%(count)s more tickets arrived at %(office)s with no agent available to take them"),
}
OPEN_TICKET, OPEN_QUEUE = N_("Open the ticket"), N_("Open the queue")


def office_notice(session: Session, settings: Settings, ticket: Ticket, office: Office, event: str, *,
                  language: str, clock: str = "", now: datetime | None = None) -> list[str]:
    """Queue the office's Slack and Teams notices of `event`; their delivery ids.
    `clock` is core.tickets.sla's name of the clock that ran out, in English."""
    if not (office.slack_url or office.teams_url):
        return []
    text = localize(_SENTENCES[event], language) % {
        "ref": ticket.ref, "office": office.name, "subject": ticket.subject or "", "clock": localize(clock, language)}
    return _post(session, office, event, text, f"{settings.base_url}/staff/tickets/{ticket.ref}",
                 localize(OPEN_TICKET, language), ticket.id, now)


def office_summary(session: Session, settings: Settings, office: Office, count: int, *, language: str,
                   now: datetime | None = None) -> list[str]:
    """Queue the office's Slack and Teams notices that `count` more unstaffed
    tickets arrived (core.mail.pacing held them back); their delivery ids."""
    if not (office.slack_url or office.teams_url):
        return []
    text = localize(_SENTENCES[UNSTAFFED_SUMMARY], language) % {
        "count": format_decimal(count, locale=language), "office": office.name}
    return _post(session, office, UNSTAFFED_SUMMARY, text, f"{settings.base_url}/staff/?queue=unassigned",
                 localize(OPEN_QUEUE, language), None, now)


def _post(session: Session, office: Office, event: str, text: str, link: str, label: str, ticket_id: int | None,
          now: datetime | None) -> list[str]:
    queued = []
    if office.slack_url:
        queued.append(queue.enqueue(session, channel=Channel.slack, endpoint=office.slack_url, event=event,
                                    body=slack_body(text, link, label), ticket_id=ticket_id, now=now))
    if office.teams_url:
        queued.append(queue.enqueue(session, channel=Channel.teams, endpoint=office.teams_url, event=event,
                                    body=teams_body(text, link, label), ticket_id=ticket_id, now=now))
    return queued


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn reserves these three (api.slack.com, "Formatting text").
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(text: str, link: str, open_label: str) -> dict:
    """An incoming-webhook message: `text` (the notification's fallback) and a
    section block with the link."""
    shown = _slack_escape(text)
    return {"text": shown, "blocks": [{"type": "section", "text": {
        "type": "mrkdwn", "text": f"{shown}\n<{link}|{_slack_escape(open_label)}>"}}]}


def teams_body(text: str, link: str, open_label: str) -> dict:
    """A legacy actionable MessageCard, which Teams' incoming webhooks take."""
    return {"@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": text[:200],
            "themeColor": "C4314B", "text": text,
            "potentialAction": [{"@type": "OpenUri", "name": open_label,
                                 "targets": [{"os": "default", "uri": link}]}]}


ACK, STAFF_REPLIED = "ack", "staff_replied"


def wants_whatsapp(settings: Settings, ticket: Ticket) -> bool:
    return bool(settings.whatsapp_on and ticket.whatsapp_consent and ticket.requester_phone)


def whatsapp(session: Session, settings: Settings, ticket: Ticket, kind: str, *,
             now: datetime | None = None) -> str | None:
    """Queue the customer's WhatsApp template message (ACK or STAFF_REPLIED)
    when they gave a number and agreed; its delivery id, or None."""
    if not wants_whatsapp(settings, ticket):
        return None
    name = settings.whatsapp_template_ack if kind == ACK else settings.whatsapp_template_reply
    return queue.enqueue(session, channel=Channel.whatsapp, endpoint=f"whatsapp:{ticket.requester_phone}",
                         event=kind, ticket_id=ticket.id, now=now,
                         body=whatsapp_body(ticket.requester_phone, name, ticket.language or "id", ticket.ref))


def whatsapp_body(phone: str, template: str, language: str, ref: str, link: str = LINK) -> dict:
    """A Cloud API template message: the reference and the private link as
    the body's two parameters ({{1}} and {{2}} of the approved template)."""
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": phone, "type": "template",
            "template": {"name": template, "language": {"code": language},
                         "components": [{"type": "body", "parameters": [
                             {"type": "text", "text": ref}, {"type": "text", "text": link}]}]}}


class BadPhone(ValueError):
    pass


def phone_digits(text: str, country_code: str = "62") -> str:
    """A phone number as the Cloud API's `to` takes it: the digits of the
    international form, no "+". A national number (leading 0) is taken as
    Indonesian, the first users' country."""
    digits = "".join(ch for ch in (text or "") if ch.isdigit())
    stripped = (text or "").strip()
    if not stripped or any(not (ch.isdigit() or ch in "+ -().") for ch in stripped):
        raise BadPhone(N_("a phone number has only digits, spaces, dashes and a leading +"))
    if not stripped.startswith("+") and digits.startswith("0"):
        digits = country_code + digits[1:]
    if not 8 <= len(digits) <= 15:
        raise BadPhone(N_("a phone number has 8 to 15 digits"))
    return digits


def offices_with_chat(session: Session) -> list[Office]:
    return list(session.scalars(select(Office).where(or_(Office.slack_url.is_not(None), Office.teams_url.is_not(None)))
                                .order_by(Office.path)))


def set_office_urls(session: Session, settings: Settings, office_code: str, slack_url: str, teams_url: str,
                    actor: User | str | None = None) -> Office:
    """Set (or, with an empty value, clear) an office's Slack and Teams
    incoming-webhook URLs; raises BadWebhook with the reason."""
    office = session.scalar(select(Office).where(Office.code == (office_code or "").strip().upper()))
    if office is None:
        raise BadWebhook(N_("no office with code %(code)s") % {"code": repr(office_code.strip())})
    slack = check_url(settings, slack_url) if (slack_url or "").strip() else None
    teams = check_url(settings, teams_url) if (teams_url or "").strip() else None
    if (slack, teams) != (office.slack_url, office.teams_url):
        # The URLs are secrets of their own (anyone holding one can post): the trail names the channel only.
        audit.record(session, None, "office_chat", actor, to_value=office.code,
                     detail=f"slack {'set' if slack else 'none'}, teams {'set' if teams else 'none'}")
        office.slack_url, office.teams_url = slack, teams
        session.flush()
    return office
