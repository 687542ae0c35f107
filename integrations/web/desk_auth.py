"""The team desk's login: session cookie, CSRF token, login attempt limits, and `/staff/api/me`.

Accounts live behind a port (StaffLogins, implemented by bot.staff.accounts). The session cookie is
HttpOnly, SameSite=Strict, scoped to /staff and Secure over https. Every POST under /staff/api/ needs
the header X-CSRF-Token with the session's token (from /staff/api/me); logout takes it as the header
or the form field `csrf`. The login form itself has no session yet: a browser's POST from another
site is refused by its Origin header (scripts, which send none, may log in). What the server says under
/staff/ comes from the catalogs in the language the page asks for (`?lang=vi|en`; else the commune's).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from aiohttp import web
from babel.support import NullTranslations

from integrations.web.desk_page import desk_page, desk_strings
from integrations.web.limits import FloodLimiter, address_key
from kernel.i18n import Catalogs, Translator

log = logging.getLogger(__name__)
COOKIE = "staff_session"
MAX_FIELD = 1024


@dataclass(frozen=True)
class StaffUser:
    """A logged-in staff member as the desk sees them."""

    id: int
    username: str
    role: str  # member | staff | admin
    teams: tuple[str, ...]
    csrf: str
    language: str | None = None  # of the page making this request (`?lang=`); None: the commune's

    @property
    def sees_all(self) -> bool:
        return self.role in ("staff", "admin")


class StaffLogins(Protocol):
    """Accounts and sessions (bot.staff.accounts.StaffAccounts)."""

    async def login(self, username: str, password: str) -> str | None:
        """A new session token for the right password of an enabled account, else None."""
        ...

    async def session(self, token: str) -> StaffUser | None:
        """Who holds the token, or None (unknown, expired, disabled)."""
        ...

    async def logout(self, token: str) -> None: ...


class SharedAttempts(Protocol):
    """Failed logins counted where every server process sees them (bot.staff.throttle, in the database):
    `limit` failures of a key, then one a `window`."""

    async def over(self, key: str, limit: int, window: float) -> bool: ...

    async def failed(self, key: str, limit: int, window: float) -> None: ...


@dataclass
class LoginLimits:
    """Wrong passwords allowed per account and per client address in a window; past that, 429 until the
    window has passed (also for the right password: a guesser learns nothing more). With `shared`, the
    processes of `run --workers N` count together (each process alone would allow the limit again)."""

    account: FloodLimiter
    address: FloodLimiter
    shared: SharedAttempts | None = None

    @classmethod
    def default(cls, shared: SharedAttempts | None = None) -> LoginLimits:
        return cls(FloodLimiter(5, 60), FloodLimiter(20, 60), shared)

    def _keys(self, username: str, address: str) -> tuple[tuple[str, FloodLimiter], ...]:
        return (f"account:{username.lower()}", self.account), (f"address:{address}", self.address)

    async def blocked(self, username: str, address: str) -> bool:
        if self.account.full(username.lower()) or self.address.full(address):
            return True
        if self.shared is None:
            return False
        for key, limiter in self._keys(username, address):
            if await self.shared.over(key, limiter.limit, limiter.window):
                return True
        return False

    async def failed(self, username: str, address: str) -> None:
        self.account.allow(username.lower())
        self.address.allow(address)
        if self.shared is not None:
            for key, limiter in self._keys(username, address):
                await self.shared.failed(key, limiter.limit, limiter.window)


LOGINS = web.AppKey("staff_logins", StaffLogins)
LOGIN_LIMITS = web.AppKey("staff_login_limits", LoginLimits)
DESK_PAGE = web.AppKey("staff_desk_page", str)  # desk.html with its strings, built once
USER = web.RequestKey("staff_user", StaffUser)  # the StaffUser of a request under /staff/api/
DESK_CATALOGS = web.AppKey("staff_desk_catalogs", Catalogs)
_SOURCE = Translator("vi", NullTranslations())  # an app without catalogs (some tests): the source strings


def page_language(request: web.Request) -> str | None:
    """The language the desk's page asks for (`?lang=`) when we serve it, else None (the commune's)."""
    catalogs, asked = request.app.get(DESK_CATALOGS), request.query.get("lang", "")
    return catalogs.parse(asked) if catalogs is not None and 0 < len(asked) <= 16 else None


def desk_tr(request: web.Request) -> Translator:
    """The translator of what the server says to this request of the desk."""
    catalogs = request.app.get(DESK_CATALOGS)
    return catalogs.get(page_language(request)) if catalogs is not None else _SOURCE


async def current_user(request: web.Request) -> StaffUser | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 128:
        return None
    return await request.app[LOGINS].session(token)


def _csrf_ok(given: str | None, user: StaffUser) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), user.csrf.encode())


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def api_guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:
    """Every /staff/api/ path needs a session (else 401); every POST its CSRF token (else 403)."""
    if not request.path.startswith("/staff/api/"):
        return await handler(request)
    user = await current_user(request)
    tr = desk_tr(request)
    if user is None:
        return _error(401, tr("Hãy đăng nhập trước."))
    if request.method not in ("GET", "HEAD") and not _csrf_ok(request.headers.get("X-CSRF-Token"), user):
        return _error(403, tr("Thiếu hoặc sai tiêu đề X-CSRF-Token (xem /staff/api/me)."))
    request[USER] = replace(user, language=page_language(request))
    return await handler(request)


def _foreign_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return origin != f"{request.scheme}://{request.host}"


async def login(request: web.Request) -> web.StreamResponse:
    tr = desk_tr(request)
    if _foreign_origin(request):
        return _error(403, tr("Hãy đăng nhập từ trang của tổ."))
    form = await request.post()
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password \
            or len(username) > MAX_FIELD or len(password) > MAX_FIELD:
        return _error(400, tr("Hãy gửi hai trường 'username' và 'password'."))
    limits, address = request.app[LOGIN_LIMITS], address_key(request.remote)
    if await limits.blocked(username, address):
        log.warning("staff login refused: too many attempts")
        return web.json_response({"error": tr("Thử quá nhiều lần. Hãy đợi một phút rồi thử lại.")}, status=429,
                                 headers={"Retry-After": "60"})
    token = await request.app[LOGINS].login(username, password)
    if token is None:
        await limits.failed(username, address)
        return _error(401, tr("Sai tên đăng nhập hoặc mật khẩu."))
    response = web.HTTPSeeOther("/staff/")
    response.set_cookie(COOKIE, token, path="/staff", httponly=True, samesite="Strict", secure=request.secure)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    user, tr = await current_user(request), desk_tr(request)
    if user is None:
        return _error(401, tr("Chưa đăng nhập."))
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.content_type == "application/x-www-form-urlencoded":
        field = (await request.post()).get("csrf")
        given = field if isinstance(field, str) else None
    if not _csrf_ok(given, user):
        return _error(403, tr("Thiếu hoặc sai mã CSRF."))
    await request.app[LOGINS].logout(request.cookies[COOKIE])
    response = web.HTTPSeeOther("/staff/")
    response.del_cookie(COOKIE, path="/staff")
    raise response


async def me(request: web.Request) -> web.Response:
    user: StaffUser = request[USER]
    return web.json_response({"username": user.username, "role": user.role, "teams": list(user.teams),
                              "csrf": user.csrf})


async def page(request: web.Request) -> web.Response:
    """The desk page (it shows the login form until /staff/api/me answers)."""
    return web.Response(text=request.app[DESK_PAGE], content_type="text/html", headers={"Cache-Control": "no-store"})


async def to_desk(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/staff/")


def add_login_routes(app: web.Application, logins: StaffLogins, limits: LoginLimits | None = None,
                     catalogs: Catalogs | None = None) -> None:
    """The desk's login, logout, `me` and page on the web app (the middleware guards /staff/api/);
    `catalogs` give the page its strings (without them, the Vietnamese source strings)."""
    app[LOGINS] = logins
    if catalogs is not None:
        app[DESK_CATALOGS] = catalogs
    app[DESK_PAGE] = desk_page(desk_strings(catalogs))
    app[LOGIN_LIMITS] = limits or LoginLimits.default()
    app.middlewares.append(api_guard)
    app.router.add_get("/staff/", page)
    app.router.add_get("/staff", to_desk)
    app.router.add_post("/staff/login", login)
    app.router.add_post("/staff/logout", logout)
    app.router.add_get("/staff/api/me", me)
