"""The commune's data from the browser (/staff/community, roles staff and admin): the mobile service point
schedule, the digital skills classes and the village teams' contacts, read and saved through a port
(CommunityEditor, implemented by bot.staff.community). desk_auth's middleware asks for a session (401) and, on
PUT, the CSRF token (403)."""

from __future__ import annotations

import json
from typing import Any, Protocol

from aiohttp import web

from integrations.web.dashboard_api import FORBIDDEN, may_see_figures
from integrations.web.dashboard_page import dashboard_strings
from integrations.web.desk_auth import USER, StaffUser
from integrations.web.page import render
from kernel.i18n import Catalogs

LISTS = ("schedule", "classes", "teams")
MAX_BODY = 256 * 1024


class Refused(ValueError):
    """An edit that is not saved; the message says which entry and what is wrong."""


class CommunityEditor(Protocol):
    def read(self, which: str) -> list[dict[str, Any]]: ...

    def villages(self) -> list[dict[str, str]]:
        """The places entries may name: [{"code", "name"}]."""
        ...

    async def history(self, limit: int = 20) -> list[dict[str, object]]: ...

    async def save(self, which: str, entries: Any, who: str, language: str | None = None) -> list[dict[str, Any]]:
        """The saved entries; Refused (or a ValueError subclass, its message in `language` where it can) when
        they are not valid."""
        ...


EDITOR = web.AppKey("community_editor", CommunityEditor)
COMMUNITY_PAGE = web.AppKey("community_page", str)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def read(request: web.Request) -> web.Response:
    if not may_see_figures(request[USER]):
        return _error(403, FORBIDDEN)
    editor = request.app[EDITOR]
    return web.json_response({**{which: editor.read(which) for which in LISTS}, "villages": editor.villages(),
                              "history": await editor.history()}, headers={"Cache-Control": "no-store"})


async def save(request: web.Request) -> web.Response:
    user: StaffUser = request[USER]
    if not may_see_figures(user):
        return _error(403, FORBIDDEN)
    which = request.match_info["which"]
    if which not in LISTS:
        return _error(404, "No such list: schedule, classes or teams.")
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _error(413, "Too large.")
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, 'Send JSON: {"entries": [...]}.')
    entries = body.get("entries") if isinstance(body, dict) else None
    try:
        lang = request.query.get("lang")
        saved = await request.app[EDITOR].save(which, entries, user.username, lang if lang in ("vi", "en") else None)
    except ValueError as exc:
        return _error(400, str(exc))
    return web.json_response({which: saved, "history": await request.app[EDITOR].history()})


async def page(request: web.Request) -> web.Response:
    return web.Response(text=request.app[COMMUNITY_PAGE], content_type="text/html",
                        headers={"Cache-Control": "no-store"})


def community_page(catalogs: Catalogs | None) -> str:
    """community.html with the dashboard's strings (the same data block)."""
    return render("community.html", dashboard_strings(catalogs), title="community")


def add_community_routes(app: web.Application, editor: CommunityEditor, catalogs: Catalogs | None = None) -> None:
    """The community data page and API (after the desk's login routes, whose middleware guards /staff/api/)."""
    app[EDITOR] = editor
    app[COMMUNITY_PAGE] = community_page(catalogs)
    app.router.add_get("/staff/community", page)
    app.router.add_get("/staff/api/community", read)
    app.router.add_put("/staff/api/community/{which}", save)
