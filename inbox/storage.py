"""Where uploaded media (product images) live, behind a small interface.

`MediaStorage` is what services and handlers use; `LocalDiskStorage` keeps files under
`MEDIA_DIR`. An object store (S3 and the like) would implement the same three calls.

Keys are made here, never taken from a client: 32 random hex digits and an extension
(`3f9c...e1.png`). `is_valid_key` is checked before any file system access, so a key from a
URL can never name anything but a stored object (no `..`, no slashes, no absolute paths).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from inbox.errors import NotFound

CHUNK_BYTES = 64 * 1024
KEY_PATTERN = re.compile(r"^[0-9a-f]{32}\.(jpg|png|gif|webp)$")
CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
}


def sniff_image(head: bytes) -> str | None:
    """The image kind ("jpg", "png", "gif", "webp") its first bytes say, else None. Decided
    by the file's own signature, never by the name or content type a client claims."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    # RIFF container, WEBP form, then one of the three WebP chunk kinds.
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and head[12:16] in (b"VP8 ", b"VP8L", b"VP8X"):
        return "webp"
    return None


SNIFF_BYTES = 16  # what `sniff_image` looks at


def new_key(extension: str) -> str:
    """An unguessable key (128 random bits) for a new object of this kind."""
    if extension not in CONTENT_TYPES:
        raise ValueError(f"unsupported extension {extension!r}")
    return f"{secrets.token_hex(16)}.{extension}"


def is_valid_key(key: str) -> bool:
    return KEY_PATTERN.fullmatch(key) is not None


def content_type_of(key: str) -> str:
    return CONTENT_TYPES[key.rsplit(".", 1)[1]]


class MediaObject(Protocol):
    """An open stored object: its size and type, its bytes as chunks (read once), and
    `aclose()`, which the reader calls whether or not it read the chunks."""

    key: str
    size: int
    content_type: str

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class MediaStorage(Protocol):
    async def save(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, whole or not at all."""
        ...

    async def open(self, key: str) -> MediaObject:
        """The stored object; NotFound when there is none (or the key is not a valid key)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; no error when it is already gone."""
        ...


class LocalDiskStorage:
    """Files under `root`, fanned out by the key's first two hex digits (256 directories)."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        if not is_valid_key(key):
            raise NotFound("Media not found")
        path = (self.root / key[:2] / key).resolve()
        # The key pattern already rules out escaping the root; this keeps it true if it changes.
        if not path.is_relative_to(self.root):
            raise NotFound("Media not found")
        return path

    async def save(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._save, self._path(key), data)

    @staticmethod
    def _save(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written to a temporary file, then renamed: a reader never sees half an image.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    async def open(self, key: str) -> MediaObject:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound("Media not found") from None
        # An open handle keeps reading the file even if it is deleted meanwhile.
        return _LocalFile(key, os.fstat(handle.fileno()).st_size, content_type_of(key), handle)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(path.unlink)


@dataclass
class _LocalFile:
    key: str
    size: int
    content_type: str
    handle: BinaryIO

    async def chunks(self) -> AsyncIterator[bytes]:
        while chunk := await asyncio.to_thread(self.handle.read, CHUNK_BYTES):
            yield chunk

    async def aclose(self) -> None:
        self.handle.close()
