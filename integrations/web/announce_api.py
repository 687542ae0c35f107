"""Announcements from the browser (/staff/announce, roles staff and admin): compose, preview with the recipient
count, send, follow the progress, cancel, approve. The work is done through a port (Announcements, implemented
by bot.broadcast.web on the broadcast queue). desk_auth's middleware asks for a session (401) and, on POST, the
CSRF token (403); a village team member gets 403 here, and so does an account no staff.yml member names."""

from __future__ import annotations

import json
from typing import Any, Protocol

from aiohttp import web

from integrations.web.dashboard_api import FORBIDDEN, may_see_figures
from integrations.web.dashboard_page import dashboard_strings
from integrations.web.desk_auth import USER, StaffUser
from integrations.web.page import render
from kernel.i18n import Catalogs

MAX_BODY = 64 * 1024


class Refused(ValueError):
    """A request the queue does not carry out; the message says why."""


class NotAllowed(PermissionError):
    """The account may not announce (no staff.yml member names it)."""


class Announcements(Protocol):
    async def form(self, username: str, language: str | None) -> dict[str, Any]:
        """The author (or None), the villages they may choose, channels, approval, recent announcements."""
        ...

    async def preview(self, username: str, body: Any, language: str | None) -> dict[str, Any]:
        """{"recipients", "by_channel", "previews": [{"language", "text", "buttons"}]}; Refused, NotAllowed."""
        ...

    async def send(self, username: str, body: Any, language: str | None) -> dict[str, Any]: ...

    async def status(self, broadcast_id: int, language: str | None) -> dict[str, Any]:
        """Status, counts, percent settled and, once finished, the report; LookupError when unknown."""
        ...

    async def cancel(self, username: str, broadcast_id: int, language: str | None) -> dict[str, Any]: ...

    async def approve(self, username: str, broadcast_id: int, language: str | None) -> dict[str, Any]: ...


ANNOUNCEMENTS = web.AppKey("announcements", Announcements)
ANNOUNCE_PAGE = web.AppKey("announce_page", str)
NO_STORE = {"Cache-Control": "no-store"}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _language(request: web.Request) -> str | None:
    lang = request.query.get("lang")
    return lang if lang in ("vi", "en") else None


async def _body(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


async def _answer(request: web.Request, call: Any) -> web.Response:
    if not may_see_figures(request[USER]):
        return _error(403, FORBIDDEN)
    try:
        return web.json_response(await call(), headers=NO_STORE)
    except NotAllowed as exc:
        return _error(403, str(exc))
    except Refused as exc:
        return _error(400, str(exc))
    except LookupError as exc:
        return _error(404, str(exc))


def _id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise LookupError("No such announcement.") from None


async def form(request: web.Request) -> web.Response:
    user: StaffUser = request[USER]
    return await _answer(request, lambda: request.app[ANNOUNCEMENTS].form(user.username, _language(request)))


async def preview(request: web.Request) -> web.Response:
    user: StaffUser = request[USER]

    async def call() -> dict[str, Any]:
        return await request.app[ANNOUNCEMENTS].preview(user.username, await _body(request), _language(request))
    return await _answer(request, call)


async def send(request: web.Request) -> web.Response:
    user: StaffUser = request[USER]

    async def call() -> dict[str, Any]:
        return await request.app[ANNOUNCEMENTS].send(user.username, await _body(request), _language(request))
    return await _answer(request, call)


async def status(request: web.Request) -> web.Response:
    return await _answer(request, lambda: request.app[ANNOUNCEMENTS].status(_id(request), _language(request)))


async def cancel(request: web.Request) -> web.Response:
    user: StaffUser = request[USER]
    return await _answer(request, lambda: request.app[ANNOUNCEMENTS].cancel(user.username, _id(request),
                                                                             _language(request)))


async def approve(request: web.Request) -> web.Response:
    user: StaffUser = request[USER]
    return await _answer(request, lambda: request.app[ANNOUNCEMENTS].approve(user.username, _id(request),
                                                                              _language(request)))


async def page(request: web.Request) -> web.Response:
    return web.Response(text=request.app[ANNOUNCE_PAGE], content_type="text/html", headers=NO_STORE)


def announce_page(catalogs: Catalogs | None) -> str:
    """announce.html with the dashboard's strings (the same data block)."""
    return render("announce.html", dashboard_strings(catalogs), title="announce")


def add_announce_routes(app: web.Application, announcements: Announcements, catalogs: Catalogs | None = None
                        ) -> None:
    """The announcement page and API (after the desk's login routes, whose middleware guards /staff/api/)."""
    app[ANNOUNCEMENTS] = announcements
    app[ANNOUNCE_PAGE] = announce_page(catalogs)
    app.router.add_get("/staff/announce", page)
    app.router.add_get("/staff/api/announce", form)
    app.router.add_post("/staff/api/announce/preview", preview)
    app.router.add_post("/staff/api/announce", send)
    app.router.add_get("/staff/api/announce/{id}", status)
    app.router.add_post("/staff/api/announce/{id}/cancel", cancel)
    app.router.add_post("/staff/api/announce/{id}/approve", approve)
