"""The staff home: the queues with their counts, filters, sorting and pages; and search."""
from __future__ import annotations

from datetime import date

from flask import abort, current_app, redirect, render_template, request, url_for

from core.config.policy import load_policy
from core.models import Status
from core.queries.queues import QUEUES, SORTS, Filters, count_queues, filter_choices, list_queue, scope_of
from core.queries.search import search_tickets
from core.storage.recent import RecentAnswers
from portal.context import db
from portal.auth import STAFF, access
from portal.staff.blueprint import bp, me


# How long one process reuses what the queue page shows around the list: the
# counts (seconds: staff act on tickets all day) and the directory's side of
# things, the offices below and the filter lists (they change with admin work).
COUNTS_SECONDS = 5
DIRECTORY_SECONDS = 30


def recent(kind: str) -> RecentAnswers:
    """This app's memory of recent answers of one kind ("counts" or "directory")."""
    kept = current_app.extensions.setdefault("helpdesk.staff_recent", {
        "counts": RecentAnswers(COUNTS_SECONDS), "directory": RecentAnswers(DIRECTORY_SECONDS)})
    return kept[kind]


def forget_counts() -> None:
    """After a change made through this process, its next queue page counts afresh."""
    recent("counts").forget()


def _int(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def filters_from_args() -> Filters:
    status = request.args.get("status", "")
    return Filters(
        status=Status(status) if status in Status.__members__ else None,
        priority_id=_int("priority"), category_id=_int("category"), assignee_id=_int("assignee"),
        school=request.args.get("school", "").strip().upper()[:32],
        created_from=_date("from"), created_to=_date("to"),
    )


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
                               statuses=list(Status), user=user)


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
