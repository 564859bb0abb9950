"""Reports: the figures of /staff/reports as JSON (core.queries.reports)."""
from __future__ import annotations

from dataclasses import asdict

from flask_smorest import Blueprint

from core.models import utcnow
from core.queries.reports import BadPeriod, Figures, Row, office_report, period
from portal.api.common import errors
from portal.api.guard import READ, me, requires
from portal.api.problems import Problem
from portal.api.schemas import ReportArgs, ReportOut
from portal.context import db

blp = Blueprint("api_reports", __name__, url_prefix="/api/v1/reports", description="Reports")


def _figures(f: Figures) -> dict:
    return {**{k: v for k, v in asdict(f).items() if not k.endswith("_seconds") and k != "responded"
               and k != "resolved"}, "hours_to_first_answer": f.hours_to_first_answer,
            "hours_to_resolution": f.hours_to_resolution, "breach_percent": f.breach_percent,
            "satisfied_percent": f.satisfied_percent}


def _row(row: Row) -> dict:
    return {"code": row.code, "name": row.name, "note": row.note, "figures": _figures(row.figures)}


@blp.get("")
@requires(READ)
@blp.arguments(ReportArgs(), location="query")
@blp.response(200, ReportOut)
@errors(blp, 422)
def report(args: dict):
    """How your office and each office below it did over a period (created in it, both days
    included; default the last 30 days), by office, by agent, by priority and by category."""
    try:
        start, end = period(args.get("from_"), args.get("to"), utcnow().date())
    except BadPeriod as bad:
        raise Problem(422, str(bad).capitalize() + ".", errors={"from": [str(bad)]}) from None
    with db().read() as session:
        found = office_report(session, me(session), start, end)
        return {"office": found.office.code, "start": found.start, "end": found.end, "total": _figures(found.total),
                "offices": [_row(r) for r in found.offices], "agents": [_row(r) for r in found.agents],
                "by_priority": [_row(r) for r in found.by_priority],
                "by_category": [_row(r) for r in found.by_category]}
