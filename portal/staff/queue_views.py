"""The staff home: the queues with their counts, filters, sorting and pages; and search."""
from __future__ import annotations

from datetime import date

from flask import abort, redirect, render_template, request, url_for

from core.config.policy import load_policy
from core.models import Status
from core.queries.queues import QUEUES, SORTS, Choice, Filters, count_queues, filter_choices, list_queue, scope_of
from core.queries.search import search_tickets
from core.tickets.canned import list_canned
from portal.context import db, recent
from portal.auth import STAFF, access
from portal.staff.blueprint import bp, me


# The bulk actions a queue page offers, in the order of its menu.
BULK_KINDS = ("reply", "note", "status", "assign", "priority", "category", "attach")


def canned_choices(session, user) -> list[Choice]:
    """The canned responses the user may use, kept a while (using one reads it afresh)."""
    return recent("directory").get(("canned", user.office.path), lambda: [
        Choice(c.id, c.title) for c in list_canned(session, user)])


def forget_counts() -> None:
    """After a change made through this process, its next queue page counts afresh."""
    recent("counts").forget()


def _int(name: str, values=None) -> int | None:
    value = (request.args if values is None else values).get(name, "")
    return int(value) if value.isdigit() else None


def _date(name: str, values) -> date | None:
    try:
        return date.fromisoformat(values.get(name, ""))
    except ValueError:
        return None


def filters_from(values) -> Filters:
    """The queue filters in the query string, or repeated in a posted form (bulk actions)."""
    status = values.get("status", "")
    return Filters(
        status=Status(status) if status in Status.__members__ else None,
        priority_id=_int("priority", values), category_id=_int("category", values),
        assignee_id=_int("assignee", values), school=values.get("school", "").strip().upper()[:32],
        created_from=_date("from", values), created_to=_date("to", values),
    )


def filters_from_args() -> Filters:
    return filters_from(request.args)


@bp.get("/staff/")
@access(STAFF)
def home():
    name = request.args.get("queue", "mine")
    if name not in QUEUES:
        abort(404)
    sort = request.args.get("sort", "updated")
    with db().read() as session:
        user = me(session)
        policy = load_policy(session)
        scope = scope_of(session, user, policy, recent=recent("directory"))
        counts = count_queues(session, user, policy, scope=scope, recent=recent("counts"))
        page = list_queue(session, user, name, policy, filters=filters_from_args(), scope=scope, total=counts[name],
                          sort=sort if sort in SORTS else "updated", page=_int("page") or 1)
        return render_template("staff/queues.html", queues=QUEUES, counts=counts,
                               current=name, page=page, sort=sort, sorts=list(SORTS), args=request.args,
                               choices=filter_choices(session, user, recent=recent("directory")),
                               statuses=list(Status), user=user, canned=canned_choices(session, user),
                               bulk_kinds=BULK_KINDS)


@bp.get("/staff/search")
@access(STAFF)
def search():
    query = request.args.get("q", "").strip()[:200]
    with db().read() as session:
        user = me(session)
        result = search_tickets(session, user, query, page=_int("page") or 1, policy=load_policy(session),
                                recent=recent("directory"))
        if result.exact is not None:
            return redirect(url_for("staff.ticket", ref=result.exact.ref))
        return render_template("staff/search.html", query=query, result=result, user=user)
