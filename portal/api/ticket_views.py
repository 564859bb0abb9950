"""Tickets: list, read, open, reply or note, change, forward, merge, link, and
download attachments. Each endpoint calls the core function its page calls
(core.tickets.actions, triage, links, routing), finds the ticket through the
same visibility (a ticket out of sight is 404), and every change is audited
as the token's user."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import current_app, request, send_file
from flask_smorest import Blueprint
from marshmallow import ValidationError
from sqlalchemy import select

from core import audit
from core.config.policy import load_policy
from core.directory.staff import find_staff
from core.content.uploads import Upload, UploadRefused, check_uploads
from core.models import Office, Status, User
from core.queries.export import ticket_dict
from core.queries.listing import BadCursor, Cursor, Listing, list_tickets
from core.queries.queues import Filters
from core.storage.files import Store
from core.tickets import actions, links, on_behalf, triage
from core.tickets.actions import ActionRefused, TicketNotFound
from core.tickets.lifecycle import ForbiddenTransition
from portal.api.common import actionable, errors, visible
from portal.api.guard import READ, WRITE, me, requires
from portal.api.guard import policy as policy_now
from portal.api.problems import Problem
from portal.api.schemas import (Forward, NewMessage, NewMessageForm, NewTicket, OtherTicket, TicketChange,
                                TicketFilters, TicketOut, TicketPage, summary_of)
from portal.context import db, recent, settings

blp = Blueprint("api_tickets", __name__, url_prefix="/api/v1/tickets", description="Tickets")
REFUSALS = (ActionRefused, ForbiddenTransition)
MAX_ID = 2**31 - 1


@contextmanager
def _refusals_as_problems() -> Iterator[None]:
    """A refusal from core (not allowed in this state, no such assignee) as
    the 422 problem every endpoint answers it with."""
    try:
        yield
    except REFUSALS as exc:
        raise Problem(422, str(exc).capitalize() + ".", kind="refused") from None


def _shown(session, user: User, ticket, events: list[audit.Recorded] | None = None) -> dict:
    """The ticket as `helpdesk export` prints it, with each kept file's id (for
    download) and the related tickets the user may see. `events`: all the
    ticket's history, kept as it was recorded (a ticket this request opened,
    which has no links yet either); otherwise both are read."""
    shown = ticket_dict(ticket, events=events)
    for out, message in zip(shown["messages"], ticket.messages):
        kept = [a for a in message.attachments if a.refused_reason is None]
        for file_out, attachment in zip(out["attachments"], kept):
            file_out["id"] = attachment.id
    shown["linked"] = [] if events is not None else [t.ref for t in links.linked(session, user, ticket)]
    return shown


def _shown_fresh(session, user: User, ticket) -> dict:
    """_shown after a change: the ticket read back with what the change wrote."""
    session.flush()
    session.refresh(ticket)
    return _shown(session, user, ticket)


@blp.get("")
@requires(READ)
@blp.arguments(TicketFilters(), location="query")
@blp.response(200, TicketPage)
@errors(blp, 422)
def list_(args: dict):
    """The tickets you may see, most recently updated first, a page at a time (follow `next`)."""
    try:
        after = Cursor.decode(args["cursor"]) if args.get("cursor") else None
    except BadCursor:
        raise Problem(422, "The cursor is not one this API gave.", errors={"cursor": ["unknown cursor"]}) from None
    status = args.get("status")
    listing = Listing(
        filters=Filters(status=Status(status) if status else None, category_id=args.get("category"),
                        created_from=args.get("created_after")),
        office=args.get("office", ""), assignee_email=args.get("assignee", ""),
        priority=args.get("priority", ""), words=args.get("q", ""), created_before=args.get("created_before"))
    policy = policy_now()
    with db().read() as session:
        user = me(session)
        rows, following = list_tickets(session, user, policy, listing, limit=args["limit"], after=after,
                                       recent=recent("directory"))
        page = {"items": [summary_of(row) for row in rows], "next": following.encode() if following else None}
    # Written out, not dumped through TicketPage (see summary_of); the document still shows TicketPage.
    return current_app.json.response(page)


@blp.get("/<ref>")
@requires(READ)
@blp.response(200, TicketOut)
@errors(blp, 404)
def read(ref: str):
    """One ticket with its messages, attachments and history, in the shape of `helpdesk export`."""
    with db().read() as session:
        user = me(session)
        return _shown(session, user, visible(session, user, ref))


@blp.post("")
@requires(WRITE)
@blp.arguments(NewTicket())
@blp.response(201, TicketOut)
@errors(blp, 422)
def create(body: dict):
    """Open a ticket for a requester (who gets the acknowledgement with the private link)."""
    policy = policy_now()  # as the mail path reads it: outside the write transaction
    with db().begin() as session:
        user = me(session)
        with _refusals_as_problems(), audit.kept(session) as events:
            ticket = on_behalf.open_for(session, settings(), policy, user, on_behalf.Request(
                requester_email=body["requester_email"], requester_name=body.get("requester_name") or "",
                subject=body["subject"], text=body["text"], category_id=body.get("category"),
                priority_name=body.get("priority")))
        # No refresh, no reading back: the intake leaves the new ticket, its
        # message and their values on the objects (what it wrote in plain
        # statements it set as loaded), and its history is what it recorded.
        return _shown(session, user, ticket, events=[e for e in events if e.ticket_id == ticket.id])


def _message_body() -> tuple[dict, list[Upload]]:
    """The message as JSON, or as multipart with files (fields text, internal, status, files)."""
    try:
        if request.mimetype == "multipart/form-data":
            if "files" in request.form:  # a form field, not a file part
                raise Problem(422, "Send each file as a file part named files.",
                              errors={"files": ["not a file"]})
            fields = {k: v for k, v in request.form.items()}
            uploads = [Upload(f.filename or "attachment", f.read()) for f in request.files.getlist("files")
                       if f.filename]
            body = NewMessageForm().load(fields)
            return {**body, "internal": body["internal"] == "true"}, uploads
        if request.mimetype != "application/json":
            raise Problem(415, "Send application/json or multipart/form-data.")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise Problem(422, "The body must be a JSON object.", errors={"json": ["not an object"]})
        return NewMessage().load(body), []
    except ValidationError as exc:
        raise Problem(422, "The request does not fit the schema; see errors.", errors=exc.messages) from None


@blp.post("/<ref>/messages")
@requires(WRITE)
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": NewMessage},
                                                    "multipart/form-data": {"schema": NewMessageForm}}})
@blp.response(201, TicketOut)
@errors(blp, 403, 404, 422)
def add_message(ref: str):
    """Reply to the requester (mailed in their thread) or add an internal note (`internal`: true)."""
    body, uploads = _message_body()
    try:
        # Checked before the write transaction, as the page does: an archive takes a moment to look into.
        checked = check_uploads(policy_now(), uploads) if uploads else []
    except UploadRefused as exc:
        raise Problem(422, f"{exc.filename} was refused: {exc.reason}", kind="refused",
                      errors={"files": [f"{exc.filename}: {exc.reason}"]}) from None
    with db().begin() as session:
        user = me(session)
        ticket = actionable(session, user, ref)
        policy = load_policy(session)
        with _refusals_as_problems():
            if body["internal"]:
                actions.add_note(session, settings(), policy, ticket, user, body["text"], uploads=checked)
            else:
                actions.reply(session, settings(), policy, ticket, user, body["text"], uploads=checked,
                              status=Status(body.get("status", "answered")))
        return _shown_fresh(session, user, ticket)


def _assignee_id(session, email: str | None) -> int | None:
    if email is None:
        return None
    found = find_staff(session, email)
    if found is None:
        raise ActionRefused("no such member of staff")
    return found.id


def _priority_id(session, name: str) -> int:
    found = next((p.id for p in triage.priorities(session) if p.name == name), None)
    if found is None:
        raise ActionRefused("no such priority")
    return found


@blp.patch("/<ref>")
@requires(WRITE)
@blp.arguments(TicketChange())
@blp.response(200, TicketOut)
@errors(blp, 403, 404, 422)
def change(body: dict, ref: str):
    """Change any of status, priority (by name), category (by id) and assignee (by email; null: nobody)."""
    with db().begin() as session:
        user = me(session)
        ticket = actionable(session, user, ref)
        policy = load_policy(session)
        with _refusals_as_problems():
            if "assignee" in body:
                actions.assign(session, settings(), policy, ticket, user, _assignee_id(session, body["assignee"]))
            if "priority" in body:
                triage.set_priority(session, policy, ticket, user, _priority_id(session, body["priority"]))
            if "category" in body:
                triage.set_category(session, ticket, user, body["category"])
            if "status" in body and Status(body["status"]) is not ticket.status:
                actions.change_status(session, settings(), policy, ticket, user, Status(body["status"]),
                                      reason=body.get("reason", ""))
        return _shown_fresh(session, user, ticket)


@blp.post("/<ref>/forward")
@requires(WRITE)
@blp.arguments(Forward())
@blp.response(200, TicketOut)
@errors(blp, 403, 404, 422)
def forward(body: dict, ref: str):
    """`to` null: forward up to the parent office (at the top: to a fellow admin).
    An office code: dispatch down into your office's subtree."""
    with db().begin() as session:
        user = me(session)
        ticket = actionable(session, user, ref)
        with _refusals_as_problems():
            if body["to"] is None:
                actions.forward(session, settings(), load_policy(session), ticket, user, body["reason"])
            else:
                office_id = session.scalar(select(Office.id).where(Office.code == body["to"].strip()))
                if office_id is None:
                    raise Problem(422, "No office has that code.", kind="unknown-office",
                                  errors={"to": ["no office has this code"]})
                actions.dispatch(session, settings(), load_policy(session), ticket, user, office_id, body["reason"])
        return _shown_fresh(session, user, ticket)


def _other(session, user: User, ref: str):
    try:
        return actions.find_actionable(session, user, ref)
    except (TicketNotFound, actions.ReadOnly):
        raise Problem(422, f"No ticket {ref.upper()[:32]} that your office holds.", kind="refused",
                      errors={"ref": ["not a ticket your office holds"]}) from None


@blp.post("/<ref>/merge")
@requires(WRITE)
@blp.arguments(OtherTicket())
@blp.response(200, TicketOut)
@errors(blp, 403, 404, 422)
def merge(body: dict, ref: str):
    """Merge this ticket into the ticket `ref` (both held by your office); returns the target."""
    with db().begin() as session:
        user = me(session)
        duplicate = actionable(session, user, ref)
        target = _other(session, user, body["ref"])
        with _refusals_as_problems():
            actions.merge(session, duplicate, target, user)
        return _shown_fresh(session, user, target)


@blp.post("/<ref>/links")
@requires(WRITE)
@blp.arguments(OtherTicket())
@blp.response(200, TicketOut)
@errors(blp, 403, 404, 422)
def link(body: dict, ref: str):
    """Note that this ticket and the ticket `ref` are related."""
    with db().begin() as session:
        user = me(session)
        ticket = actionable(session, user, ref)
        other = _other(session, user, body["ref"])
        with _refusals_as_problems():
            links.link(session, ticket, other, user)
        return _shown(session, user, ticket)


@blp.get("/<ref>/attachments/<int:attachment_id>")
@requires(READ)
@blp.response(200, {"type": "string", "format": "binary"}, content_type="*/*",
              description="The file, always as a download")
@errors(blp, 404)
def attachment(ref: str, attachment_id: int):
    """Download a kept attachment of a ticket you may see (the same check as the staff page)."""
    if attachment_id > MAX_ID or "\x00" in ref:  # past any id the database holds; a ref that cannot exist
        raise Problem(404, "No such attachment on a ticket you may see.")
    with db().read() as session:
        try:
            found = actions.find_attachment(session, me(session), ref, attachment_id)
        except TicketNotFound:
            raise Problem(404, "No such attachment on a ticket you may see.") from None
        name, kind, sha256 = found.filename, found.content_type, found.sha256
    path = Store(settings().path("store")).path(sha256)
    if not path.exists():
        raise Problem(404, "The file is missing from the store.")
    return send_file(path, mimetype=kind or "application/octet-stream", as_attachment=True, download_name=name)
