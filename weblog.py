"""Gunicorn's logger with the secrets of private and reset links masked:
`gunicorn --logger-class weblog.MaskingLogger`.

The access log would otherwise write each customer's private token and each
password-reset token (in the request line, a page's Referer, a redirect's
Location); the error log quotes request paths when a request fails. This
module imports no portal code, so gunicorn's master loads it cheaply.
"""
from __future__ import annotations

from gunicorn import glogging

from core.access.redaction import Redactor, redact


class MaskingLogger(glogging.Logger):
    """glogging.Logger whose access-log atoms and error-log lines are masked."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if not any(isinstance(f, Redactor) for f in self.error_log.filters):
            self.error_log.addFilter(Redactor())

    def atoms(self, resp, req, environ, request_time) -> dict:
        return {name: redact(value) if isinstance(value, str) else value
                for name, value in super().atoms(resp, req, environ, request_time).items()}
