"""Sentences core makes in English come out in the reader's language at the edge."""
from __future__ import annotations

from core.words import N_, localize


def test_a_marked_sentence_is_english_until_localized():
    assert N_("say why the ticket moves") == "say why the ticket moves"
    assert localize("say why the ticket moves", "id") == "tuliskan alasan tiket dipindahkan"
    assert localize("say why the ticket moves", "en") == "say why the ticket moves"


def test_a_filled_in_reason_is_rebuilt_in_the_language_with_its_values():
    assert localize("extension .exe is not allowed", "id") == "ekstensi .exe tidak diizinkan"
    assert localize("the archive holds a program: tugas (1).exe", "id") == "arsip berisi program: tugas (1).exe"


def test_a_reason_inside_a_reason_is_localized_too():
    assert localize("kepala@sekolah.test cannot be copied: our own address", "id") == (
        "kepala@sekolah.test tidak dapat diberi tembusan: alamat kita sendiri")


def test_text_that_matches_nothing_comes_back_unchanged():
    for text in ("Rapor semester tidak bisa diunggah.", "", "a: b", "no such thing at all"):
        assert localize(text, "id") == text


def test_a_quoted_value_is_what_someone_typed_and_stays_as_it_is():
    assert localize("kind 'School' must be a lowercase word such as school or city", "id") == (
        "jenis 'School' harus satu kata huruf kecil seperti school atau city")
