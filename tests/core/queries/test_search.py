"""Search: words as PostgreSQL's parser reads them, scoped results as summary
rows, and the bounded reading of common words (PostgreSQL only)."""
import pytest

from core.config.policy import Policy
from core.models import Role
from core.queries.search import Bounds, search_tickets, words_of
from core.storage.recent import RecentAnswers
from core.tickets.intake import Incoming, customer_office, open_ticket
from tests.factories import load_directory, make_user

EVERY_WORD_COMMON = Bounds(rare=-1)


@pytest.fixture
def world(session, settings):
    offices = load_directory(session)
    policy = Policy()
    users = {code: make_user(session, offices[code], Role.agent, available=False) for code in ("C3171", "P31")}

    def new_ticket(sender: str, subject: str, text: str):
        ticket = open_ticket(session, settings, policy, Incoming(
            from_address=sender, subject=subject, text=text, message_id=f"<{subject}@x>"),
            school=customer_office(session, sender, policy))
        session.flush()
        return ticket
    return users, policy, new_ticket


@pytest.fixture
def postgres_only(session):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the bounded plan for common words is PostgreSQL's")


def test_words_split_where_the_full_text_parser_splits_them():
    assert words_of("Data_Rombel, ganda!") == ["data", "rombel", "ganda"]


def test_a_word_joined_by_an_underscore_finds_the_words_apart(session, world):
    users, _, new_ticket = world
    ticket = new_ticket("sman1@sekolah.test", "Data rombel ganda", "Mohon bantuan.")
    assert [t.ref for t in search_tickets(session, users["C3171"], "data_rombel").tickets] == [ticket.ref]


def test_results_are_summary_rows_newest_first(session, world):
    users, _, new_ticket = world
    older = new_ticket("sman1@sekolah.test", "Akun terkunci", "Akun operator terkunci.")
    newer = new_ticket("sman1@sekolah.test", "Akun operator baru", "Mohon dibuatkan.")
    newer.updated_at = older.updated_at.replace(year=older.updated_at.year + 1)
    session.flush()
    found = search_tickets(session, users["C3171"], "operator")
    assert [t.ref for t in found.tickets] == [newer.ref, older.ref] and found.total == 2
    assert found.tickets[0].school_name == newer.school.name and found.tickets[0].office_code == "C3171"


def test_common_words_are_read_in_message_text_within_scope_only(session, world, postgres_only):
    users, _, new_ticket = world
    mine = new_ticket("sman1@sekolah.test", "Akun terkunci", "Sinkronisasi gagal sejak Senin.")
    sibling = new_ticket("smkn26@sekolah.test", "Akun terkunci", "Sinkronisasi gagal juga.")
    found = search_tickets(session, users["C3171"], "sinkronisasi", bounds=EVERY_WORD_COMMON)
    assert [t.ref for t in found.tickets] == [mine.ref]
    found = search_tickets(session, users["P31"], "sinkronisasi gagal", bounds=EVERY_WORD_COMMON)
    assert {t.ref for t in found.tickets} == {mine.ref, sibling.ref}


def test_common_words_read_the_newest_tickets_only(session, world, postgres_only):
    users, _, new_ticket = world
    old_in_text = new_ticket("sman1@sekolah.test", "Akun terkunci", "Sinkronisasi gagal.")
    old_in_subject = new_ticket("sman1@sekolah.test", "Sinkronisasi gagal", "Mohon bantuan.")
    newest = new_ticket("sman1@sekolah.test", "Tunjangan", "Tunjangan belum cair.")
    for age, ticket in enumerate([newest, old_in_subject, old_in_text]):
        ticket.updated_at = newest.created_at.replace(year=2020 - age)
    session.flush()
    bounded = Bounds(rare=-1, newest_subjects=2, newest_messages=1)
    found = search_tickets(session, users["C3171"], "sinkronisasi", bounds=bounded)
    assert [t.ref for t in found.tickets] == [old_in_subject.ref] and found.newest_only
    assert search_tickets(session, users["C3171"], "sinkronisasi", bounds=Bounds(
        rare=-1, newest_subjects=1, newest_messages=1)).tickets == []
    found = search_tickets(session, users["C3171"], "sinkronisasi")
    assert [t.ref for t in found.tickets] == [old_in_subject.ref, old_in_text.ref] and not found.newest_only


def test_whether_words_are_common_is_remembered_and_the_plan_follows(session, world, postgres_only):
    users, _, new_ticket = world
    ticket = new_ticket("sman1@sekolah.test", "Akun terkunci", "Kode kasus17 operator.")
    recent = RecentAnswers(60)
    assert [t.ref for t in search_tickets(session, users["C3171"], "kasus17", recent=recent).tickets] == [ticket.ref]
    assert recent.get(("message matches", ("kasus17",), Bounds().rare), lambda: None) is False
    assert recent.get(("subject matches", ("kasus17",), Bounds().rare), lambda: None) is False


def test_an_address_finds_that_requesters_tickets_only(session, world):
    users, _, new_ticket = world
    theirs = new_ticket("sman1@sekolah.test", "Rapor", "Mohon dicek.")
    mentions = new_ticket("sman8@sekolah.test", "Pertanyaan", "Tolong hubungi sman1@sekolah.test")
    found = search_tickets(session, users["C3171"], " SMAN1@Sekolah.test ")
    assert [t.ref for t in found.tickets] == [theirs.ref]
    assert mentions.ref not in [t.ref for t in found.tickets]


def test_a_school_code_and_words_of_a_school_name_find_its_tickets_within_scope(session, world):
    users, _, new_ticket = world
    first = new_ticket("sman1@sekolah.test", "Rapor", "Mohon dicek.")
    second = new_ticket("sman1@sekolah.test", "Akun", "Terkunci.")
    other = new_ticket("sman8@sekolah.test", "Akun", "Terkunci.")          # SMA Negeri 8 Jakarta
    sibling = new_ticket("smkn26@sekolah.test", "Akun", "Terkunci.")       # another city's school
    second.updated_at = first.updated_at.replace(year=first.updated_at.year + 1)
    session.flush()
    by_code = search_tickets(session, users["C3171"], "s001")
    assert [t.ref for t in by_code.tickets] == [second.ref, first.ref]
    by_name = search_tickets(session, users["C3171"], "negeri 1 jakarta")
    assert [t.ref for t in by_name.tickets] == [second.ref, first.ref]
    all_jakarta = {t.ref for t in search_tickets(session, users["P31"], "jakarta").tickets}
    assert {first.ref, second.ref, other.ref, sibling.ref} <= all_jakarta
    assert sibling.ref not in {t.ref for t in search_tickets(session, users["C3171"], "jakarta").tickets}


def test_words_in_a_subject_and_in_a_school_name_are_found_together_once(session, world):
    users, _, new_ticket = world
    named = new_ticket("sman8@sekolah.test", "Rapor", "Mohon dicek.")      # SMA Negeri 8 Jakarta
    in_subject = new_ticket("sman1@sekolah.test", "Sekolah negeri minta akun", "...")
    found = search_tickets(session, users["C3171"], "negeri")
    refs = [t.ref for t in found.tickets]
    assert named.ref in refs and in_subject.ref in refs and len(refs) == len(set(refs)) == found.total
