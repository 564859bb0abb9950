"""Minimal OLE2 compound files (the container of .doc, .xls, .ppt, .msi, .msg)
for the attachment tests: version 3, 512-byte sectors, one FAT sector, one
directory sector, every stream padded to 4096 bytes so none needs the mini
stream. Enough for olefile to read the stream names back."""
import struct
import uuid

SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
STREAM_SECTORS = 8  # 4096 bytes: the mini stream cutoff


def _entry(name: str, kind: int, *, right: int = NOSTREAM, child: int = NOSTREAM,
           clsid: bytes = b"\x00" * 16, start: int = END, size: int = 0) -> bytes:
    encoded = name.encode("utf-16-le") + b"\x00\x00" if name else b""
    return (encoded.ljust(64, b"\x00") + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", NOSTREAM, right, child) + clsid + struct.pack("<IQQIQ", 0, 0, 0, start, size))


def compound_file(streams: list[str], root_clsid: str | None = None) -> bytes:
    """A container holding the named streams (at most three), each 4096 bytes."""
    assert 1 <= len(streams) <= 3
    fat = [FATSECT, END]
    entries = [_entry("Root Entry", 5, child=1,
                      clsid=uuid.UUID(root_clsid).bytes_le if root_clsid else b"\x00" * 16)]
    data = b""
    for index, name in enumerate(streams, start=1):
        start = len(fat)
        fat += list(range(start + 1, start + STREAM_SECTORS)) + [END]
        entries.append(_entry(name, 2, right=index + 1 if index < len(streams) else NOSTREAM,
                              start=start, size=STREAM_SECTORS * 512))
        data += name.encode().ljust(STREAM_SECTORS * 512, b"\x00")
    entries += [_entry("", 0)] * (4 - len(entries))
    header = (SIGNATURE + b"\x00" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, END, 0, END, 0)
              + struct.pack("<109I", 0, *[FREE] * 108))
    fat_sector = struct.pack(f"<{128}I", *fat, *[FREE] * (128 - len(fat)))
    return header + fat_sector + b"".join(entries) + data
