import io
import struct
import time
import zipfile
from dataclasses import replace
from email.message import Message

import pytest
from PIL import Image

from core.content.archives import ArchiveLimits
from core.content.attachments import (
    DEFAULT_EXTENSIONS,
    AttachmentRules,
    Refused,
    check,
    is_safe_inline_image,
    safe_filename,
    sniff,
)
from tests.bombs import crowded, nested_bomb, stored, zeros_bomb
from tests.bombs import deflated as archive
from tests.core.cfb import compound_file

RULES = AttachmentRules()
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def image(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (200, 10, 10)).save(buffer, kind)
    return buffer.getvalue()


def docx() -> bytes:
    return archive({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
        "_rels/.rels": b"<Relationships/>",
        "word/document.xml": b"<w:document/>",
    })


def xlsx() -> bytes:
    return archive({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})


def real_xlsx(rows: int = 20_000) -> bytes:
    """An xlsx laid out as Excel saves one, with a sheet of a few megabytes."""
    cells = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>{r % 97}</v></c><c r="B{r}"><v>{r * 7.25}</v></c>'
                    f'<c r="C{r}" s="1"><f>B{r}*2</f><v>{r * 14.5}</v></c></row>' for r in range(1, rows + 1))
    strings = "".join(f"<si><t>SD Negeri {n} Semarang</t></si>" for n in range(97))
    return archive({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                               b'2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
        "_rels/.rels": b"<Relationships/>",
        "docProps/app.xml": b"<Properties><Application>Microsoft Excel</Application></Properties>",
        "xl/workbook.xml": b'<workbook><sheets><sheet name="Nilai" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": b"<Relationships/>",
        "xl/styles.xml": b"<styleSheet/>",
        "xl/sharedStrings.xml": f"<sst>{strings}</sst>".encode(),
        "xl/worksheets/sheet1.xml": f"<worksheet><sheetData>{cells}</sheetData></worksheet>".encode(),
    })


def real_docx(paragraphs: int = 5_000) -> bytes:
    """A docx laid out as Word saves one, with a long text and a picture."""
    body = "".join(f'<w:p><w:pPr><w:pStyle w:val="Normal"/></w:pPr><w:r><w:t>Paragraf {n}: laporan kegiatan '
                   f'sekolah bulan {n % 12 + 1}, siswa hadir {n % 40}.</w:t></w:r></w:p>' for n in range(paragraphs))
    return archive({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
        "_rels/.rels": b"<Relationships/>",
        "docProps/core.xml": b"<cp:coreProperties/>",
        "word/document.xml": f"<w:document><w:body>{body}</w:body></w:document>".encode(),
        "word/styles.xml": b"<w:styles/>",
        "word/_rels/document.xml.rels": b"<Relationships/>",
        "word/media/image1.png": image("PNG"),
    })


def odt() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
# A DOS header: "MZ", then binary fields, e_lfanew at 0x3C pointing at "PE\0\0".
MZ = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 52 + struct.pack("<I", 64) + b"PE\x00\x00" + b"\x00" * 64
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 24
SHEBANG = b"#!/bin/sh\nrm -rf ~\n"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
WORD97 = compound_file(["WordDocument", "1Table"])
EXCEL97 = compound_file(["Workbook"])
POWERPOINT97 = compound_file(["PowerPoint Document"])
OUTLOOK_MSG = compound_file(["__properties_version1.0", "__substg1.0_0037001F"])
# An installer: the root's class id says so, its stream names are encoded.
MSI = compound_file(["\u4840\u3b3f\u4577"], root_clsid="000C1084-0000-0000-C000-000000000046")
ENCRYPTED_DOCX = compound_file(["EncryptedPackage", "EncryptionInfo"])


# safe_filename

@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system32\\evil.dll", "evil.dll"),
        ("C:\\Users\\tu\\Desktop\\rapor.pdf", "rapor.pdf"),
        ("/absolute/path/nilai.xlsx", "nilai.xlsx"),
        ("...hidden.txt", "hidden.txt"),
        (".htaccess", "htaccess"),
        ("a\x00b\x07c\x1b[31m.txt", "abc[31m.txt"),
        ("tab\tand\nnewline.txt", "tab and newline.txt"),
        ("  many    blanks   here .pdf ", "many blanks here.pdf"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("zero\u200bwidth.pdf", "zerowidth.pdf"),
        ("a \u200b b\u00a0\u2003c.pdf", "a b c.pdf"),
        ('what?<are>:these|"*.txt', "what__are__these___.txt"),
        ("report.pdf.", "report.pdf"),
        ("report.exe . . ", "report.exe"),
    ],
)
def test_safe_filename_strips_what_could_escape_or_deceive(name, expected):
    assert safe_filename(name) == expected


@pytest.mark.parametrize(
    "name, expected",
    [
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("NUL.tar.gz", "_NUL.tar.gz"),
        ("com1.pdf", "_com1.pdf"),
        ("LPT9.doc", "_LPT9.doc"),
        ("aux .txt", "_aux.txt"),
        ("CONSOLE.txt", "CONSOLE.txt"),
        ("com10.txt", "com10.txt"),
    ],
)
def test_safe_filename_defuses_reserved_windows_names(name, expected):
    assert safe_filename(name) == expected


@pytest.mark.parametrize("name", [None, "", "   ", "...", "/", "\\\\", "\x00\x01", "../.."])
def test_safe_filename_is_never_empty(name):
    assert safe_filename(name) == "attachment"
    assert safe_filename(name, fallback="image") == "image"


def test_safe_filename_caps_length_and_keeps_the_extension():
    name = safe_filename("a" * 300 + ".docx")
    assert len(name) == 150
    assert name.endswith("aaa.docx")
    assert len(safe_filename("x" * 300)) == 150


def test_safe_filename_does_not_take_a_long_tail_for_an_extension():
    name = safe_filename("notes." + "y" * 200)
    assert len(name) == 150 and name.startswith("notes.yyy")


def test_safe_filename_normalises_unicode_to_nfc():
    decomposed = "Cafe\u0301 laporan.pdf"
    assert safe_filename(decomposed) == "Caf\u00e9 laporan.pdf"


def test_rfc2231_decoded_unicode_names_survive():
    # As in Content-Disposition: attachment; filename*=utf-8''...
    part = Message()
    part["Content-Disposition"] = (
        "attachment; filename*=utf-8''"
        "..%2FRapor%20Semester%20%E2%80%93%20Kelas%20VII%C2%B7B%20%E6%95%B0%E5%AD%A6.pdf"
    )
    name = part.get_filename()
    assert safe_filename(name) == "Rapor Semester \u2013 Kelas VII\u00b7B \u6570\u5b66.pdf"


# sniff

def test_sniff_recognises_common_documents_and_images():
    assert sniff(image("PNG")) == "image/png"
    assert sniff(image("JPEG")) == "image/jpeg"
    assert sniff(image("GIF")) == "image/gif"
    assert sniff(image("WEBP")) == "image/webp"
    assert sniff(image("BMP")) == "image/bmp"
    assert sniff(image("TIFF")) == "image/tiff"
    assert sniff(PDF) == "application/pdf"
    assert sniff(docx()) == DOCX
    assert sniff(xlsx()) == XLSX
    assert sniff(odt()) == "application/vnd.oasis.opendocument.text"
    assert sniff(archive({"a.txt": b"x"})) == "application/zip"
    assert sniff(OLE2) == "application/x-ole-storage"  # a damaged container: nothing inside to read
    assert sniff(WORD97) == "application/msword"
    assert sniff(EXCEL97) == "application/vnd.ms-excel"
    assert sniff(POWERPOINT97) == "application/vnd.ms-powerpoint"
    assert sniff(OUTLOOK_MSG) == "application/vnd.ms-outlook"
    assert sniff(MSI) == "application/x-ole-storage"
    assert sniff(b"{\\rtf1\\ansi hello}") == "application/rtf"


@pytest.mark.parametrize("content", [MZ, ELF, MACHO, SHEBANG, b"#!/usr/bin/env python3\n"])
def test_sniff_calls_programs_executables(content):
    assert sniff(content) == "application/x-executable"


def test_sniff_tells_csv_from_prose():
    assert sniff(b"npsn,nama,kota\n20100001,SD Negeri 1,Bandung\n20100002,SD 2,Bogor\n") == "text/csv"
    assert sniff(b"kode;nilai\nA;1\nB;2\n") == "text/csv"
    assert sniff(b"Selamat pagi,\nKami mohon bantuan.\nTerima kasih.\n") == "text/plain"
    assert sniff("Sekolah Dasar \u2013 laporan\n".encode()) == "text/plain"
    assert sniff("caf\u00e9 na\u00efve\n".encode("cp1252")) == "text/plain"
    assert sniff("Unicode dari Notepad\r\n".encode("utf-16")) == "text/plain"


def test_sniff_knows_a_text_that_starts_with_mz_is_text():
    assert sniff(b"MZ Corporation annual report\n") == "text/plain"


def test_sniff_returns_none_for_binary_it_does_not_know():
    assert sniff(bytes(range(256)) * 4) is None
    assert sniff(b"") is None


def test_sniff_does_not_fail_on_a_truncated_zip():
    assert sniff(docx()[:100]) == "application/zip"


# check

@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("rapor.pdf", PDF, ("rapor.pdf", "application/pdf")),
        ("Surat.DOCX", docx(), ("Surat.DOCX", DOCX)),
        ("nilai.xlsx", xlsx(), ("nilai.xlsx", XLSX)),
        ("foto.png", image("PNG"), ("foto.png", "image/png")),
        ("foto.JPG", image("JPEG"), ("foto.JPG", "image/jpeg")),
        ("data.csv", b"a,b\n1,2\n", ("data.csv", "text/csv")),
        ("catatan.txt", b"a,b\n1,2\n", ("catatan.txt", "text/plain")),
        ("lama.doc", WORD97, ("lama.doc", "application/msword")),
        ("nilai.xls", EXCEL97, ("nilai.xls", "application/vnd.ms-excel")),
        ("materi.ppt", POWERPOINT97, ("materi.ppt", "application/vnd.ms-powerpoint")),
        ("rahasia.docx", ENCRYPTED_DOCX, ("rahasia.docx", DOCX)),
        ("arsip.zip", archive({"a.pdf": PDF}), ("arsip.zip", "application/zip")),
        ("../../invoice.exe.pdf", PDF, ("invoice.exe.pdf", "application/pdf")),
    ],
)
def test_check_accepts_files_whose_content_matches_the_name(name, content, expected):
    assert check(name, content, RULES) == expected


def test_check_reports_the_sniffed_type_of_a_jpeg_named_png():
    assert check("scan.png", image("JPEG"), RULES) == ("scan.png", "image/jpeg")


def test_check_accepts_a_plain_zip_named_docx_as_a_word_document():
    assert check("surat.docx", archive({"word/document.xml": b"<w/>"}), RULES) == ("surat.docx", DOCX)


def test_check_names_an_unnamed_image_after_its_content():
    assert check("", image("PNG"), RULES) == ("attachment.png", "image/png")
    assert check("image001", image("JPEG"), RULES) == ("image001.jpg", "image/jpeg")


def test_check_refuses_what_is_too_large():
    rules = AttachmentRules(max_bytes=5 * 1024 * 1024)
    with pytest.raises(Refused) as refused:
        check("big.pdf", PDF + b"\x00" * (5 * 1024 * 1024), rules)
    assert refused.value.reason == "larger than 5 MB"


def test_check_accepts_a_file_exactly_at_the_limit():
    content = PDF + b" " * 100
    assert check("a.pdf", content, AttachmentRules(max_bytes=len(content)))[1] == "application/pdf"


@pytest.mark.parametrize(
    "name, reason",
    [
        ("setup.exe", "extension .exe is not allowed"),
        ("invoice.pdf.exe", "extension .exe is not allowed"),
        ("INVOICE.PDF.EXE", "extension .exe is not allowed"),
        ("page.html", "extension .html is not allowed"),
        ("logo.svg", "extension .svg is not allowed"),
        ("pesan.eml", "extension .eml is not allowed"),
        ("arsip.rar", "extension .rar is not allowed"),
        ("arsip.7z", "extension .7z is not allowed"),
    ],
)
def test_check_refuses_extensions_outside_the_allowlist(name, reason):
    with pytest.raises(Refused) as refused:
        check(name, b"plain words\n", RULES)
    assert refused.value.reason == reason


def test_check_refuses_a_name_without_extension_when_the_content_says_nothing():
    with pytest.raises(Refused) as refused:
        check("README", bytes(range(256)), RULES)
    assert refused.value.reason == "the file name has no extension"
    assert check("README", b"plain words\n", RULES) == ("README.txt", "text/plain")


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("invoice.pdf", MZ, "content is an executable but the name says .pdf"),
        ("photo.jpg", ELF, "content is an executable but the name says .jpg"),
        ("notes.txt", SHEBANG, "content is an executable but the name says .txt"),
        ("arsip.zip", MACHO, "content is an executable but the name says .zip"),
        ("program", MZ, "content is an executable"),
    ],
)
def test_check_always_refuses_executables(name, content, reason):
    generous = AttachmentRules(allowed_extensions=DEFAULT_EXTENSIONS | {"exe", "sh"})
    with pytest.raises(Refused) as refused:
        check(name, content, generous)
    assert refused.value.reason == reason
    with pytest.raises(Refused):
        check("tool.exe", content, generous)


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("rapor.pdf", image("PNG"), "content is image/png but the name says .pdf"),
        ("foto.png", PDF, "content is application/pdf but the name says .png"),
        ("surat.docx", PDF, "content is application/pdf but the name says .docx"),
        ("data.csv", bytes(range(256)), "content is of an unknown kind but the name says .csv"),
        ("logo.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
         "content is text/plain but the name says .png"),
    ],
)
def test_check_refuses_content_that_disagrees_with_the_name(name, content, reason):
    with pytest.raises(Refused) as refused:
        check(name, content, RULES)
    assert refused.value.reason == reason


def test_check_refuses_empty_files():
    with pytest.raises(Refused) as refused:
        check("kosong.txt", b"", RULES)
    assert refused.value.reason == "the file is empty"


def test_check_lets_admins_allow_extensions_it_cannot_verify():
    rules = AttachmentRules(allowed_extensions=frozenset({"rar", ".MP4"}))
    assert check("arsip.rar", b"Rar!\x1a\x07\x00rest", rules) == (
        "arsip.rar", "application/x-rar-compressed"
    )
    assert check("video.mp4", bytes(range(256)), rules) == ("video.mp4", "application/octet-stream")


def test_check_makes_the_filename_safe():
    assert check("..\\..\\con.pdf", PDF, RULES) == ("_con.pdf", "application/pdf")


def test_default_allowlist_excludes_html_and_rar():
    assert "html" not in DEFAULT_EXTENSIONS and "htm" not in DEFAULT_EXTENSIONS
    assert "rar" not in DEFAULT_EXTENSIONS


# is_safe_inline_image

@pytest.mark.parametrize("kind", ["image/png", "image/jpeg", "image/gif", "image/webp", "IMAGE/PNG; x=1"])
def test_raster_images_may_be_shown_inline(kind):
    assert is_safe_inline_image(kind)


@pytest.mark.parametrize(
    "kind", ["image/svg+xml", "text/html", "application/pdf", "image/bmp", "image/tiff", ""]
)
def test_other_types_are_never_shown_inline(kind):
    assert not is_safe_inline_image(kind)


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("surat.doc", MSI, "content is application/x-ole-storage but the name says .doc"),
        ("surat.doc", OUTLOOK_MSG, "content is application/vnd.ms-outlook but the name says .doc"),
        ("nilai.xls", WORD97, "content is application/msword but the name says .xls"),
        ("surat.doc", OLE2, "content is application/x-ole-storage but the name says .doc"),
    ],
)
def test_check_looks_inside_ole_containers(name, content, reason):
    with pytest.raises(Refused) as refused:
        check(name, content, RULES)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    "members, reason",
    [
        ({"tugas/setup.exe": b"anything"}, "the archive holds a program: setup.exe"),
        ({"a.pdf": PDF, "Invoice.PDF.js": b"WScript.Shell"}, "the archive holds a program: Invoice.PDF.js"),
        ({"foto.jpg": MZ}, "the archive holds a program: foto.jpg"),
        ({"skrip.txt": SHEBANG}, "the archive holds a program: skrip.txt"),
        ({"dalam.zip": archive({"run.bat": b"del *.*"})}, "the archive holds a program: run.bat"),
        ({"dalam.zip": archive({"x.dat": ELF})}, "the archive holds a program: x.dat"),
    ],
)
def test_check_refuses_archives_holding_programs(members, reason):
    with pytest.raises(Refused) as refused:
        check("arsip.zip", archive(members), RULES)
    assert refused.value.reason == reason


def test_check_refuses_a_program_in_a_plain_zip_named_like_a_document():
    with pytest.raises(Refused) as refused:
        check("surat.docx", archive({"word/document.xml": b"<w/>", "macro.vbs": b"x"}), RULES)
    assert refused.value.reason == "the archive holds a program: macro.vbs"


def test_check_accepts_archives_of_documents_and_archives_of_archives():
    inner = archive({"nilai.xlsx": xlsx(), "foto.png": image("PNG")})
    content = archive({"rapor.pdf": PDF, "folder/": b"", "lampiran.zip": inner, "catatan.txt": b"halo\n"})
    assert check("arsip.zip", content, RULES) == ("arsip.zip", "application/zip")


def nested(depth: int) -> bytes:
    content = archive({"isi.txt": b"halo\n"})
    for level in range(depth):
        content = archive({f"level{level}.zip": content})
    return content


def test_check_refuses_a_zip_bomb_by_its_ratio_without_inflating_it():
    bomb = zeros_bomb()
    started = time.process_time()
    with pytest.raises(Refused) as refused:
        check("tugas.zip", bomb, RULES)
    assert time.process_time() - started < 0.5
    assert refused.value.reason.startswith("nol.txt in the archive unpacks to ")
    assert refused.value.reason.endswith(" times its packed size (at most 100:1)")


def test_check_refuses_a_zip_of_zip_bombs_within_its_budget():
    # 230 inner zips, each 20 MB of zeros stored (1:1), packed about 1000:1 by the outer one.
    bomb = nested_bomb()
    started = time.process_time()
    with pytest.raises(Refused) as refused:
        check("tugas.zip", bomb, RULES)
    assert time.process_time() - started < 0.5
    assert "bagian0.zip in the archive unpacks to " in refused.value.reason


def test_check_refuses_more_unpacked_bytes_than_the_budget_at_any_ratio():
    rules = AttachmentRules(archives=ArchiveLimits(max_inflated_bytes=3 * 1048576))
    content = stored({"a.bin": b"\1" * (2 * 1048576), "b.bin": b"\2" * (2 * 1048576)})
    with pytest.raises(Refused) as refused:
        check("arsip.zip", content, replace(rules, max_bytes=10 * 1048576))
    assert refused.value.reason == "the archive unpacks to more than 3 MB"


def test_check_counts_the_bytes_of_inner_archives_against_the_same_budget():
    rules = AttachmentRules(archives=ArchiveLimits(max_inflated_bytes=3 * 1048576))
    inner = stored({"a.bin": b"\1" * (1024 * 1024), "b.bin": b"\2" * (1024 * 1024)})
    with pytest.raises(Refused) as refused:
        check("arsip.zip", stored({"dalam.zip": inner}), replace(rules, max_bytes=10 * 1048576))
    assert refused.value.reason == "the archive unpacks to more than 3 MB"


def test_check_refuses_too_many_members_before_reading_them():
    started = time.process_time()
    with pytest.raises(Refused) as refused:
        check("arsip.zip", crowded(50_000), RULES)
    assert time.process_time() - started < 0.1
    assert refused.value.reason == "the archive holds more than 10,000 files"


def test_check_counts_members_even_when_the_end_record_understates_them():
    content = bytearray(crowded(10_001))
    end = content.rfind(b"PK\x05\x06")
    content[end + 8:end + 12] = (5).to_bytes(2, "little") * 2
    with pytest.raises(Refused) as refused:
        check("arsip.zip", bytes(content), RULES)
    assert refused.value.reason == "the archive holds more than 10,000 files"


def test_check_counts_members_of_inner_archives_too():
    rules = AttachmentRules(archives=ArchiveLimits(max_members=5))
    inner = archive({f"{n}.txt": b"x" for n in range(4)})
    with pytest.raises(Refused) as refused:
        check("arsip.zip", archive({"a.txt": b"x", "dalam.zip": inner}), rules)
    assert refused.value.reason == "the archive holds more than 5 files"


def test_check_refuses_archives_nested_deeper_than_the_limit():
    assert check("arsip.zip", nested(3), RULES) == ("arsip.zip", "application/zip")
    with pytest.raises(Refused) as refused:
        check("arsip.zip", nested(4), RULES)
    assert refused.value.reason == "archives are nested more than 3 deep"


def test_check_finds_a_program_three_archives_deep():
    content = archive({"run.dat": ELF})
    for level in range(3):
        content = archive({f"level{level}.zip": content})
    with pytest.raises(Refused) as refused:
        check("arsip.zip", content, RULES)
    assert refused.value.reason == "the archive holds a program: run.dat"


def test_check_lets_small_members_pack_tightly():
    # A blank sheet or bitmap packs far beyond 100:1; under 1 MB that is harmless.
    assert check("arsip.zip", archive({"kosong.bmp": b"\0" * 900_000}), RULES) == ("arsip.zip", "application/zip")


def test_check_holds_office_documents_to_the_same_limits():
    buffer = io.BytesIO(real_docx())
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("word/media/image1.bmp", "w", force_zip64=True) as member:
            for _ in range(30):
                member.write(b"\0" * 1048576)
    with pytest.raises(Refused) as refused:
        check("surat.docx", buffer.getvalue(), RULES)
    assert refused.value.reason.startswith("image1.bmp in the archive unpacks to ")


def test_check_refuses_an_ole_document_with_more_parts_than_an_archive_may_hold():
    rules = AttachmentRules(archives=ArchiveLimits(max_members=2))
    with pytest.raises(Refused) as refused:
        check("surat.doc", compound_file(["WordDocument", "1Table", "Data"]), rules)
    assert refused.value.reason == "the document holds more than 2 parts"
    assert check("surat.doc", compound_file(["WordDocument", "1Table", "Data"]), RULES)[1] == "application/msword"


def test_check_still_accepts_real_office_files_and_ordinary_zips():
    assert check("nilai.xlsx", real_xlsx(), RULES) == ("nilai.xlsx", XLSX)
    assert check("surat.docx", real_docx(), RULES) == ("surat.docx", DOCX)
    ordinary = archive({"rapor.pdf": PDF, "nilai.xlsx": real_xlsx(), "foto.png": image("PNG"),
                        "catatan.txt": ("baris\n" * 20_000).encode()})
    assert check("rapor.zip", ordinary, RULES) == ("rapor.zip", "application/zip")
