"""The shapes of the API's bodies, as marshmallow schemas: they validate what
comes in and document what goes out (the OpenAPI document is built from them)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from core.models import Status

STATUSES = [s.value for s in Status]
MAX_LIMIT = 200


class JsonBool(fields.Boolean):
    """A JSON true or false only: marshmallow's Boolean also takes 0, 1, "yes"..., which the
    document (type: boolean) does not allow."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def iso(**kwargs) -> fields.String:
    """A time already written as ISO 8601 (the export's dicts carry strings)."""
    return fields.String(metadata={"format": "date-time"}, **kwargs)


class Strict(Schema):
    class Meta:
        ordered = True

    @pre_load
    def _no_nul(self, data, **_kwargs):
        """A NUL character is refused in every text: PostgreSQL cannot store one."""
        if hasattr(data, "items"):
            bad = [key for key, value in data.items() if isinstance(value, str) and "\x00" in value]
            if bad:
                raise ValidationError({key: ["contains a NUL character"] for key in bad})
        return data


# Auth

class Login(Strict):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class RefreshBody(Strict):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class Tokens(Strict):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"enum": ["Bearer"]})
    expires_in = fields.Integer(required=True)


# Tickets

class TicketFilters(Strict):
    status = fields.String(validate=validate.OneOf(STATUSES))
    office = fields.String(validate=validate.Length(min=1, max=32), metadata={"description": "an office code"})
    assignee = fields.String(validate=validate.Length(min=1, max=254),
                             metadata={"description": "an email, or 'none' for unassigned"})
    priority = fields.String(validate=validate.Length(min=1, max=40), metadata={"description": "a priority's name"})
    category = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                              metadata={"description": "a category id; its subcategories are included"})
    q = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "words of subject or text"})
    created_after = fields.Date(metadata={"description": "YYYY-MM-DD, inclusive"})
    created_before = fields.Date(metadata={"description": "YYYY-MM-DD, exclusive"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=200),
                           metadata={"description": "the `next` of the previous page"})


class TicketSummary(Strict):
    ref = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": STATUSES})
    priority = fields.String(required=True, allow_none=True)
    category = fields.String(required=True, allow_none=True)
    office = fields.String(required=True)
    assignee = fields.String(required=True, allow_none=True)
    requester = fields.String(required=True)
    subject = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


def summary_of(row) -> dict:
    """A row of core.queries.listing as TicketSummary dumps it, written out:
    marshmallow's dump of a 200-row page cost more of a list request's CPU
    than its query. TicketSummary stays the document; a test checks that both
    give the same (strings as they are, times in ISO 8601 as DateTime's "iso").
    The row is read by position (in core.queries.listing.ROW's order): by
    name, a row's attributes cost as much as the rest."""
    _id, ref, status, subject, requester, created_at, updated_at, office, assignee, priority, category = row
    return {"ref": ref, "status": status.value, "priority": priority, "category": category, "office": office,
            "assignee": assignee, "requester": requester, "subject": subject, "created_at": created_at.isoformat(),
            "updated_at": updated_at.isoformat()}


class TicketPage(Strict):
    items = fields.List(fields.Nested(TicketSummary), required=True)
    next = fields.String(required=True, allow_none=True)


class FileOut(Strict):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    content_type = fields.String(required=True)


class RefusedOut(Strict):
    filename = fields.String(required=True)
    reason = fields.String(required=True)


class MessageOut(Strict):
    direction = fields.String(required=True, metadata={"enum": ["in", "out", "note"]})
    # `from` is a Python keyword: the attribute is from_.
    from_ = fields.String(required=True, allow_none=True, data_key="from", attribute="from")
    message_id = fields.String(required=True, allow_none=True)
    created_at = iso(required=True, allow_none=True)
    auto_reply = fields.Boolean(required=True)
    text = fields.String(required=True)
    full_text = fields.String(required=True)
    html = fields.String(required=True, allow_none=True)
    attachments = fields.List(fields.Nested(FileOut), required=True)
    refused = fields.List(fields.Nested(RefusedOut), required=True)


class EventOut(Strict):
    at = iso(required=True)
    actor = fields.String(required=True)
    kind = fields.String(required=True)
    from_ = fields.String(required=True, allow_none=True, data_key="from", attribute="from")
    to = fields.String(required=True, allow_none=True)


class TicketOut(Strict):
    """A ticket in the shape of `helpdesk export`, with the attachments' ids for download."""
    ref = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": STATUSES})
    office = fields.String(required=True)
    assignee = fields.String(required=True, allow_none=True)
    priority = fields.String(required=True, allow_none=True)
    category = fields.String(required=True, allow_none=True)
    requester = fields.String(required=True)
    school = fields.String(required=True, allow_none=True)
    subject = fields.String(required=True)
    created_at = iso(required=True)
    closed_at = iso(required=True, allow_none=True)
    messages = fields.List(fields.Nested(MessageOut), required=True)
    events = fields.List(fields.Nested(EventOut), required=True)
    linked = fields.List(fields.String(), required=True)


class NewTicket(Strict):
    requester_email = fields.Email(required=True, validate=validate.Length(max=254))
    requester_name = fields.String(validate=validate.Length(max=200), load_default="")
    subject = fields.String(required=True, validate=validate.Length(min=1, max=255))
    text = fields.String(required=True, validate=validate.Length(min=1, max=100_000))
    category = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), allow_none=True)
    priority = fields.String(validate=validate.Length(min=1, max=40), allow_none=True,
                             metadata={"description": "a priority's name"})


class NewMessage(Strict):
    text = fields.String(required=True, validate=validate.Length(min=1, max=100_000))
    internal = JsonBool(load_default=False, metadata={"description": "true: an internal note"})
    status = fields.String(validate=validate.OneOf([s for s in STATUSES if s != "forwarded"]),
                           metadata={"description": "the ticket's status after a public reply (default answered)"})


class NewMessageForm(NewMessage):
    """The same as multipart/form-data, where every field is text: internal is "true" or "false"."""
    internal = fields.String(load_default="false", validate=validate.OneOf(["true", "false"]),
                             metadata={"description": "true: an internal note"})
    files = fields.Raw(metadata={"type": "array", "items": {"type": "string", "format": "binary"}})


class TicketChange(Strict):
    """At least one change (an empty body changes nothing and is refused)."""
    status = fields.String(validate=validate.OneOf([s for s in STATUSES if s != "forwarded"]))
    priority = fields.String(validate=validate.Length(min=1, max=40), metadata={"description": "a priority's name"})
    category = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), allow_none=True)
    assignee = fields.Email(allow_none=True, metadata={"description": "a staff email; null: back to the pool"})
    reason = fields.String(validate=validate.Length(max=2000), load_default="")

    @validates_schema
    def _something(self, data: dict, **_kwargs) -> None:
        if not {"status", "priority", "category", "assignee"} & data.keys():
            raise ValidationError("give at least one of status, priority, category, assignee")


class Forward(Strict):
    to = fields.String(required=True, allow_none=True, validate=validate.Length(min=1, max=32),
                       metadata={"description": "an office code to dispatch down to; null: forward up"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class OtherTicket(Strict):
    ref = fields.String(required=True, validate=validate.Length(min=1, max=32))


# Directory

class PageArgs(Strict):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(min=1, max=200))


class OfficeOut(Strict):
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    parent = fields.String(required=True, allow_none=True)
    path = fields.String(required=True)


class OfficePage(Strict):
    items = fields.List(fields.Nested(OfficeOut), required=True)
    next = fields.String(required=True, allow_none=True)


class CategoryOut(Strict):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    label = fields.String(required=True)
    parent = fields.Integer(required=True, allow_none=True)


class PriorityOut(Strict):
    name = fields.String(required=True)
    level = fields.Integer(required=True)
    first_response_hours = fields.Integer(required=True, allow_none=True)
    resolution_hours = fields.Integer(required=True, allow_none=True)


class UserOut(Strict):
    email = fields.String(required=True)
    name = fields.String(required=True)
    office = fields.String(required=True)
    role = fields.String(required=True)
    active = fields.Boolean(required=True)



def items_of(schema: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict({"items": fields.List(fields.Nested(schema), required=True)}, name=name)


# Reports

class ReportArgs(Strict):
    from_ = fields.Date(data_key="from", metadata={"description": "YYYY-MM-DD; default 29 days before `to`"})
    to = fields.Date(metadata={"description": "YYYY-MM-DD; default today"})


class FiguresOut(Strict):
    created = fields.Integer(required=True)
    closed = fields.Integer(required=True)
    still_open = fields.Integer(required=True)
    hours_to_first_answer = fields.Float(required=True, allow_none=True)
    hours_to_resolution = fields.Float(required=True, allow_none=True)
    breached = fields.Integer(required=True)
    breach_percent = fields.Float(required=True, allow_none=True)
    satisfied = fields.Integer(required=True)
    unsatisfied = fields.Integer(required=True)
    satisfied_percent = fields.Float(required=True, allow_none=True)


class ReportRow(Strict):
    code = fields.String(required=True)
    name = fields.String(required=True)
    note = fields.String(required=True)
    figures = fields.Nested(FiguresOut, required=True)


class ReportOut(Strict):
    office = fields.String(required=True)
    start = fields.Date(required=True, data_key="from")
    end = fields.Date(required=True, data_key="to")
    total = fields.Nested(FiguresOut, required=True)
    offices = fields.List(fields.Nested(ReportRow), required=True)
    agents = fields.List(fields.Nested(ReportRow), required=True)
    by_priority = fields.List(fields.Nested(ReportRow), required=True)
    by_category = fields.List(fields.Nested(ReportRow), required=True)
