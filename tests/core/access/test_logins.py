from datetime import timedelta

import pytest
from freezegun import freeze_time

from core.access.logins import (
    FREE_FAILURES, BadResetToken, LoginRefused, WrongPassword, change_password, request_reset,
    reset_password, verify_login,
)
from core.models import PasswordReset, utcnow
from tests.factories import PASSWORD, load_directory, make_user


@pytest.fixture
def user(session):
    return make_user(session, load_directory(session)["C3171"])


def test_the_right_password_logs_in_and_clears_the_failure_count(session, user):
    user.failed_logins = 3
    assert verify_login(session, user.email.upper(), PASSWORD) is user
    assert user.failed_logins == 0 and user.last_login_at is not None


def test_repeated_failures_lock_the_account_even_against_the_right_password(session, user):
    now = utcnow()
    for _ in range(FREE_FAILURES):
        with pytest.raises(LoginRefused):
            verify_login(session, user.email, "wrong password!", now=now)
    assert user.locked_until == now + timedelta(minutes=5)
    with pytest.raises(LoginRefused) as refused:
        verify_login(session, user.email, PASSWORD, now=now + timedelta(minutes=4))
    assert refused.value.locked_until == user.locked_until
    assert verify_login(session, user.email, PASSWORD, now=now + timedelta(minutes=6)) is user


def test_an_unknown_address_is_refused_like_a_wrong_password(session, user):
    with pytest.raises(LoginRefused) as refused:
        verify_login(session, "nobody@staff.test", PASSWORD)
    assert refused.value.locked_until is None


def test_a_reset_token_works_once_and_only_before_it_expires(session, user):
    user_, token = request_reset(session, user.email)
    assert session.query(PasswordReset).one().token_hash != token  # only the hash is kept
    reset_password(session, token, "a brand new password")
    with pytest.raises(BadResetToken):
        reset_password(session, token, "another new password")
    _, late = request_reset(session, user.email)
    with freeze_time(utcnow() + timedelta(hours=3)), pytest.raises(BadResetToken):
        reset_password(session, late, "yet another password")
    assert verify_login(session, user.email, "a brand new password") is user


def test_changing_the_password_needs_the_current_one(session, user):
    with pytest.raises(WrongPassword):
        change_password(session, user, "not it at all", "a brand new password")
    change_password(session, user, PASSWORD, "a brand new password")
    assert verify_login(session, user.email, "a brand new password") is user
