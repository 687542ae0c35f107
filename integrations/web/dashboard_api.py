"""The commune's dashboard under /staff/ (roles staff and admin): its page and JSON/CSV API.

The figures come through a port (Dashboard, implemented by bot.staff.dashboard). The session and CSRF checks
are desk_auth's middleware (401 without a session, 403 for a POST without the token); a member of a village
team gets 403 here. The page itself is public like the desk's (it shows nothing until the API answers).
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from typing import Protocol

from aiohttp import web

from integrations.web.dashboard_page import dashboard_page, dashboard_strings
from integrations.web.desk_auth import USER, StaffUser
from kernel.i18n import Catalogs

MAX_PARAM = 64
KEY = re.compile(r"[0-9a-f]{64}")


class BadQuery(ValueError):
    """A parameter the figures cannot be computed for; the message says what to send."""


class NotFound(LookupError):
    """No such guide."""


class Dashboard(Protocol):
    """The figures the dashboard shows (bot.staff.dashboard.DashboardFigures)."""

    async def funnel(self, flow: str, since: str, until: str, village: str | None) -> dict[str, object]:
        """`{"flow", "started", "steps": [{"step", "reached", "stuck"}], "handoff", "completed"}` for the days
        from `since` to `until` (YYYY-MM-DD, both included, the commune's time zone); BadQuery, NotFound."""
        ...

    async def overview(self, since: str | None, until: str | None, village: str | None,
                       language: str | None = None, steps: bool = False) -> dict[str, object]:
        """Every table of the page: funnels, stuck, reach, languages, handoff, unanswered, broadcasts (README); `steps`
        adds each guide's figures per step."""
        ...

    async def mark_handled(self, key: str, through: datetime, who: str) -> None:
        """Mark a group of unanswered messages (its key) as handled up to its newest message seen (`through`)."""
        ...


DASHBOARD = web.AppKey("staff_dashboard", Dashboard)
PAGE = web.AppKey("staff_dashboard_page", str)

# CSV columns of each table (the same keys as the JSON's rows); funnel rows are one per guide and step.
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "funnel": ("flow", "title", "started", "completed", "handoff", "cancelled", "step", "label", "reached",
               "stuck"),
    "stuck": ("flow", "title", "step", "label", "stuck"),
    "reach": ("village", "place", "channel", "residents", "new", "active", "subscribed"),
    "languages": ("language", "residents"),
    "handoff": ("village", "place", "team", "opened", "claimed", "resolved", "solved", "not_solved",
                "minutes_to_claim"),
    "unanswered": ("text", "count", "kinds", "last"),
    "broadcasts": ("id", "created", "author", "topic", "villages", "status", "recipients", "sent", "failed",
                   "waiting", "skipped", "unsubscribed"),
}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def may_see_figures(user: StaffUser) -> bool:
    """The commune's own view is for the roles staff and admin, not for village team members."""
    return user.role in ("staff", "admin")


def _params(request: web.Request, *names: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        value = request.query.get(name)
        if value is not None and (len(value) > MAX_PARAM or not value.isascii() or not value.isprintable()):
            raise BadQuery(f"{name} is not a valid value")
        out[name] = value or None
    return out


FORBIDDEN = "The dashboard is for the commune's staff (role staff or admin)."


async def funnel(request: web.Request) -> web.Response:
    if not may_see_figures(request[USER]):
        return _error(403, FORBIDDEN)
    try:
        q = _params(request, "flow", "from", "to", "village")
        flow, since, until = q["flow"], q["from"], q["to"]
        if not flow or not since or not until:
            raise BadQuery("Send flow, from and to (YYYY-MM-DD), e.g. ?flow=vneid_install&from=2026-12-01"
                           "&to=2026-12-31; village is optional.")
        body = await request.app[DASHBOARD].funnel(flow, since, until, q["village"])
    except BadQuery as exc:
        return _error(400, str(exc))
    except NotFound:
        return _error(404, "No such guide.")
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def _overview(request: web.Request, steps: bool = False) -> dict[str, object]:
    q = _params(request, "from", "to", "village", "lang")
    if (q["from"] is None) != (q["to"] is None):
        raise BadQuery("Send both from and to (YYYY-MM-DD), or neither for the last 30 days.")
    return await request.app[DASHBOARD].overview(q["from"], q["to"], q["village"], q["lang"], steps)


async def overview(request: web.Request) -> web.Response:
    if not may_see_figures(request[USER]):
        return _error(403, FORBIDDEN)
    try:
        body = await _overview(request)
    except BadQuery as exc:
        return _error(400, str(exc))
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def _cell(value: object) -> str:
    """A CSV cell; text a spreadsheet would run as a formula (=, +, -, @) is quoted with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def table_rows(body: dict[str, object], table: str) -> list[dict[str, object]]:
    """The rows of one table of the overview (funnel: one per guide and step)."""
    if table != "funnel":
        return list(body[table])  # type: ignore[call-overload]
    rows = []
    for guide in body["funnels"]:  # type: ignore[attr-defined]
        for step in guide["steps"]:
            rows.append({**{k: v for k, v in guide.items() if k != "steps"}, **step})
    return rows


async def export_csv(request: web.Request) -> web.StreamResponse:
    if not may_see_figures(request[USER]):
        return _error(403, FORBIDDEN)
    table = request.query.get("table", "")
    if table not in CSV_COLUMNS:
        return _error(400, f"table must be one of {', '.join(CSV_COLUMNS)}")
    try:
        body = await _overview(request, steps=table == "funnel")
    except BadQuery as exc:
        return _error(400, str(exc))
    out = io.StringIO()
    out.write("\ufeff")  # spreadsheets then read the file as UTF-8 (Vietnamese letters)
    writer = csv.writer(out, lineterminator="\r\n")
    columns = CSV_COLUMNS[table]
    writer.writerow(columns)
    for row in table_rows(body, table):
        writer.writerow([_cell(row.get(c)) for c in columns])
    name = f"{table}-{body['from']}-{body['to']}{'-' + str(body['village']) if body['village'] else ''}.csv"
    return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "Cache-Control": "no-store"})


async def handled(request: web.Request) -> web.Response:
    """POST {"key", "last"}: a group of unanswered messages (as /staff/api/dashboard listed it) is handled."""
    user: StaffUser = request[USER]
    if not may_see_figures(user):
        return _error(403, FORBIDDEN)
    wrong = _error(400, 'Send JSON {"key": ..., "last": ...}: a group\'s key and last from /staff/api/dashboard.')
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return wrong
    key = body.get("key") if isinstance(body, dict) else None
    last = body.get("last") if isinstance(body, dict) else None
    if not isinstance(key, str) or not KEY.fullmatch(key) or not isinstance(last, str) or len(last) > 40:
        return wrong
    try:
        through = datetime.fromisoformat(last)
    except ValueError:
        return wrong
    if through.tzinfo is None:
        return wrong
    await request.app[DASHBOARD].mark_handled(key, through, user.username)
    return web.json_response({"key": key, "handled": True})


async def page(request: web.Request) -> web.Response:
    """The dashboard page (it asks /staff/api/me who is there, and sends others to the desk's login)."""
    return web.Response(text=request.app[PAGE], content_type="text/html", headers={"Cache-Control": "no-store"})


def add_dashboard_routes(app: web.Application, dashboard: Dashboard, catalogs: Catalogs | None = None) -> None:
    """The dashboard's page and API on the web app (after the desk's login routes, whose middleware guards it)."""
    app[DASHBOARD] = dashboard
    app[PAGE] = dashboard_page(dashboard_strings(catalogs))
    app.router.add_get("/staff/dashboard", page)
    app.router.add_get("/staff/api/funnel", funnel)
    app.router.add_get("/staff/api/dashboard", overview)
    app.router.add_get("/staff/api/dashboard.csv", export_csv)
    app.router.add_post("/staff/api/unanswered/handled", handled)
