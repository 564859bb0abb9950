"""Bulk jobs: one staff action over many tickets, its progress and its report
(core.tickets.bulk runs them, in the request or in a worker)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, StrEnum, utcnow
from core.models.directory import User, enum_column


class JobStatus(StrEnum):
    pending = "pending"    # waiting for a worker
    running = "running"
    done = "done"
    failed = "failed"      # stopped by an error outside any one ticket (see `error`)


class BulkJob(Base):
    """The selection is frozen when the job is made (`refs`, JSON), so "all
    matching this filter" means the tickets that matched then. `done` counts
    the tickets handled so far, changed or refused; `report` is a JSON list
    of [ref, reason] for the refused ones."""

    __tablename__ = "bulk_job"
    __table_args__ = (Index("ix_bulk_job_status_created", "status", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    params: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    refs: Mapped[str] = mapped_column(Text, default="[]")    # JSON
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[str] = mapped_column(Text, default="[]")  # JSON
    status: Mapped[JobStatus] = enum_column(JobStatus, default=JobStatus.pending)
    error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]

    actor: Mapped[User] = relationship()
