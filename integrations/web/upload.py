"""`POST /api/chat/upload`: a web chat resident sends a photo or a voice note (multipart field `file`, up to
10 MB) to their open case. Its type is decided by the content (bot.handoff.files), never by its name.
Answers `{"replies": [...], "kept": bool}` like the chat API: 200 when kept or when there is no case to
keep it in (the reply says what to do), 415 for a file that is neither an image nor audio, 413 when too
large, 400 without a session."""

from __future__ import annotations

import re
from typing import Protocol

from aiohttp import BodyPartReader, web

from integrations.web.chat import COOKIE, replies_json, resident_of
from kernel.messages import MAX_FILE_BYTES as MAX_BYTES
from kernel.messages import Reply, ResidentKey

_SESSION = re.compile(r"[A-Za-z0-9_-]{43}")


class Uploads(Protocol):
    """Where a resident's file goes (bot.handoff.uploads.ResidentFiles)."""

    async def upload(self, who: ResidentKey, data: bytes) -> tuple[str, list[Reply]]:
        """("kept" | "no_case" | "refused", the answer for the resident)."""
        ...


UPLOADS = web.AppKey("uploads", Uploads)


async def upload(request: web.Request) -> web.Response:
    session = request.cookies.get(COOKIE) or request.query.get("session") or ""
    if not _SESSION.fullmatch(session):
        return web.json_response({"error": "Start a conversation first."}, status=400)
    if not request.content_type.startswith("multipart/"):
        return web.json_response({"error": "Send the file as multipart/form-data, field 'file'."}, status=400)
    reader = await request.multipart()
    part = await reader.next()
    if part is None or not isinstance(part, BodyPartReader) or part.name != "file":
        return web.json_response({"error": "Send the file as multipart/form-data, field 'file'."}, status=400)
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > MAX_BYTES:
            return web.json_response({"error": "A file has at most 10 MB."}, status=413)
    outcome, replies = await request.app[UPLOADS].upload(ResidentKey("web", resident_of(session)), bytes(data))
    status = 415 if outcome == "refused" else 200
    return web.json_response({"replies": replies_json(replies), "kept": outcome == "kept"}, status=status)


def add_upload_route(app: web.Application, uploads: Uploads) -> None:
    app[UPLOADS] = uploads
    app.router.add_post("/api/chat/upload", upload)
