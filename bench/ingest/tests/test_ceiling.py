import hashlib
import socket
import threading

from aiosmtpd.controller import Controller

import ceiling


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_ceiling_server_fsyncs_every_message_byte_for_byte(corpus, tmp_path):
    files = sorted(corpus.glob("*.eml"))[:40]
    result = ceiling.measure(files, 4, tmp_path / "sink")
    assert (result["accepted"], result["refused"], result["unanswered"]) == (40, 0, 0)
    assert result["on_disk"] == 40
    stored = {digest(p.read_bytes()) for p in (tmp_path / "sink").glob("*.eml")}
    assert stored == {digest(p.read_bytes()) for p in files}
    assert result["p50_ms"] <= result["p95_ms"]


class Recorder:
    """Answers 451 to every third message and remembers who sent what, in order."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen: list[tuple[int, str, bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.seen.append((id(session), envelope.mail_from, envelope.content))
            if len(self.seen) % 3 == 0:
                return "451 4.3.0 Try again later"
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_blast_counts_non_250_answers_and_keeps_each_sender_in_order(corpus):
    files = sorted(corpus.glob("*.eml"))[:60]
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        result = ceiling.blast("127.0.0.1", port, files, 5)
    finally:
        controller.stop()
    assert (result["answered"], result["refused"], result["accepted"]) == (60, 20, 40)
    assert result["concurrency"] == 5
    by_sender: dict[str, list[bytes]] = {}
    for path in files:
        by_sender.setdefault(ceiling.envelope_sender(path), []).append(path.read_bytes())
    for sender, sent in by_sender.items():
        received = [content for _, who, content in recorder.seen if who == sender]
        assert received == sent
        assert len({session for session, who, _ in recorder.seen if who == sender}) == 1
