"""Errors of the API as `application/problem+json` (RFC 9457).

Every error has a stable `type` URI (PROBLEM_BASE + a short name that never
changes), the HTTP status, a title, and a `detail` for people. Validation
errors add `errors`: the fields and what is wrong with each.
"""
from __future__ import annotations

from http import HTTPStatus

from flask import Response, json, request
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

API_PREFIX = "/api/v1"
PROBLEM_TYPE = "application/problem+json"
# Type URIs identify the kind of problem; .invalid never resolves, by design (RFC 2606).
PROBLEM_BASE = "https://helpdesk.invalid/problems/"
KINDS = {
    400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
    406: "not-acceptable", 409: "conflict", 413: "too-large", 415: "unsupported-media-type",
    422: "invalid", 429: "too-many-requests", 500: "server-error", 503: "unavailable",
}


class ProblemSchema(Schema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.Raw())


class Problem(Exception):
    """Raised by an API view: answered as a problem document."""

    def __init__(self, status: int, detail: str | None = None, *, kind: str | None = None,
                 errors: dict | None = None, headers: dict | None = None):
        super().__init__(detail or HTTPStatus(status).phrase)
        self.status, self.detail, self.kind, self.errors, self.headers = status, detail, kind, errors, headers


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def problem(status: int, detail: str | None = None, *, kind: str | None = None, errors: dict | None = None,
            headers: dict | None = None) -> Response:
    kind = kind or KINDS.get(status, "error")
    body: dict = {"type": PROBLEM_BASE + kind, "title": HTTPStatus(status).phrase, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="helpdesk"'
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_http_exception(error: HTTPException) -> Response:
    """Any HTTP error raised on an API path (an unknown route, a bad method,
    webargs' validation failure) as a problem document."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("messages") if isinstance(data, dict) else None
    detail = None if status >= 500 else error.description
    if errors:
        detail = "The request does not fit the schema; see errors."
    response = problem(status, detail, errors=_flatten(errors) if errors else None)
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    return response


def _flatten(errors: dict) -> dict:
    """webargs nests messages by location ("json", "query"): one flat field map."""
    flat: dict = {}
    for location, fields_ in errors.items():
        if isinstance(fields_, dict):
            flat.update(fields_)
        else:
            flat[location] = fields_
    return flat


def from_problem(error: Problem) -> Response:
    return problem(error.status, error.detail, kind=error.kind, errors=error.errors, headers=error.headers)
