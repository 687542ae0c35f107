"""Photos and voice notes a resident sends to their case, kept by the server (a folder under var/).

A file's type is read from its content, never from its name. An image is decoded and encoded again as
JPEG (Pillow), which keeps the pixels and drops everything else: EXIF (the phone's location, model and
time), comments, embedded thumbnails. Audio is kept as sent, if it starts like a format browsers play.
Files live in one folder per case and go with it: a sweep deletes the folders of cases that no longer
exist (the resident asked to be forgotten) and of cases ended longer ago than the retention period. A file
sent without a case is held for an hour (held/<resident>/) for the case the resident may ask for next.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import shutil
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from kernel.messages import MAX_FILE_BYTES as MAX_BYTES

log = logging.getLogger(__name__)
MAX_PIXELS = 40_000_000  # a phone's photo is under 50 MP; a "decompression bomb" is refused
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "MPO")
MAX_SIDE = 2560  # enough to read a screen; a smaller file for the team's phones
HELD = "held"  # the folder of files sent without a case, one folder per resident
HOLD = timedelta(hours=1)  # how long such a file waits for the resident to ask for a person


class NotAccepted(ValueError):
    """A file that is neither an image nor audio we keep (or too large); the message is for logs."""


@dataclass(frozen=True)
class Kept:
    """A stored file: its name in the case's folder, its kind (image | audio) and its type."""

    name: str
    kind: str
    mime: str


_AUDIO = {"ogg": "audio/ogg", "wav": "audio/wav", "webm": "audio/webm", "m4a": "audio/mp4", "mp3": "audio/mpeg"}
_KINDS = {"jpg": ("image", "image/jpeg"), **{ext: ("audio", mime) for ext, mime in _AUDIO.items()}}


def _audio(data: bytes) -> tuple[str, str] | None:
    """(extension, MIME type) of audio recognised by its first bytes, else None."""
    if data[:4] == b"OggS":
        return "ogg", "audio/ogg"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav", "audio/wav"
    if data[:4] == b"\x1aE\xdf\xa3":
        return "webm", "audio/webm"
    if data[4:8] == b"ftyp" and data[8:11] in (b"M4A", b"mp4", b"iso", b"3gp"):
        return "m4a", "audio/mp4"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3", "audio/mpeg"
    return None


def _reencode(data: bytes) -> bytes | None:
    """The image as a fresh JPEG without metadata, or None when the bytes are not an image we read."""
    from PIL import Image, UnidentifiedImageError  # only for residents' photos: 4.5 MB the server need not hold

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format not in IMAGE_FORMATS or img.width * img.height > MAX_PIXELS:
                    return None
                img.load()
                pixels = img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        return None
    pixels.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    pixels.save(out, "JPEG", quality=85)  # no exif= given: none is written
    return out.getvalue()


class CaseFiles:
    """The folder of case files: checking, keeping, serving paths, and the retention sweep."""

    def __init__(self, directory: Path, keep_after_end: timedelta = timedelta(days=30)) -> None:
        self.directory = directory
        self.keep_after_end = keep_after_end

    def keep(self, case_id: int, data: bytes) -> Kept:
        """Check and store a file for a case; raises NotAccepted."""
        return self._store(self.directory / str(case_id), data)

    def hold(self, resident_id: int, data: bytes) -> Kept:
        """Check and keep a file a resident sent without a case, for HOLD at most: if they then ask for a
        person, the case opened takes it (`adopt`); otherwise the sweep deletes it. Raises NotAccepted."""
        return self._store(self.directory / HELD / str(resident_id), data)

    def adopt(self, resident_id: int, case_id: int) -> list[Kept]:
        """Move the resident's held files (oldest first) into the case's folder."""
        held = self.directory / HELD / str(resident_id)
        if not held.is_dir():
            return []
        folder = self.directory / str(case_id)
        folder.mkdir(parents=True, exist_ok=True)
        adopted = []
        for file in sorted((f for f in held.iterdir() if not f.name.startswith(".")), key=lambda f: f.stat().st_mtime):
            os.replace(file, folder / file.name)
            adopted.append(Kept(file.name, *_KINDS.get(file.suffix.lstrip("."), ("audio", "audio/mpeg"))))
        shutil.rmtree(held, ignore_errors=True)
        return adopted

    def held_residents(self) -> list[int]:
        """The residents who have files held."""
        held = self.directory / HELD
        return [int(f.name) for f in held.iterdir() if f.name.isdigit()] if held.is_dir() else []

    def sweep_held(self, live_residents: set[int]) -> int:
        """Delete held files older than HOLD, and those of residents who are gone (forgotten)."""
        deleted, oldest = 0, time.time() - HOLD.total_seconds()
        for resident_id in self.held_residents():
            folder = self.directory / HELD / str(resident_id)
            for file in list(folder.iterdir()):
                if resident_id not in live_residents or file.stat().st_mtime < oldest:
                    file.unlink(missing_ok=True)
                    deleted += 1
            if not any(folder.iterdir()):
                folder.rmdir()
        return deleted

    def _store(self, folder: Path, data: bytes) -> Kept:
        if len(data) > MAX_BYTES:
            raise NotAccepted(f"{len(data)} bytes (at most {MAX_BYTES})")
        audio = _audio(data)
        if audio is not None:
            (ext, mime), kind, body = audio, "audio", data
        else:
            image = _reencode(data)
            if image is None:
                raise NotAccepted("neither an image nor audio")
            ext, mime, kind, body = "jpg", "image/jpeg", "image", image
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{secrets.token_urlsafe(12)}.{ext}"
        partial = folder / f".{name}.part"
        partial.write_bytes(body)
        os.replace(partial, folder / name)  # whole or not at all
        return Kept(name, kind, mime)

    def path(self, case_id: int, name: str) -> Path | None:
        """The stored file, if it exists (a name is ours: letters, digits, '-', '_' and one extension)."""
        if not name or "/" in name or name.startswith(".") or not name.replace("-", "").replace("_", "")\
                .replace(".", "", 1).isalnum():
            return None
        path = self.directory / str(case_id) / name
        return path if path.is_file() else None

    def case_ids(self) -> list[int]:
        """The cases that have a folder."""
        if not self.directory.is_dir():
            return []
        return [int(f.name) for f in self.directory.iterdir() if f.is_dir() and f.name.isdigit()]

    def sweep(self, live: dict[int, datetime | None], now: datetime) -> int:
        """Delete the folders of cases that are gone, or ended (`live[id]` is the end) before the retention
        period; returns how many folders were deleted."""
        if not self.directory.is_dir():
            return 0
        deleted = 0
        for folder in self.directory.iterdir():
            if not folder.is_dir() or not folder.name.isdigit():
                continue
            case_id = int(folder.name)
            ended = live.get(case_id)
            if case_id in live and (ended is None or now - ended < self.keep_after_end):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            deleted += 1
        if deleted:
            log.info("case files: %s folders deleted (forgotten or past retention)", deleted)
        return deleted
