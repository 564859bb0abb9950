"""Triage rules: what admins say a new ticket's category and priority are,
from words in its subject or body, the sender's school or the category the
customer chose (core.tickets.rules applies them)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, utcnow
from core.models.directory import Office
from core.models.tickets import Category, Priority


class TriageRule(Base):
    """Every condition given must hold (keyword: any of its comma-separated
    phrases); the first rule in position order that sets a field sets it."""

    __tablename__ = "triage_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    keyword: Mapped[str] = mapped_column(String(200), default="")
    school_id: Mapped[Optional[int]] = mapped_column(ForeignKey("office.id"))
    category_id: Mapped[Optional[int]] = mapped_column(ForeignKey("category.id"))
    set_category_id: Mapped[Optional[int]] = mapped_column(ForeignKey("category.id"))
    set_priority_id: Mapped[Optional[int]] = mapped_column(ForeignKey("priority.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    school: Mapped[Optional[Office]] = relationship()
    category: Mapped[Optional[Category]] = relationship(foreign_keys=[category_id])
    set_category: Mapped[Optional[Category]] = relationship(foreign_keys=[set_category_id])
    set_priority: Mapped[Optional[Priority]] = relationship()
