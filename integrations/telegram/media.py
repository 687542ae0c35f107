"""A resident's photo, voice note, audio or file on Telegram, fetched through the Bot API (getFile, then the file URL).

Only the content and its caption go to the core (kernel.messages.MediaFile), which decides the type from the
bytes and redacts the caption. A file
Telegram announces as larger than MAX_FILE_BYTES is not downloaded. A network failure is raised: the update is
tried again (integrations/telegram/dispatch.py), so a photo is not lost to a dropped connection.
"""

from __future__ import annotations

import logging

from telegram import Bot, Message
from telegram.error import BadRequest

from kernel.edge import clean_text
from kernel.messages import MAX_FILE_BYTES, MediaFile

log = logging.getLogger(__name__)


def _file_id(message: Message) -> tuple[str, int | None] | None:
    """(file_id, announced size) of what the message carries that the team may look at, else None."""
    if message.animation is not None:  # a GIF comes with a `document` too; it is not the resident's problem
        return None
    if message.photo:
        # The sizes come smallest first; the largest that fits (a phone photo's largest is well under 10 MB).
        fitting = [p for p in message.photo if (p.file_size or 0) <= MAX_FILE_BYTES] or [message.photo[0]]
        return fitting[-1].file_id, fitting[-1].file_size
    for item in (message.voice, message.audio, message.document):
        if item is not None:
            return item.file_id, item.file_size
    return None


async def fetch(bot: Bot, message: Message) -> MediaFile | None:
    """The content of the message's photo, voice note, audio or document (None for other media: stickers,
    videos, ...); a MediaFile marked too_large, not downloaded, when it is over MAX_FILE_BYTES."""
    found = _file_id(message)
    if found is None:
        return None
    file_id, size = found
    caption = clean_text(message.caption) if message.caption else None
    if size is not None and size > MAX_FILE_BYTES:
        return MediaFile(too_large=True, caption=caption)
    try:
        file = await bot.get_file(file_id)
    except BadRequest as exc:  # "file is too big" (over the Bot API's 20 MB), or a file_id Telegram forgot
        log.info("telegram: file not fetched: %s", exc.message)
        return MediaFile(too_large=True, caption=caption)
    if file.file_size is not None and file.file_size > MAX_FILE_BYTES:
        return MediaFile(too_large=True, caption=caption)
    data = bytes(await file.download_as_bytearray(read_timeout=60))
    if len(data) > MAX_FILE_BYTES:
        return MediaFile(too_large=True, caption=caption)
    return MediaFile(data, caption=caption)
