"""Reports: how the user's office and the offices below it did over a period."""
from __future__ import annotations

import csv
import io
from datetime import date

from flask import Response, render_template, request
from flask_babel import gettext as _

from core.models import utcnow
from core.queries.reports import BadPeriod, as_csv_rows, office_report, period
from portal.context import db
from portal.auth import STAFF, access
from portal.i18n import localize
from portal.staff.blueprint import bp, me


def _day(name: str) -> tuple[date | None, str | None]:
    value = request.args.get(name, "").strip()
    if not value:
        return None, None
    try:
        return date.fromisoformat(value), None
    except ValueError:
        return None, _("Write a date as YYYY-MM-DD.")


def _period() -> tuple[date, date, dict[str, str]]:
    """The period from the query string, and a message per bad field."""
    (start, start_error), (end, end_error) = _day("from"), _day("to")
    errors = {k: v for k, v in (("from", start_error), ("to", end_error)) if v}
    try:
        start, end = period(start, end, utcnow().date())
    except BadPeriod as bad:
        reason = localize(bad)
        errors["from"] = reason[:1].upper() + reason[1:] + "."
        start, end = period(None, None, utcnow().date())
    return start, end, errors


@bp.get("/staff/reports")
@access(STAFF)
def reports():
    start, end, errors = _period()
    with db().read() as session:
        user = me(session)
        report = office_report(session, user, start, end)
        return render_template("staff/reports.html", report=report, errors=errors, args=request.args,
                               user=user)


@bp.get("/staff/reports.csv")
@access(STAFF)
def reports_csv():
    start, end, _errors = _period()
    with db().read() as session:
        report = office_report(session, me(session), start, end)
        out = io.StringIO()
        csv.writer(out).writerows(as_csv_rows(report))
    name = f"report-{report.office.code}-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
