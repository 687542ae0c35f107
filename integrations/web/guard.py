"""What every response of the web server gets: security headers, and a 503 (not a 500 with a traceback)
when the database is out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from kernel.ports import HealthCheck, database_down

log = logging.getLogger(__name__)
HEALTH = web.AppKey("health", HealthCheck)
# Only our own origin: the chat page loads its script and style from /static, and no one may frame it.
CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Server": "tro-ly-so",  # aiohttp's default names itself and Python with their versions
}
PING_TIMEOUT = 3.0


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: runs for every response, pages, static files, webhooks and errors alike."""
    for name, value in HEADERS.items():
        if name == "Server" or name not in response.headers:
            response.headers[name] = value


def unavailable() -> web.Response:
    return web.json_response({"error": "The assistant is briefly unavailable. Please try again in a minute."},
                             status=503, headers={"Retry-After": "30"})


@web.middleware
async def errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                 ) -> web.StreamResponse:
    """An exception a handler did not expect: 503 when the database is out (the client retries and the
    server recovers by itself), else a plain 500; the log names the exception, never the request body."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if HEALTH in request.app and await database_down(request.app[HEALTH], PING_TIMEOUT):
            log.warning("%s %s: database unavailable (%s)", request.method, request.path, type(exc).__name__)
            return unavailable()
        log.exception("%s %s failed", request.method, request.path)
        return web.json_response({"error": "Something went wrong on our side."}, status=500)


def harden(app: web.Application, health: HealthCheck) -> None:
    """Add the headers and the outage handling to an application (the main one or a sub-application)."""
    app[HEALTH] = health
    app.middlewares.append(errors)
    app.on_response_prepare.append(security_headers)
