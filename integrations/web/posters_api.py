"""The posters' download on the dashboard (GET /staff/api/posters.pdf, roles staff and admin): one printable PDF."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from integrations.web.dashboard_api import FORBIDDEN, may_see_figures
from integrations.web.desk_auth import USER

MAX_PARAM = 300


class PosterRefused(ValueError):
    """The posters cannot be made as asked; the message (in the page's language) says what to change."""


class PosterMaker(Protocol):
    async def pdf(self, village: str | None, telegram_bot: str, zalo_oa: str, web_url: str,
                  language: str | None) -> bytes:
        """A page per place (every place when `village` is None) with a QR code per channel given; PosterRefused."""
        ...


POSTERS = web.AppKey("poster_maker", PosterMaker)


async def download(request: web.Request) -> web.Response:
    """?village=CODE (empty: every place), telegram_bot, zalo_oa, web_url, lang: the PDF as an attachment."""
    if not may_see_figures(request[USER]):
        return web.json_response({"error": FORBIDDEN}, status=403)
    q = request.query
    values = {k: q.get(k, "").strip() for k in ("village", "telegram_bot", "zalo_oa", "web_url", "lang")}
    if any(len(v) > MAX_PARAM for v in values.values()):
        return web.json_response({"error": "Too long."}, status=400)
    lang = values["lang"] if values["lang"] in ("vi", "en") else None
    try:
        body = await request.app[POSTERS].pdf(values["village"] or None, values["telegram_bot"], values["zalo_oa"],
                                              values["web_url"], lang)
    except PosterRefused as exc:
        return web.json_response({"error": str(exc)}, status=400)
    name = f"poster-{values['village'] or 'all'}.pdf"  # a known village code (the maker refuses others)
    return web.Response(body=body, content_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def add_poster_routes(app: web.Application, maker: PosterMaker) -> None:
    """The download (after the desk's login routes, whose middleware guards /staff/api/)."""
    app[POSTERS] = maker
    app.router.add_get("/staff/api/posters.pdf", download)
