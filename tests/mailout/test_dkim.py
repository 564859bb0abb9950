"""Outbound DKIM: the mail at the relay verifies with dkimpy against the
published key, and `helpdesk dkim-keygen` prints that key's record."""
from __future__ import annotations

import email
import re
from dataclasses import replace

import dkim
from click.testing import CliRunner

from cli import main
from core.storage.db import Database
from mailout.deliver import deliver_due
from mailout.dkim import dns_record, new_key, txt_record
from tests.factories import load_directory
from tests.mailout.world import open_with_ack


def published(records: dict[bytes, str]):
    """A dnsfunc for dkimpy: the TXT records of a test zone."""
    return lambda name, timeout=5: records.get(name, "").encode() or None


def signed_ack(database: Database, relay, tmp_path) -> tuple[bytes, bytes]:
    private, public = new_key()
    key = tmp_path / "dkim.pem"
    key.write_bytes(private)
    db = Database(replace(database.settings, smtp_relay=relay.address, dkim_key=str(key), dkim_selector="hd1"))
    with db.begin() as s:
        load_directory(s)
        open_with_ack(s, db.settings)
    assert deliver_due(db).sent == 1
    [got] = relay.messages
    return got.data, public


def test_sent_mail_verifies_against_the_published_key(database, relay, tmp_path):
    data, public = signed_ack(database, relay, tmp_path)
    zone = {b"hd1._domainkey.helpdesk.test.": txt_record(public)}
    assert data.startswith(b"DKIM-Signature:")
    assert dkim.verify(data, dnsfunc=published(zone))
    header = re.sub(rb"\s+", b"", email.message_from_bytes(data)["DKIM-Signature"].encode())
    tags = dict(re.findall(rb"(\w+)=([^;]*)", header))
    assert tags[b"d"] == b"helpdesk.test" and tags[b"s"] == b"hd1" and tags[b"c"] == b"relaxed/relaxed"
    signed = tags[b"h"].lower().split(b":")
    for name in (b"from", b"to", b"subject", b"date", b"message-id", b"in-reply-to", b"references",
                 b"reply-to", b"mime-version", b"content-type"):
        assert name in signed


def test_changed_subject_fails_verification(database, relay, tmp_path):
    data, public = signed_ack(database, relay, tmp_path)
    zone = {b"hd1._domainkey.helpdesk.test.": txt_record(public)}
    tampered = re.sub(rb"\r\nSubject: ", b"\r\nSubject: URGENT ", data, count=1)
    assert not dkim.verify(tampered, dnsfunc=published(zone))
    other = {b"hd1._domainkey.helpdesk.test.": txt_record(new_key()[1])}
    assert not dkim.verify(data, dnsfunc=published(other))


def test_unsigned_without_a_key(database, relay):
    db = Database(replace(database.settings, smtp_relay=relay.address))
    with db.begin() as s:
        load_directory(s)
        open_with_ack(s, db.settings)
    deliver_due(db)
    assert b"DKIM-Signature" not in relay.messages[0].data


def test_keygen_writes_a_key_and_prints_its_record(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HELPDESK_ADDRESS", "helpdesk@kemdik.example")
    out = tmp_path / "keys" / "s2026.pem"
    result = CliRunner().invoke(main, ["dkim-keygen", "--selector", "s2026", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o077 == 0
    record = result.stdout.strip().splitlines()[-1]
    assert record.startswith('s2026._domainkey.kemdik.example. IN TXT ( "v=DKIM1; k=rsa; p=')
    value = "".join(re.findall(r'"([^"]*)"', record))
    # The printed record verifies what the written key signs.
    message = b"From: a@kemdik.example\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
    signature = dkim.sign(message, b"s2026", b"kemdik.example", out.read_bytes())
    assert dkim.verify(signature + message, dnsfunc=published({b"s2026._domainkey.kemdik.example.": value}))
    again = CliRunner().invoke(main, ["dkim-keygen", "--selector", "s2026", "--out", str(out)])
    assert again.exit_code != 0 and "exists" in again.output


def test_sent_mail_verifies_against_the_key_published_in_dns(database, relay, tmp_path, dns):
    """As a receiving server checks it: the selector's TXT record served by a
    real DNS server (the test's), asked the way our own inbound check asks."""
    from core.mail.auth import _DkimDns
    from core.mail.dnslookup import lookup_for

    data, public = signed_ack(database, relay, tmp_path)
    dns.txt("hd1._domainkey.helpdesk.test", txt_record(public))  # served as strings of 255
    assert dkim.verify(data, dnsfunc=_DkimDns(lookup_for(dns.address, 2.0)))
    dns.clear()
    dns.txt("hd1._domainkey.helpdesk.test", txt_record(new_key()[1]))  # another key: not the signer's
    assert not dkim.verify(data, dnsfunc=_DkimDns(lookup_for(dns.address, 2.0)))
