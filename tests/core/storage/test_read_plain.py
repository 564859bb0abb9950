"""Database.read_plain, and the policy the mail pipeline reads through it for
every mail: outside any transaction, each read sees what was committed
before it."""
from __future__ import annotations

import pickle

import pytest

from core.config.policy import Policy, read_policy, update_policy
from core.storage.db import Database


def test_a_changed_setting_is_read_by_the_next_mail(database):
    assert read_policy(database).reopen_days == 14
    with database.begin() as session:
        update_policy(session, reopen_days=3)
    assert read_policy(database).reopen_days == 3



def test_a_policy_pickled_to_another_process_is_the_one_it_made_of_the_same_rows(database):
    """The mail writer gets the policy pickled with every mail: as the rows it
    was made of, so it gets back the one object while they are unchanged,
    and what is kept per policy (the triage rules) is kept there too."""
    first = read_policy(database)
    assert pickle.loads(pickle.dumps(first)) is first
    with database.begin() as session:
        update_policy(session, reopen_days=3)
    changed = pickle.loads(pickle.dumps(read_policy(database)))
    assert changed is not first and changed.reopen_days == 3
    made = Policy(reopen_days=5)  # not read from rows: field by field
    assert pickle.loads(pickle.dumps(made)) == made


def test_a_plain_read_leaves_its_pooled_connection_to_transactions_as_it_was(database):
    """One pooled connection: the plain read's, then a transaction's, whose
    rollback must still take its write back (autocommit was for the read only)."""
    narrow = Database(database.settings, pool_size=1, max_overflow=0)
    read_policy(narrow)
    with pytest.raises(RuntimeError), narrow.begin() as session:
        update_policy(session, reopen_days=3)
        raise RuntimeError("taken back")
    assert read_policy(narrow).reopen_days == 14
    narrow.engine.dispose()
