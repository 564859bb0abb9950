"""What the API's views share: documenting their error responses and reading
the ticket a request names through core visibility."""
from __future__ import annotations

from typing import Callable

from flask_smorest import Blueprint

from core.tickets import actions
from core.tickets.actions import ReadOnly, TicketNotFound
from portal.api.problems import Problem

_NAMES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT",
          413: "REQUEST_ENTITY_TOO_LARGE", 422: "UNPROCESSABLE_ENTITY"}


def errors(blp: Blueprint, *codes: int) -> Callable:
    """Document these problem responses (401 always: every endpoint but log-in needs a token)."""
    def decorate(view: Callable) -> Callable:
        for code in sorted({401, *codes}, reverse=True):
            view = blp.alt_response(code, response=_NAMES[code])(view)
        return view
    return decorate


def _unseen(ref: str) -> Problem:
    return Problem(404, f"No ticket {ref.upper()[:32]} that you may see.")


def checked_ref(ref: str) -> str:
    """A reference fit to look up: one with a NUL cannot exist (and PostgreSQL refuses to compare it)."""
    if "\x00" in ref:
        raise _unseen(ref.replace("\x00", ""))
    return ref


def visible(session, user, ref: str, *, thread: bool = False):
    """The ticket if the user may read it; 404 otherwise (one they may not see does not exist)."""
    checked_ref(ref)
    try:
        return actions.find_visible(session, user, ref, thread=thread)
    except TicketNotFound:
        raise _unseen(ref) from None


def actionable(session, user, ref: str):
    """The ticket if the user's office holds it: 404 if unseen, 403 if only readable."""
    checked_ref(ref)
    try:
        return actions.find_actionable(session, user, ref)
    except TicketNotFound:
        raise _unseen(ref) from None
    except ReadOnly:
        raise Problem(403, "Another office holds this ticket: you may read it, not change it.") from None
