"""Every sentence shown to people has its Indonesian in the catalog, the
compiled catalog is the one the .po says, and counts take their plural."""
from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask import render_template_string

from core import words
from portal.i18n import filesize

ROOT = Path(__file__).resolve().parents[2]
CATALOG = words.CATALOGS / "id" / "LC_MESSAGES" / "messages.po"


def extracted(root: Path, config: Path = ROOT / "babel.cfg") -> dict[str, list[str]]:
    """msgid → where it is used, by Babel's own extraction with babel.cfg's mapping."""
    with config.open() as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(config))
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(root, method_map, options_map):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def load_catalog(path: Path = CATALOG) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def untranslated(found: dict[str, list[str]], catalog: Catalog) -> list[str]:
    """Each extracted msgid without a non-empty, non-fuzzy Indonesian string, with where it is used."""
    missing = []
    for msgid, places in sorted(found.items()):
        message = catalog.get(msgid)
        strings = message.string if message is not None and isinstance(message.string, tuple) else (
            (message.string,) if message is not None else ("",))
        if message is None or message.fuzzy or not all(strings):
            missing.append(f"{msgid!r} ({places[0]})")
    return missing


def test_every_sentence_of_the_sources_has_its_indonesian():
    found = extracted(ROOT)
    assert len(found) > 600
    assert "say why the ticket moves" in found  # core's refusal reasons are extracted too
    assert untranslated(found, load_catalog()) == []


def test_a_sentence_without_indonesian_is_listed(tmp_path):
    (tmp_path / "templates" / "public").mkdir(parents=True)
    (tmp_path / "templates" / "public" / "new.html").write_text(
        '{{ _("Ask the helpdesk") }} {{ _("A sentence nobody translated yet") }}')
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "fresh.py").write_text('raise ValueError(N_("a reason nobody translated"))\n')
    catalog = load_catalog()
    catalog.add("Ask the helpdesk later", "Tanya nanti", flags=["fuzzy"])
    found = extracted(tmp_path)
    assert [line.split(" (")[0] for line in untranslated(found, catalog)] == [
        "'A sentence nobody translated yet'", "'a reason nobody translated'"]
    fuzzy = {**found, "Ask the helpdesk later": ["x:1"]}
    assert "'Ask the helpdesk later' (x:1)" in untranslated(fuzzy, catalog)


def test_the_catalog_keeps_its_placeholders_and_its_plural_rule():
    catalog = load_catalog()
    assert catalog.plural_forms == "nplurals=1; plural=0;"
    assert [(message.id, errors) for message, errors in catalog.check()] == []


def test_the_committed_mo_is_the_compiled_po():
    """The .mo ships in the repository (every install path works without a build step); it must not go stale."""
    compiled = io.BytesIO()
    write_mo(compiled, load_catalog())
    compiled.seek(0)
    with words.catalog_path("id").open("rb") as handle:
        shipped = read_mo(handle)
    assert messages(shipped) == messages(read_mo(compiled))


def messages(catalog: Catalog) -> dict:
    """msgid → msgstr, plurals as tuples, to compare two catalogs."""
    return {_flat(m.id): _flat(m.string) for m in catalog if m.id}


def _flat(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_counts_take_the_plural_of_each_language(app):
    template = '{{ ngettext("%(num)s ticket attached.", "%(num)s tickets attached.", n) }}'
    with app.test_request_context("/?lang=en"):
        assert [render_template_string(template, n=n) for n in (1, 3)] == [
            "1 ticket attached.", "3 tickets attached."]
    with app.test_request_context("/?lang=id"):
        assert [render_template_string(template, n=n) for n in (1, 3)] == [
            "1 tiket terlampir.", "3 tiket terlampir."]


def test_translated_text_is_escaped_like_any_other_value(app):
    with app.test_request_context("/?lang=en"):
        page = render_template_string('{{ _("%(name)s was refused: %(reason)s", name=n, reason="x") }}',
                                      n="<b>a.exe</b>")
    assert page == "&lt;b&gt;a.exe&lt;/b&gt; was refused: x"


def test_file_sizes_read_the_same_in_both_portals(app):
    sizes = (58, 1024, 1536, 5 * 1024 * 1024, 2_500_000)
    with app.test_request_context("/?lang=en"):
        assert [filesize(n) for n in sizes] == ["58 B", "1 KB", "1.5 KB", "5 MB", "2.4 MB"]
    with app.test_request_context("/?lang=id"):
        assert [filesize(n) for n in sizes] == ["58 B", "1 KB", "1,5 KB", "5 MB", "2,4 MB"]


def test_counts_are_written_as_each_language_writes_numbers(app):
    template = ('{{ ngettext("%(num)s ticket attached.", "%(num)s tickets attached.", n) }}'
                ' | {{ n|number }} | {{ 1001|count }} | {{ 2.25|number("#,##0.0") }}')
    with app.test_request_context("/?lang=id"):
        assert render_template_string(template, n=12500) == "12.500 tiket terlampir. | 12.500 | 1.000+ | 2,2"
    with app.test_request_context("/?lang=en"):
        assert render_template_string(template, n=12500) == "12,500 tickets attached. | 12,500 | 1,000+ | 2.2"
        assert render_template_string("{{ 1000|count }}") == "1,000"
