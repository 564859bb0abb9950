"""Log-in, refresh and log-out of the API. The log-in is the portal's: the
same password check and the same lockout after repeated failures."""
from __future__ import annotations

from flask_smorest import Blueprint

from core.access import bearer
from core.access.logins import LoginRefused, verify_login
from portal.api.common import errors
from portal.api.guard import PUBLIC, requires
from portal.api.problems import Problem
from portal.api.schemas import Login, RefreshBody, Tokens
from portal.context import db, settings

blp = Blueprint("api_auth", __name__, url_prefix="/api/v1/auth", description="Log-in with tokens")
REFUSED = "Wrong email or password, or the account is locked for a while."


def _pair(pair: bearer.TokenPair) -> dict:
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token,
            "token_type": pair.token_type, "expires_in": pair.expires_in}


@blp.post("/login")
@requires(PUBLIC)
@blp.doc(security=[])
@blp.arguments(Login())
@blp.response(200, Tokens)
@errors(blp)
def login(body: dict):
    """Log in with email and password: an access token and a refresh token."""
    with db().begin() as session:
        try:
            user = verify_login(session, body["email"], body["password"])
        except LoginRefused:
            user = None  # the block still commits: the failure counts towards the lockout
        if user is not None:
            return _pair(bearer.start(session, settings().secret_key, user))
    raise Problem(401, REFUSED)


@blp.post("/refresh")
@requires(PUBLIC)
@blp.doc(security=[])
@blp.arguments(RefreshBody())
@blp.response(200, Tokens)
@errors(blp)
def refresh(body: dict):
    """Spend a refresh token for a new pair. Each works once; a spent one used
    again revokes every token of that log-in."""
    with db().begin() as session:
        try:
            return _pair(bearer.rotate(session, settings().secret_key, body["refresh_token"]))
        except bearer.Replayed:
            pass  # leave the block so the family's revocation commits
        except bearer.BadToken:
            raise Problem(401, "The refresh token is not valid.") from None
    raise Problem(401, "The refresh token is not valid.")


@blp.post("/logout")
@requires(PUBLIC)
@blp.doc(security=[])
@blp.arguments(RefreshBody())
@blp.response(204)
@errors(blp)
def logout(body: dict):
    """Revoke the refresh token and every token rotated from it (an unknown
    or already revoked one: nothing to do, the same answer)."""
    with db().begin() as session:
        bearer.end(session, body["refresh_token"])
    return None
