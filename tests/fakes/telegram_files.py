"""Files on the fake Bot API: residents' photos, voice notes and documents, getFile and the download URL.

As Telegram does it: a message carries `photo` (a list of PhotoSize, smallest first), `voice`, `audio` or
`document`, each with `file_id`, `file_unique_id` and `file_size`; `getFile(file_id)` answers a File with
`file_path` (400 "Bad Request: file is too big" over 20 MB, "Bad Request: invalid file_id" for an unknown
id); the content is at ``GET /file/bot<token>/<file_path>`` (404 for a wrong token or path).

    fake.inject_photo(1001, jpeg_bytes)                 # one size (or sizes=[small, large])
    fake.inject_voice(1001, ogg_bytes)
    fake.inject_document(1001, data, "anh.jpg", "image/jpeg")
    fake.downloads                                      # file paths downloaded, in order
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from aiohttp import web

from tests.fakes.telegram_model import ApiError, _bad

MAX_DOWNLOAD = 20 * 1024 * 1024  # what a bot may download through the Bot API


class BotApiFiles:
    """The file side of FakeTelegram (a mixin; the state is set up by `_init_files`)."""

    token: str

    def inject_update(self, update: dict[str, Any], update_id: int | None = None) -> int:
        raise NotImplementedError

    def _message(self, chat_id: int, from_user: int | None, thread_id: int | None = None,
                 **content: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _init_files(self) -> None:
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self.downloads: list[str] = []
        self._file_numbers = itertools.count(1)

    def add_file(self, data: bytes, folder: str, extension: str) -> dict[str, Any]:
        """Keep `data` as Telegram would and return its description (file_id, file_unique_id, file_size)."""
        n = next(self._file_numbers)
        file_id = f"AgAC{hashlib.sha256(data).hexdigest()[:24]}{n}"
        self.files[file_id] = (f"{folder}/file_{n}.{extension}", data)
        return {"file_id": file_id, "file_unique_id": f"AQAD{n}", "file_size": len(data)}

    def inject_photo(self, user_id: int, data: bytes, *, sizes: list[tuple[bytes, int, int]] | None = None,
                     caption: str | None = None) -> int:
        """The user sends a photo; `sizes` as (content, width, height), smallest first (default: one size)."""
        photo = [{**self.add_file(d, "photos", "jpg"), "width": w, "height": h}
                 for d, w, h in (sizes or [(data, 1280, 960)])]
        content: dict[str, Any] = {"photo": photo}
        if caption:
            content["caption"] = caption
        return self.inject_update({"message": self._message(user_id, None, **content)})

    def inject_voice(self, user_id: int, data: bytes, duration: int = 3) -> int:
        voice = {**self.add_file(data, "voice", "oga"), "duration": duration, "mime_type": "audio/ogg"}
        return self.inject_update({"message": self._message(user_id, None, voice=voice)})

    def inject_document(self, user_id: int, data: bytes, file_name: str, mime_type: str) -> int:
        extension = file_name.rpartition(".")[2] or "bin"
        document = {**self.add_file(data, "documents", extension), "file_name": file_name, "mime_type": mime_type}
        return self.inject_update({"message": self._message(user_id, None, document=document)})

    async def _m_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id") or "")
        if not file_id:
            raise _bad("file_id is empty")
        if file_id not in self.files:
            raise _bad("invalid file_id")
        path, data = self.files[file_id]
        if len(data) > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {"file_id": file_id, "file_unique_id": f"AQAD{file_id[-4:]}", "file_size": len(data),
                "file_path": path}

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            raise web.HTTPNotFound()
        path = request.match_info["path"]
        found = next((data for p, data in self.files.values() if p == path), None)
        if found is None:
            raise web.HTTPNotFound()
        self.downloads.append(path)
        return web.Response(body=found, content_type="application/octet-stream")


__all__ = ["BotApiFiles", "ApiError"]
