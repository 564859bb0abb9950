"""Who may call which API endpoint: the bearer token, read once per request,
and the scope each view declares with `@requires(...)`.

A bearer token is either an access token from `POST /api/v1/auth/login`
(a JWT: every scope its user's role allows) or an API token from
`helpdesk create-token` (its own scopes). Scopes: `read` for GET, `write` for
changes, `admin` for what only admins may do (the user must be an admin as
well). A view without a declared scope is refused, so a new endpoint cannot
be left open by forgetting. Missing, malformed, expired and revoked tokens
all get the same 401.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from core import audit
from core.access import apitokens, bearer
from core.access.logins import active_user
from core.config.policy import Policy, read_policy, read_policy_beside
from core.models import Role, User
from portal.api.problems import Problem, is_api_request
from portal.context import db, settings

PUBLIC, READ, WRITE, ADMIN = "public", "read", "write", "admin"
RULES = (PUBLIC, READ, WRITE, ADMIN)
# smorest's own blueprint serves the OpenAPI document; the docs page is ours and public.
PUBLIC_BLUEPRINTS = ("api-docs",)


@dataclass(frozen=True)
class Caller:
    user_id: int
    scopes: frozenset[str]
    token_name: str | None = None  # an API token's name; None for a log-in's access token
    holder: bearer.Holder | None = None  # an access token's user, as the guard read it


def requires(rule: str) -> Callable:
    if rule not in RULES:
        raise ValueError(f"unknown API rule {rule!r}")

    def mark(view: Callable) -> Callable:
        view.api_rule = rule
        return view
    return mark


def rule_of(app: Flask, endpoint: str) -> str | None:
    return getattr(app.view_functions.get(endpoint), "api_rule", None)


def caller() -> Caller:
    return g.api_caller


def me(session: Session) -> User:
    """The calling user's row in this session (switched off since the token was read: 401).
    An access token's user is the row the guard read, with no query again."""
    found = caller()
    if found.holder is not None:
        return bearer.user_of(session, found.holder)
    user = active_user(session, found.user_id)
    if user is None:
        raise Problem(401, "The token is not valid.")
    return user


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _scopes_of(role: Role) -> frozenset[str]:
    return frozenset({READ, WRITE, ADMIN} if role is Role.admin else {READ, WRITE})


def authenticate(token: str) -> Caller:
    """The caller a bearer token names, or Problem(401)."""
    if apitokens.looks_like(token):
        with db().begin() as session:  # stamps the token's last use (at most once a minute)
            row = apitokens.find(session, token)
            if row is None:
                raise Problem(401, "The token is not valid.")
            scopes = frozenset(row.scopes.split()) & _scopes_of(row.user.role)
            return Caller(row.user_id, scopes, row.name)
    def read_with_policy(statement, params) -> list[tuple]:
        rows, g.api_policy = read_policy_beside(db(), statement, params)
        return rows
    try:
        holder = bearer.holder_of_access(db(), settings().secret_key, token, read=read_with_policy)
    except bearer.BadToken:
        raise Problem(401, "The token is not valid.") from None
    return Caller(holder.user_id, _scopes_of(holder.role), holder=holder)


def policy() -> Policy:
    """The policy for this request, read outside any transaction: with the
    caller's user by the guard (one round trip for both), else now."""
    return g.get("api_policy") or read_policy(db())


def _enforce() -> None:
    if not is_api_request() or request.endpoint is None or request.blueprint in PUBLIC_BLUEPRINTS:
        return
    rule = rule_of(current_app, request.endpoint)
    if rule is None:
        raise Problem(403, "This endpoint declares no access rule.")
    if rule == PUBLIC:
        return
    token = _bearer_token()
    if token is None:
        raise Problem(401, "Send a bearer token: Authorization: Bearer <token>.")
    found = authenticate(token)
    if rule not in found.scopes:
        raise Problem(403, f"The token lacks the {rule} scope.")
    g.api_caller = found


def init_app(app: Flask) -> None:
    app.before_request(_enforce)

    @app.before_request
    def _audit_channel():
        # Every audit event written while serving an API token's request names the token.
        found = g.get("api_caller")
        if found is not None and found.token_name:
            g.api_audit = audit.via(f"api token {found.token_name}")
            g.api_audit.__enter__()

    @app.teardown_request
    def _end_audit_channel(_error):
        channel = g.pop("api_audit", None)
        if channel is not None:
            channel.__exit__(None, None, None)
