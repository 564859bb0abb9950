"""The SMTP server's own DATA reader (mailin.smtpd.Server), byte for byte, over
a real socket: what arrives is what the sender meant, however the bytes are
cut into packets, and the dialogue goes on after it."""
from __future__ import annotations

import asyncio
import base64
import os
import random
import socket
import threading
import time

import pytest

from aiosmtpd.smtp import SMTP

from mailin.smtpd import DATA_BLOCK, Server


class Collect:
    def __init__(self):
        self.contents: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.contents.append(envelope.original_content)
        return "250 2.0.0 taken"


@pytest.fixture
def server():
    """Server on its own loop in a thread, with a 64 KB size limit."""
    loop, handler = asyncio.new_event_loop(), Collect()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    listening = asyncio.run_coroutine_threadsafe(loop.create_server(
        lambda: Server(handler, data_size_limit=64 * 1024, hostname="helpdesk.test"), "127.0.0.1", 0), loop).result(5)
    handler.port = listening.sockets[0].getsockname()[1]
    yield handler

    async def shut() -> None:
        listening.close()
        sessions = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in sessions:
            task.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(shut(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


class Client:
    """A raw SMTP client: sends exactly the bytes given, reads reply lines."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")
        assert self.reply().startswith(b"220")

    def reply(self) -> bytes:
        while True:
            line = self.file.readline()
            if line[3:4] != b"-":
                return line

    def command(self, line: bytes) -> bytes:
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def start(self) -> None:
        for line in (b"EHLO client.test", b"MAIL FROM:<a@sekolah.test>", b"RCPT TO:<helpdesk@helpdesk.test>"):
            assert self.command(line).startswith(b"250"), line
        assert self.command(b"DATA").startswith(b"354")

    def close(self) -> None:
        """Close the connection (the socket stays open while its file does)."""
        self.file.close()
        self.sock.close()

    def send_in_pieces(self, data: bytes, cuts: list[int]) -> None:
        for start, end in zip([0, *cuts], [*cuts, len(data)]):
            self.sock.sendall(data[start:end])
            time.sleep(0.02)  # separate packets


def test_dot_stuffed_lines_arrive_unstuffed_and_a_period_ending_a_line_ends_nothing(server):
    client = Client(server.port)
    client.start()
    client.sock.sendall(b"..starts with a period\r\nends with one.\r\n...\r\nx.\r\n.\r\n")
    assert client.reply().startswith(b"250 2.0.0 taken")
    assert server.contents == [b".starts with a period\r\nends with one.\r\n..\r\nx.\r\n"]


@pytest.mark.parametrize("cut", [1, 2, 3, 4])
def test_the_end_mark_is_found_however_the_packets_cut_it(server, cut):
    data = b"Subject: x\r\n\r\nbody.\r\n.\r\n"
    client = Client(server.port)
    client.start()
    client.send_in_pieces(data, [len(data) - cut])
    assert client.reply().startswith(b"250")
    assert server.contents == [b"Subject: x\r\n\r\nbody.\r\n"]


def test_an_empty_message_and_commands_pipelined_after_the_end_mark(server):
    client = Client(server.port)
    client.start()
    client.sock.sendall(b".\r\nRSET\r\nNOOP\r\n")
    assert client.reply().startswith(b"250")
    assert client.reply().startswith(b"250") and client.reply().startswith(b"250")
    assert client.command(b"QUIT").startswith(b"221")
    assert server.contents == [b""]


def test_a_large_attachment_arrives_byte_for_byte_in_blocks(server):
    encoded = base64.encodebytes(os.urandom(40 * 1024)).replace(b"\n", b"\r\n")
    data = b"Subject: lampiran\r\n\r\n" + encoded
    client = Client(server.port)
    client.start()
    client.send_in_pieces(data + b".\r\n", [1000, 7777, 30000])
    assert client.reply().startswith(b"250")
    assert server.contents == [data]


def test_too_much_data_is_552_after_the_end_and_the_session_goes_on(server):
    client = Client(server.port)
    client.start()
    line = b"x" * 998 + b"\r\n"
    client.sock.sendall(line * (DATA_BLOCK * 3 // len(line)) + b".\r\n")  # past the limit and past a block
    assert client.reply().startswith(b"552")
    client.start()
    client.sock.sendall(b"small\r\n.\r\n")
    assert client.reply().startswith(b"250")
    assert server.contents == [b"small\r\n"]


def test_a_line_longer_than_the_rfc_allows_is_500(server):
    client = Client(server.port)
    client.start()
    client.sock.sendall(b"y" * 1000 + b"\r\n.\r\n")
    assert client.reply().startswith(b"500")
    assert client.command(b"QUIT").startswith(b"221")
    assert server.contents == []


def test_a_connection_lost_during_data_delivers_nothing(server):
    client = Client(server.port)
    client.start()
    client.sock.sendall(b"Subject: half\r\n\r\nno end mark")
    client.close()
    # The lost connection's end was read before this one's four commands:
    # once its message is taken, the half one has had its turn.
    after = Client(server.port)
    after.start()
    after.sock.sendall(b"Subject: whole\r\n\r\nend mark\r\n.\r\n")
    assert after.reply().startswith(b"250")
    assert server.contents == [b"Subject: whole\r\n\r\nend mark\r\n"]


ADDRESSES = ["<a@sekolah.test>", " <a@sekolah.test> SIZE=2048 BODY=8BITMIME", "<>", "",
             "a@sekolah.test", '<"quoted local"@sekolah.test>', "<@relay.test:a@sekolah.test>",
             "<a@sekolah.test", "<not an address>", "<a@b@c>", "<@>", "<" + "x" * 65 + "@sekolah.test>",
             "<" + "x" * 64 + "@sekolah.test>", "<pengguna@sekolah.test> SMTPUTF8",
             "<A.B@Sekolah.TEST>\tSIZE=1", "<a@sekolah.test>(comment) SIZE=1", "<a@sekolah.test> (c) SIZE=1",
             "<a@sekolah.test> \r\nSIZE=1", "<a..b@sekolah.test>", "<.a@sekolah.test>", "<a@[10.0.0.1]>",
             "<a@sekolah..test>", "<a@sekolah.test.>", "<guru@sekolah.test>x", "<pengguna@sekolah.test>é",
             "<o'brien+tag@sekolah.test>"]


@pytest.mark.parametrize("arg", ADDRESSES)
@pytest.mark.parametrize("local_part_limit", [0, 64])
def test_mail_and_rcpt_addresses_parse_as_aiosmtpd_parses_them(arg, local_part_limit):
    ours = Server(Collect(), hostname="helpdesk.test")
    theirs = SMTP(Collect(), hostname="helpdesk.test")
    ours.local_part_limit = theirs.local_part_limit = local_part_limit
    assert ours._getaddr(arg) == theirs._getaddr(arg)


def test_random_addresses_parse_as_aiosmtpd_parses_them():
    """The plain-path shortcut (mailin.smtpd._plain_path) against aiosmtpd's
    own parsing, on arguments made of the characters that matter to it."""
    ours = Server(Collect(), hostname="helpdesk.test")
    theirs = SMTP(Collect(), hostname="helpdesk.test")
    chosen = random.Random(20261206)
    characters = 'ab.@<> \t()"[]-_+=!#~é,:;\\Z09\r\n'
    for _ in range(3000):
        arg = "".join(chosen.choice(characters) for _ in range(chosen.randint(1, 12)))
        arg = chosen.choice(["", "<", "<a.b@c.d>", "<a@b"]) + arg
        assert _outcome(ours._getaddr, arg) == _outcome(theirs._getaddr, arg), arg


def _outcome(getaddr, arg: str):
    """What _getaddr answers, or the error it raises (both raise IndexError on a lone "<")."""
    try:
        return getaddr(arg)
    except Exception as error:  # noqa: BLE001
        return type(error)


def test_a_malformed_sender_is_refused_over_the_wire_and_the_session_goes_on(server):
    client = Client(server.port)
    assert client.command(b"EHLO client.test").startswith(b"250")
    assert client.command(b"MAIL FROM:<a@b@c>").startswith(b"553")
    assert client.command(b"MAIL FROM:<a@sekolah.test> SIZE=2048").startswith(b"250")
    assert client.command(b"RCPT TO:<helpdesk@helpdesk.test>").startswith(b"250")
