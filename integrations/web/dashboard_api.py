"""The commune's dashboard API under /staff/api/ (roles staff and admin): figures from the analytics events.

The figures come through a port (Dashboard, implemented by bot.staff.dashboard). The session and CSRF checks
are desk_auth's middleware (401 without a session); a member of a village team gets 403 here.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from integrations.web.desk_auth import USER, StaffUser

MAX_PARAM = 64


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


DASHBOARD = web.AppKey("staff_dashboard", Dashboard)


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
        out[name] = value
    return out


async def funnel(request: web.Request) -> web.Response:
    if not may_see_figures(request[USER]):
        return _error(403, "The dashboard is for the commune's staff (role staff or admin).")
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


def add_dashboard_routes(app: web.Application, dashboard: Dashboard) -> None:
    """The dashboard's API on the web app (after the desk's login routes, whose middleware guards it)."""
    app[DASHBOARD] = dashboard
    app.router.add_get("/staff/api/funnel", funnel)
