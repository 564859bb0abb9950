"""Schemathesis hooks for .ci/api-fuzz (loaded through SCHEMATHESIS_HOOKS).

A multipart form carries every field as text, so a "negative" reply that
Schemathesis means to be refused can reach the API as a valid one:

- an object or a number where the schema says the string `text` goes out as
  its JSON, which on the wire is a valid string of text;
- a reply whose required `text` was dropped, with additional properties
  allowed, can come back with an "additional" field that happens to be named
  `text` (seen in CI's stateful phase: "violates `required`,
  `additionalProperties` (was text)", sent with a well-formed text field).

The check that expects a refusal would then fail on a request the schema
allows. So a negative multipart reply is dropped exactly when the API's own
form schema (the one the endpoint loads and the OpenAPI document is made
from) accepts its fields as they go on the wire. Every other negative
multipart case stays, and the same mutations as JSON (where an object is an
object) are still sent and must be refused.
"""
import json

import schemathesis
from schemathesis.core.parameters import ParameterLocation

from portal.api.schemas import NewMessageForm


def _on_the_wire(value: object) -> object:
    """A form field's value as the server reads it: text as it is, anything else as its JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def valid_as_sent(body: dict) -> bool:
    """Whether `body` is a reply the API accepts: its files a list of file parts (or none), its
    other fields valid as text. A `files` that is not a list stays, for the API refuses it."""
    if not isinstance(body.get("files", []), list):
        return False
    fields = {key: _on_the_wire(value) for key, value in body.items() if key != "files"}
    return not NewMessageForm().validate(fields)


@schemathesis.hook.apply_to(method="POST", path_regex=r"/messages$")
def filter_case(context, case) -> bool:
    if case.media_type != "multipart/form-data" or not isinstance(case.body, dict):
        return True
    meta = case.meta
    if meta is None or not meta.is_negative_at(ParameterLocation.BODY):
        return True
    return not valid_as_sent(case.body)
