"""Database.read_plain, and the policy the mail pipeline reads through it for
every mail: outside any transaction, each read sees what was committed
before it."""
from __future__ import annotations

from core.config.policy import read_policy, update_policy


def test_a_changed_setting_is_read_by_the_next_mail(database):
    assert read_policy(database).reopen_days == 14
    with database.begin() as session:
        update_policy(session, reopen_days=3)
    assert read_policy(database).reopen_days == 3

