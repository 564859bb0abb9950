"""Shared steps of the public portal's tests: a seeded database, a ticket with
a thread, and the form's hidden values read from the page as a browser would."""
from __future__ import annotations

import io
import re

from PIL import Image

from core.access.tokens import link_token
from core.config.policy import Policy
from core.demo import seed_defaults
from core.models import Attachment, Direction, Message, Status
from core.storage.files import Store
from core.tickets.intake import Incoming, customer_office, open_ticket
from tests.factories import load_directory, make_user


def png(width: int = 800, height: int = 600, colour: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html)
    assert match, f"no hidden {name} in the page"
    return match.group(1)


def seed(database) -> None:
    with database.begin() as s:
        load_directory(s)
        seed_defaults(s)


def make_ticket(database, *, sender: str = "sman1@sekolah.test", subject: str = "Dapodik tidak sinkron",
                note: str = "internal: the operator is new", status: Status = Status.answered,
                files: dict[str, tuple[bytes, str]] | None = None) -> tuple[int, str]:
    """A ticket with a customer message, a staff note and a staff answer carrying
    `files` (name -> (bytes, stored content type)); returns (id, token)."""
    settings = database.settings
    store = Store(settings.path("store"))
    with database.begin() as s:
        policy = Policy()
        school = customer_office(s, sender, policy)
        ticket = open_ticket(s, settings, policy, Incoming(
            from_address=sender, from_name="Operator", subject=subject, text="Sinkronisasi gagal terus."),
            school=school)
        agent = make_user(s, ticket.office, email=f"agent{ticket.id}@staff.test")
        s.add(Message(ticket=ticket, direction=Direction.note, author=agent, text=note,
                      attachments=[Attachment(filename="secret.txt", content_type="text/plain", size=6,
                                              sha256=store.put(b"secret"))]))
        s.add(Message(ticket=ticket, direction=Direction.outbound, author=agent, from_address=agent.email,
                      text="Silakan coba lagi setelah pembaruan.",
                      attachments=[Attachment(filename=name, content_type=kind, size=len(content),
                                              sha256=store.put(content))
                                   for name, (content, kind) in (files or {}).items()]))
        ticket.status = status
        s.flush()
        return ticket.id, link_token(settings.secret_key, ticket.id, ticket.token_nonce)
