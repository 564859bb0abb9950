"""Secrets kept out of logs: the private ticket links and password-reset links
carry their token in the path, and a log line (an access log, a referer, a
redirect's Location, an exception "on /t/...") would hand the ticket or the
account to whoever reads the logs.

Every process masks them the same way: the web server's access and error
logs (weblog.py), the portal's own loggers, and the mail and task processes'
log handlers (`install`).
"""
from __future__ import annotations

import logging
import re

MASK = "***"
# Paths whose segment after the prefix is a secret, and query parameters that
# carry one (an OpenID Connect callback's code and state, any `token=`).
_SECRET_PATH = re.compile(r"(/t/|/password/reset/)[^/?#\s\"']+")
_SECRET_QUERY = re.compile(r"([?&;](?:token|code|state)=)[^&;#\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every token in a private or reset link replaced by ***."""
    if "/" not in text and "=" not in text:
        return text
    return _SECRET_QUERY.sub(r"\1" + MASK, _SECRET_PATH.sub(r"\1" + MASK, text))


class Redactor(logging.Filter):
    """Masks secrets in a record's message and in its traceback (an
    exception's text may quote the URL it failed on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters use a record's exc_text when it is set, so the masked one is written.
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        return True


_TRACEBACKS = logging.Formatter()


def install(*loggers: logging.Logger) -> None:
    """Mask secrets in everything the handlers of `loggers` write (the root
    logger's when none are named), whichever logger a record comes from."""
    for logger in loggers or (logging.getLogger(),):
        for handler in logger.handlers:
            if not any(isinstance(f, Redactor) for f in handler.filters):
                handler.addFilter(Redactor())
