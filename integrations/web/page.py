"""The chat page and what makes it an installable app: the page with its strings in every language (from
the catalogs), the web app manifest, the service worker, and GET /api/chat/history."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from integrations.web.history import History
from kernel.i18n import Catalogs

STATIC = Path(__file__).resolve().parent / "static"
PAGE_STRINGS = web.AppKey("page_strings", dict)
HISTORY = web.AppKey("history", History)


def N_(msgid: str) -> str:
    """Mark a string for the catalogs; it is translated when the page is built."""
    return msgid


# Every string the page shows by itself (the assistant's replies come translated with each answer).
UI = {
    "title": N_("Trợ lý số"),
    "placeholder": N_("Nhập câu hỏi…"),
    "message": N_("Tin nhắn"),
    "send": N_("Gửi"),
    "attach": N_("Gửi ảnh hoặc ghi âm cho tổ công nghệ số"),
    "conversation": N_("Cuộc trò chuyện"),
    "language": N_("Đổi ngôn ngữ"),
    "smaller": N_("Chữ nhỏ hơn"),
    "larger": N_("Chữ to hơn"),
    "read": N_("Đọc to"),
    "typing": N_("Trợ lý đang trả lời…"),
    "offline": N_("Không có mạng. Trang này mở từ bản lưu trên máy; tin bạn nhắn sẽ được gửi khi có mạng lại."),
    "queued": N_("Chờ gửi"),
    "wait": N_("Mạng chậm, bạn thử lại nhé."),
    "tooBig": N_("Tệp này lớn quá (tối đa 10 MB). Bạn chụp lại ảnh màn hình hoặc ghi âm ngắn hơn nhé."),
    "old": N_("Nút này thuộc tin nhắn cũ, hãy dùng các nút ở tin nhắn mới nhất."),
}
# Each catalog names its own language, in that language, for the switch ("English" in en). Babel's CLDR
# data would name it too, but loading it kept 4.3 MB of locale data in every server process for two words.
LANGUAGE_NAME = N_("Tiếng Việt")


def localized(ui: Mapping[str, str], catalogs: Catalogs | None) -> dict[str, dict[str, str]]:
    """A page's strings (`ui`: key -> Vietnamese msgid) in every language we serve, plus each language's own
    name for the switch. Every page of ours (chat, desk, dashboard, ...) is built with it."""
    if catalogs is None:  # an app without catalogs (some tests): the Vietnamese source strings
        return {"vi": {**ui, "name": LANGUAGE_NAME}}
    out: dict[str, dict[str, str]] = {}
    for lang in catalogs.languages:
        tr = catalogs.get(lang)
        out[lang] = {key: tr(msgid) for key, msgid in ui.items()}
        out[lang]["name"] = tr(LANGUAGE_NAME)
    return out


def render(template: str, strings: dict[str, dict[str, str]], title: str = "title") -> str:
    """A static page (`template` under static/) with its strings in a JSON data block (not a script: the CSP's
    script-src 'self' holds) and its Vietnamese title (`strings["vi"][title]`)."""
    data = json.dumps(strings, ensure_ascii=False).replace("<", "\\u003c")
    html = (STATIC / template).read_text(encoding="utf-8")
    return html.replace("{{strings}}", data).replace("{{title}}", strings["vi"][title])


def page_strings(catalogs: Catalogs | None) -> dict[str, dict[str, str]]:
    """The chat page's strings in every language we serve."""
    return localized(UI, catalogs)


def _page(strings: dict[str, dict[str, str]]) -> str:
    return render("chat.html", strings)


async def index(request: web.Request) -> web.Response:
    return web.Response(text=_page(request.app[PAGE_STRINGS]), content_type="text/html",
                        headers={"Cache-Control": "no-cache"})


async def manifest(request: web.Request) -> web.Response:
    title = request.app[PAGE_STRINGS]["vi"]["title"]
    body = {"name": title, "short_name": title, "start_url": "/", "scope": "/", "display": "standalone",
            "lang": "vi", "background_color": "#f4f6f4", "theme_color": "#0a7d45",
            "icons": [{"src": f"/static/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png", "purpose": "any"}
                      for n in (192, 512)]}
    return web.json_response(body, content_type="application/manifest+json",
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def service_worker(request: web.Request) -> web.FileResponse:
    # Served from the root so that it may control the whole site; never cached by the HTTP cache, so a
    # new version reaches phones at the next visit.
    return web.FileResponse(STATIC / "sw.js", headers={"Cache-Control": "no-cache",
                                                                    "Content-Type": "text/javascript"})
