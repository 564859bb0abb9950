"""Categories and priorities (with their SLA hours), as admins edit them."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit
from core.models import Category, Office, Priority, User
from core.words import N_


class CatalogError(ValueError):
    pass


def list_categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).order_by(Category.parent_id.is_not(None), Category.name)))


def save_category(session: Session, actor: User, *, name: str, parent_id: int | None = None,
                  office_code: str = "", active: bool = True, category_id: int | None = None) -> Category:
    name = name.strip()
    if not name:
        raise CatalogError(N_("a category needs a name"))
    category = session.get(Category, category_id) if category_id else Category()
    if category is None:
        raise CatalogError(N_("no such category"))
    if parent_id and (session.get(Category, parent_id) is None or parent_id == category_id):
        raise CatalogError(N_("no such parent category"))
    office = None
    if office_code.strip():
        office = session.scalar(select(Office).where(Office.code == office_code.strip()))
        if office is None:
            raise CatalogError(N_("no office %(code)s") % {"code": repr(office_code)})
    category.name, category.parent_id, category.active = name[:120], parent_id or None, active
    category.default_office_id = office.id if office else None
    session.add(category)
    session.flush()
    audit.record(session, None, "category", actor, to_value=f"{category.id} {name}")
    return category


@dataclass(frozen=True)
class PriorityForm:
    name: str
    level: int
    first_response_hours: int | None
    resolution_hours: int | None
    escalate_on_breach: bool
    is_default: bool


def list_priorities(session: Session) -> list[Priority]:
    return list(session.scalars(select(Priority).order_by(Priority.level)))


def save_priority(session: Session, actor: User, form: PriorityForm, priority_id: int | None = None) -> Priority:
    if not form.name.strip():
        raise CatalogError(N_("a priority needs a name"))
    for hours in (form.first_response_hours, form.resolution_hours):
        if hours is not None and hours <= 0:
            raise CatalogError(N_("SLA hours must be positive (leave empty for none)"))
    clash = session.scalar(select(Priority.id).where(Priority.name == form.name.strip()))
    if clash and clash != priority_id:
        raise CatalogError(N_("a priority %(name)s already exists") % {"name": repr(form.name)})
    priority = session.get(Priority, priority_id) if priority_id else Priority()
    if priority is None:
        raise CatalogError(N_("no such priority"))
    if form.is_default:  # one default at a time
        session.execute(update(Priority).values(is_default=False))
    priority.name, priority.level = form.name.strip()[:40], form.level
    priority.first_response_hours, priority.resolution_hours = form.first_response_hours, form.resolution_hours
    priority.escalate_on_breach, priority.is_default = form.escalate_on_breach, form.is_default
    session.add(priority)
    session.flush()
    audit.record(session, None, "priority", actor, to_value=(
        f"{priority.name}: {form.first_response_hours}h/{form.resolution_hours}h"))
    return priority
