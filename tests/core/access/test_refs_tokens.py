from core.access.tokens import hash_token, link_token, new_nonce, token_matches
from core.mail.msgids import make_message_id, ref_from_message_id, refs_from_headers
from core.tickets.refs import ALPHABET, find_ref, new_ref


def test_references_avoid_lookalike_characters():
    for _ in range(200):
        ref = new_ref()
        assert ref.startswith("HD-") and len(ref) == 9
        assert not set(ref[3:]) & set("0O1IL")
    assert not set(ALPHABET) & set("0O1IL")


def test_reference_is_found_anywhere_in_a_subject_whatever_the_prefixes():
    for subject in ["Re: [HD-7K3Q9P] Data guru", "AW: Fwd: Balas: [hd-7k3q9p]", "x [ HD-7K3Q9P ] y"]:
        assert find_ref(subject) == "HD-7K3Q9P"
    assert find_ref("HD-7K3Q9P without brackets") is None
    assert find_ref(None) is None


def test_message_ids_carry_a_mac_that_cannot_be_forged():
    mid = make_message_id("HD-7K3Q9P", "secret", "helpdesk.test")
    assert ref_from_message_id(mid, "secret", "helpdesk.test") == "HD-7K3Q9P"
    forged = mid.replace("HD-7K3Q9P", "HD-7K3Q9Q")
    assert ref_from_message_id(forged, "secret", "helpdesk.test") is None
    assert ref_from_message_id(mid, "other-secret", "helpdesk.test") is None
    assert refs_from_headers([f"<a@b> {mid}"], "secret", "helpdesk.test") == ["HD-7K3Q9P"]


def test_link_tokens_are_256_bits_and_only_their_hash_matches():
    nonce = new_nonce()
    token = link_token("secret", 42, nonce)
    assert len(token) == 43
    assert token_matches(token, hash_token(token))
    other = ("B" if token[0] == "A" else "A") + token[1:]  # certain to differ, unlike a fixed last character
    assert not token_matches(other, hash_token(token))
    assert link_token("secret", 42, new_nonce()) != token
