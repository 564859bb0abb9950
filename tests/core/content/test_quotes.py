"""core.content.quotes.display_text: unit cases, then the shared corpus of real replies."""
from __future__ import annotations

import email
import importlib.util
import json
from email import policy
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType

import pytest

from core.content.quotes import display_text
from tests._shared import shared_path

REPLY = "Mohon dicek kembali data siswa kami.\nTerima kasih."


def test_indonesian_gmail_attribution_is_cut():
    body = (
        f"{REPLY}\n\nPada tanggal Sen, 23 Nov 2026 pukul 09.38 Helpdesk <helpdesk@example.org> menulis:\n"
        "\n> Tiket Anda diterima.\n"
    )
    assert display_text(body) == REPLY


def test_indonesian_attribution_wrapped_over_two_lines_is_cut():
    body = (
        f"{REPLY}\n\nPada tanggal Sen, 23 Nov 2026 pukul 09.38 Layanan Bantuan <\n"
        "helpdesk@example.org> menulis:\n\n> Tiket Anda diterima.\n"
    )
    assert display_text(body) == REPLY


def test_indonesian_attribution_without_address_is_cut():
    body = f"{REPLY}\n\nPada Senin, 23 November 2026 09.38.12 WIB, Layanan Bantuan menulis:\n\nTiket diterima.\n"
    assert display_text(body) == REPLY


def test_indonesian_outlook_header_block_is_cut():
    body = (
        f"{REPLY}\n\nDari: Layanan Bantuan <helpdesk@example.org>\nTerkirim: Senin, 23 November 2026 09.38\n"
        "Kepada: sdn1@example.com\nSubjek: [HD-1234] Data siswa\n\nTiket Anda diterima.\n"
    )
    assert display_text(body) == REPLY


def test_indonesian_original_message_rule_is_cut():
    assert display_text(f"{REPLY}\n\n-----Pesan Asli-----\nTiket Anda diterima.") == REPLY


def test_reply_above_this_line_mark_of_a_notification_is_cut():
    body = f"{REPLY}\n\n## Mohon balas di atas baris ini ##\nTiket HD-1234 telah dijawab."
    assert display_text(body) == REPLY


def test_javanese_webmail_attribution_is_cut():
    body = (
        f"{REPLY}\n\nIng Sen, 23 Nov 2026 jam 09.38, Layanan Bantuan <helpdesk@example.org> nulis:\n"
        "> Tiket sampun katampi.\n"
    )
    assert display_text(body) == REPLY


def test_javanese_krama_attribution_is_cut():
    body = f"{REPLY}\n\nIng dinten Senin, 23 November 2026, Layanan Bantuan nyerat:\n\nTiket katampi.\n"
    assert display_text(body) == REPLY


def test_a_letter_with_date_and_subject_fields_is_not_a_quote_header():
    body = "Dengan hormat,\n\nTanggal: 23 November 2026\nPerihal: Reset kata sandi\n\nMohon bantuannya."
    assert display_text(body) == body


def test_sentence_mentioning_writing_is_not_an_attribution():
    body = "Kami sudah menulis surat kepada dinas.\nOn Monday the principal wrote to you as well."
    assert display_text(body) == body


def test_thunderbird_attribution_with_a_bare_name_is_cut():
    assert display_text(f"{REPLY}\n\nAm 25.11.2026 um 15:00 schrieb Max Mustermann:\n> Alt\n") == REPLY
    assert display_text(f"{REPLY}\n\nDen 25. nov. 2026 kl. 15:00 skrev Jens Hansen:\n> Gammel\n") == REPLY


def test_instruction_with_time_and_address_is_not_an_attribution():
    body = "Mohon balas sebelum 10:00 ke <operator@example.org>:\nnomor NPSN sekolah."
    assert display_text(body) == body


def test_dash_dash_signature_is_cut():
    assert display_text(f"{REPLY}\n\n-- \nBudi Santoso\nOperator SD Negeri 1 Semarang\n") == REPLY


def test_list_items_starting_with_dashes_stay():
    body = "Masalahnya:\n-- login gagal\n-- data hilang"
    assert display_text(body) == body


def test_device_tagline_is_cut_but_a_sentence_about_sending_is_not():
    assert display_text(f"{REPLY}\n\nDikirim dari iPhone saya") == REPLY
    assert display_text("Sent from my desk, which is easier than my phone.") == (
        "Sent from my desk, which is easier than my phone."
    )


def test_crlf_line_endings_give_lf_text():
    body = (
        "Baris satu.\r\nBaris dua.\r\n\r\n"
        "On Mon, 23 Nov 2026 at 09:38, Helpdesk <helpdesk@example.org> wrote:\r\n> lama\r\n"
    )
    assert display_text(body) == "Baris satu.\nBaris dua."


def test_html_only_body_is_converted_and_its_blockquote_cut():
    html = (
        "<html><head><style>p{color:red}</style></head><body><p>Sudah kami coba,<br>tetap gagal.</p>"
        '<div class="gmail_quote">Pada tanggal Sen, 23 Nov 2026 pukul 09.38 '
        "Helpdesk &lt;helpdesk@example.org&gt; "
        "menulis:<br><blockquote>Silakan coba lagi.</blockquote></div></body></html>"
    )
    assert display_text("", html=html) == "Sudah kami coba,\ntetap gagal."


def test_html_preformatted_text_keeps_its_indentation():
    html = "<pre>Langkah:\n  1. buka Dapodik\n  2. sinkron</pre><p>Sudah &amp; gagal.</p>"
    assert display_text("", html=html) == "Langkah:\n  1. buka Dapodik\n  2. sinkron\n\nSudah & gagal."


def test_empty_and_blank_input_give_empty_text():
    assert display_text("") == ""
    assert display_text(" \r\n\n") == ""
    assert display_text("", html="") == ""


def test_bottom_posted_reply_below_the_quote_is_kept():
    body = "On 23/11/2026 09:38, Helpdesk wrote:\n> Apakah sudah berhasil?\nSudah, terima kasih."
    assert display_text(body) == "Sudah, terima kasih."


def test_inline_answers_between_quotes_are_kept():
    body = "> Nama sekolah?\nSD Negeri 1 Semarang\n> NPSN?\n20328000"
    assert display_text(body) == "SD Negeri 1 Semarang\n20328000"


def test_forwarded_message_is_kept_whole():
    body = (
        "Mohon ditindaklanjuti.\n\n---------- Forwarded message ---------\n"
        "From: Dinas <dinas@example.org>\nDate: Mon, 23 Nov 2026 09:38\n\nIsi surat."
    )
    assert display_text(body) == body


def test_message_that_is_all_quote_is_shown_rather_than_emptied():
    assert display_text("> hanya kutipan") == "> hanya kutipan"


def test_hostile_input_does_not_raise():
    for text in ("<![if x]><p>hi", "\x00\ufeff>", "On " + "1:" * 5000 + " wrote:", ">" * 10000, "\n" * 5000):
        assert isinstance(display_text(text), str)
        assert isinstance(display_text("", html=text), str)


# The shared corpus: 120 replies with the visible text their peers' tests expect.


def _corpus() -> Path:
    return shared_path("corpora", "replies")


def _scorer(corpus: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("reply_corpus_score", corpus / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _display(eml: Path) -> str:
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    plain = msg.get_body(preferencelist=("plain",))
    if plain is not None:
        return display_text(plain.get_content())
    html = msg.get_body(preferencelist=("html",))
    return display_text("", html=html.get_content() if html is not None else "")


@pytest.fixture(scope="module")
def corpus_scores() -> dict[str, tuple[bool, float, bool]]:
    corpus = _corpus()
    scorer = _scorer(corpus)
    rows = (corpus / "MANIFEST.jsonl").read_text(encoding="utf-8").splitlines()
    manifest = [json.loads(row) for row in rows if row.strip()]
    scores = {}
    for rec in manifest:
        expected = (corpus / f"{rec['name']}.expected.txt").read_text(encoding="utf-8")
        produced = _display(corpus / f"{rec['name']}.eml")
        exact, ratio = scorer.score(expected, produced, rec.get("compare", "lines"))
        scores[rec["name"]] = (exact, ratio, rec.get("strict", True))
    return scores


def test_corpus_exact_matches_beat_the_best_peer(corpus_scores):
    exact = sum(1 for hit, _, _ in corpus_scores.values() if hit)
    assert len(corpus_scores) == 120
    assert exact > 86, f"exact {exact}/120"


def test_no_strict_corpus_reply_is_far_from_expected(corpus_scores):
    poor = {name: round(r, 3) for name, (_, r, strict) in corpus_scores.items() if strict and r < 0.9}
    assert not poor
