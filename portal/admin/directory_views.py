"""The admin home and the directory import (CSV upload with its bad-row report)."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from core.directory.csvrows import BadDirectory, read_directory
from core.directory.offices import import_directory
from portal.admin.blueprint import bp
from portal.context import db
from portal.auth import ADMIN, SYSTEM, access
from portal.i18n import localize
from portal.staff.blueprint import me


@bp.get("/")
@access(ADMIN)
def index():
    return render_template("admin/index.html")


@bp.route("/directory", methods=["GET", "POST"])
@access(SYSTEM)
def directory():
    if request.method == "GET":
        return render_template("admin/directory.html", report=None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_template("admin/directory.html", report=None, error=_("Choose a CSV file.")), 400
    try:
        with db().begin() as session:
            report = import_directory(session, read_directory(upload.read()), actor=me(session))
    except BadDirectory as exc:
        return render_template("admin/directory.html", report=None, error=localize(exc)), 400
    return render_template("admin/directory.html", report=report, filename=upload.filename)
