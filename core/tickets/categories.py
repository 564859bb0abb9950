"""Categories as a tree: group -> category -> subcategory (Category.parent_id).

A category may name a default office. It routes only tickets whose sender the
directory does not know (the web form or mail from an unknown address), which
would otherwise land in triage: a school's ticket always starts at the
school's parent office, because tickets never skip a tier.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from core.models import Category, Office

# Deep enough for group -> category -> subcategory; a guard against cycles.
MAX_DEPTH = 8


def lineage(category: Category, session: Session | None = None) -> list[Category]:
    """The category and its ancestors, root (the group) first."""
    chain: list[Category] = []
    current: Category | None = category
    while current is not None and len(chain) < MAX_DEPTH:
        chain.append(current)
        if current.parent_id is None:
            break
        current = (session or _session_of(current)).get(Category, current.parent_id)
    return chain[::-1]


def _session_of(category: Category) -> Session:
    found = object_session(category)
    if found is None:
        raise ValueError("the category is not attached to a session")
    return found


def label(category: Category) -> str:
    """"Group / Category / Subcategory", as lists and exports show it."""
    return " / ".join(c.name for c in lineage(category))


def default_office(category: Category | None) -> Office | None:
    """The nearest default office up the category's lineage; None if no level names one."""
    if category is None:
        return None
    for level in reversed(lineage(category)):
        if level.default_office is not None and level.default_office.active:
            return level.default_office
    return None


@dataclass
class Node:
    category: Category
    children: list["Node"] = field(default_factory=list)


def tree(session: Session, *, active_only: bool = True) -> list[Node]:
    """Every category as a forest of groups, each level sorted by name."""
    query = select(Category).order_by(Category.name)
    if active_only:
        query = query.where(Category.active.is_(True))
    rows = list(session.scalars(query))
    nodes = {c.id: Node(c) for c in rows}
    roots: list[Node] = []
    for c in rows:
        parent = nodes.get(c.parent_id) if c.parent_id else None
        (parent.children if parent else roots).append(nodes[c.id])
    return roots


def choices(session: Session) -> list[tuple[int, str]]:
    """(id, "Group / Category / Subcategory") for every active leaf, for a form's select."""
    out: list[tuple[int, str]] = []

    def walk(node: Node, prefix: str) -> None:
        name = f"{prefix}{node.category.name}"
        if not node.children:
            out.append((node.category.id, name))
        for child in node.children:
            walk(child, name + " / ")

    for root in tree(session):
        walk(root, "")
    return out
