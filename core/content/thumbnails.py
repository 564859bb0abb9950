"""Small previews of attached pictures, made on the server with Pillow and
kept in the data dir, so a phone on a slow line loads a few kilobytes instead
of the camera's full picture, and no browser decodes the original to show it."""
from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

SIZE = 320
# A picture of more pixels than this is not decoded: a small file can
# declare an enormous canvas and exhaust memory (a decompression bomb).
MAX_PIXELS = 40_000_000


class NoThumbnail(Exception):
    """The bytes are not a picture Pillow can safely shrink."""


def thumbnail_path(root: Path, sha256: str) -> Path:
    return Path(root) / sha256[:2] / f"{sha256}-{SIZE}.jpg"


def thumbnail(root: Path, sha256: str, source: Path) -> Path:
    """The cached JPEG preview of the picture at `source` (named by its hash), made on first use."""
    target = thumbnail_path(root, sha256)
    if target.exists():
        return target
    data = shrink(Path(source).read_bytes())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def shrink(content: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise NoThumbnail("the picture is too large to preview")
            image.draft("RGB", (SIZE, SIZE))  # JPEG decodes at a reduced scale: much faster
            picture = ImageOps.exif_transpose(image)
            picture.thumbnail((SIZE, SIZE))
            if picture.mode in ("RGBA", "LA", "P"):
                # Transparent parts show on white, as on the page.
                picture = picture.convert("RGBA")
                flat = Image.new("RGB", picture.size, "white")
                flat.paste(picture, mask=picture.getchannel("A"))
                picture = flat
            out = io.BytesIO()
            picture.convert("RGB").save(out, "JPEG", quality=80, optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise NoThumbnail(str(error)) from None
