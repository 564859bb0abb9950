"""The directory: offices (the tree in your sight, paged), categories,
priorities, and staff (admins)."""
from __future__ import annotations

import base64
import binascii

from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.directory.accounts import list_users
from core.queries.directory import offices_below
from core.tickets import categories, triage
from portal.api.common import errors
from portal.api.guard import ADMIN, READ, me, requires
from portal.api.problems import Problem
from portal.api.schemas import CategoryOut, OfficePage, PageArgs, PriorityOut, UserOut, items_of
from portal.context import db

blp = Blueprint("api_directory", __name__, url_prefix="/api/v1", description="Offices, categories, priorities, staff")


class OfficeArgs(PageArgs):
    kind = fields.String(validate=validate.Length(min=1, max=32), metadata={"description": "e.g. city, school"})


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Problem(422, "The cursor is not one this API gave.", errors={"cursor": ["unknown cursor"]}) from None


def _encode(path: str) -> str:
    return base64.urlsafe_b64encode(path.encode()).rstrip(b"=").decode()


@blp.get("/offices")
@requires(READ)
@blp.arguments(OfficeArgs(), location="query")
@blp.response(200, OfficePage)
@errors(blp, 422)
def offices(args: dict):
    """Your office and every office below it, a parent before its children; follow `next`."""
    after = _decode(args["cursor"]) if args.get("cursor") else None
    with db().read() as session:
        rows, last = offices_below(session, me(session), limit=args["limit"], after_path=after, kind=args.get("kind"))
        items = [{"code": r.code, "name": r.name, "kind": r.kind, "parent": r.parent, "path": r.path} for r in rows]
    return {"items": items, "next": _encode(last) if last else None}


@blp.get("/categories")
@requires(READ)
@blp.response(200, items_of(CategoryOut, "CategoryList"))
@errors(blp)
def category_list():
    """The active categories, each with its full label ("Group / Category / Sub")."""
    with db().read() as session:
        me(session)
        out = []

        def walk(nodes, prefix: str) -> None:
            for node in nodes:
                label = prefix + node.category.name
                out.append({"id": node.category.id, "name": node.category.name, "label": label,
                            "parent": node.category.parent_id})
                walk(node.children, label + " / ")
        walk(categories.tree(session), "")
    return {"items": out}


@blp.get("/priorities")
@requires(READ)
@blp.response(200, items_of(PriorityOut, "PriorityList"))
@errors(blp)
def priority_list():
    """The priorities, most urgent first (a higher level is more urgent), with their SLA hours."""
    with db().read() as session:
        me(session)
        return {"items": [{"name": p.name, "level": p.level, "first_response_hours": p.first_response_hours,
                           "resolution_hours": p.resolution_hours} for p in triage.priorities(session)]}


@blp.get("/users")
@requires(ADMIN)
@blp.response(200, items_of(UserOut, "UserList"))
@errors(blp, 403)
def users():
    """Staff of your office and below (admins only)."""
    with db().read() as session:
        admin = me(session)
        return {"items": [{"email": u.email, "name": u.name, "office": u.office.code, "role": u.role.value,
                           "active": u.active} for u in list_users(session, admin)]}
