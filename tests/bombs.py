"""Zip bombs for the tests, built fast: one member's bytes are deflated once
and the packed bytes written under many names, as a bomb's author would."""
from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib

MB = 1024 * 1024
_VERSION, _DEFLATED, _DOS_DATE = 20, 8, 0x21


def same_members(name: str, count: int, data: bytes) -> bytes:
    """A zip of `count` members named name.format(n), each holding `data`, deflated at level 9."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = packer.compress(data) + packer.flush()
    crc, out, central = zlib.crc32(data), io.BytesIO(), []
    for number in range(count):
        encoded, offset = name.format(number).encode(), out.tell()
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", _VERSION, 0, _DEFLATED, 0, _DOS_DATE, crc,
                              len(packed), len(data), len(encoded), 0) + encoded + packed)
        central.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", _VERSION, _VERSION, 0, _DEFLATED, 0,
                                   _DOS_DATE, crc, len(packed), len(data), len(encoded), 0, 0, 0, 0, 0, offset)
                       + encoded)
    start, directory = out.tell(), b"".join(central)
    out.write(directory + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(directory), start, 0))
    return out.getvalue()


def stored(members: dict[str, bytes]) -> bytes:
    """A zip of these members, not compressed."""
    return _zip(members, zipfile.ZIP_STORED)


def deflated(members: dict[str, bytes]) -> bytes:
    """A zip of these members, deflated (as Office files and everyday zips are)."""
    return _zip(members, zipfile.ZIP_DEFLATED)


def _zip(members: dict[str, bytes], method: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@functools.lru_cache
def nested_bomb(count: int = 230, inner_mb: int = 20) -> bytes:
    """The bomb of the security report: 4.7 MB of zip holding 230 zips of
    20 MB of zeros each, 4.6 GB in all."""
    return same_members("bagian{}.zip", count, stored({"nol.txt": bytes(inner_mb * MB - 200)}))


@functools.lru_cache
def zeros_bomb(megabytes: int = 50) -> bytes:
    """One member of zeros packed about 1000:1."""
    return same_members("nol.txt", 1, bytes(megabytes * MB))


@functools.lru_cache
def crowded(count: int = 60_000) -> bytes:
    """A zip of that many empty files: its directory alone costs to parse."""
    return same_members("{}.txt", count, b"")
