"""Wiring the API into the portal: the flask-smorest Api (OpenAPI 3.1), the
blueprints, the bearer guard and the problem documents."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from portal.api import guard
from portal.api.problems import API_PREFIX, PROBLEM_TYPE, Problem, ProblemSchema, from_http_exception, \
    from_problem, is_api_request
from portal.context import csrf

OPENAPI_VERSION = "3.1.0"


class HelpdeskApi(Api):
    """flask-smorest's Api with our errors: problem documents on API paths only
    (smorest's own handler would answer every portal page's errors in JSON)."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def _register_error_handlers(self):
        app = self._app

        @app.errorhandler(Problem)
        def _problem(error: Problem):
            return from_problem(error)

        @app.errorhandler(HTTPException)
        def _http_error(error: HTTPException):
            # The portal's own 404 and 500 pages call api_error() themselves on API paths.
            return from_http_exception(error) if is_api_request() else error

    def _register_responses(self):
        # smorest registers a response per status with ERROR_SCHEMA as application/json;
        # ours are application/problem+json.
        saved, self.DEFAULT_RESPONSE_CONTENT_TYPE = self.DEFAULT_RESPONSE_CONTENT_TYPE, PROBLEM_TYPE
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = saved


def api_error(error: HTTPException):
    """For the portal's error pages: the problem document when the path is the API's, else None."""
    return from_http_exception(error) if is_api_request() else None


def _blueprints():
    from portal.api import auth_views, directory_views, report_views, ticket_views, webhook_views
    return [auth_views.blp, ticket_views.blp, directory_views.blp, report_views.blp, webhook_views.blp]


def init_app(app: Flask) -> Api:
    app.config.update(
        API_TITLE="Helpdesk API",
        API_VERSION="v1",
        OPENAPI_VERSION=OPENAPI_VERSION,
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "Everything staff do on the pages, with the same rules. "
                                    "Errors are application/problem+json (RFC 9457)."},
            "servers": [{"url": "/"}],
            "security": [{"bearer": []}],
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                          "description": "An access token from /api/v1/auth/login "
                                                                         "or an API token (hd_...)."}}},
        },
    )
    api = HelpdeskApi(app)
    guard.init_app(app)
    for blp in _blueprints():
        csrf.exempt(blp)  # bearer tokens, no cookies: nothing for a forged form to ride on
        api.register_blueprint(blp)
    from portal.api.docs_views import blp as docs_blp
    app.register_blueprint(docs_blp)
    app.extensions["helpdesk.api"] = api
    return api
