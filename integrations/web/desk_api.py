"""The team desk's case API under /staff/api/ (INTERFACES.md "Team desk"), on a small port: CaseBook.

The routes only read the request, call the case book with the logged-in account and write JSON. Who may
see and act on which case is the case book's rule (bot.staff.cases): a member sees their teams' cases
and those raised to a team they belong to; staff and admins see all; a case one may not see answers 403
as a whole, never a partial view. The session (401) and the CSRF header on every POST (403) are checked
before these routes by desk_auth's middleware. Errors are said in the page's language (`?lang=`, the
account's `language`), through the catalogs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from integrations.web.desk_auth import USER, StaffUser, desk_tr
from kernel.edge import Refused, ascii_int, clean_text, parse_json, token

log = logging.getLogger(__name__)
STATES = ("open", "claimed", "waiting", "active", "resolved", "all")
MAX_REPLY = 4000  # Telegram's limit for one message, less the name in front
MAX_BODY = 32 * 1024


class CaseRefused(Exception):
    """An action the case book refuses: `status` is the HTTP status (403, 404, 409), the message plain."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CaseQuery:
    """Which cases the inbox lists: a state (see STATES), and optionally one village and one team."""

    state: str = "active"
    village: str | None = None
    team: str | None = None


@dataclass(frozen=True)
class CaseSummary:
    """A case as the inbox shows it. Times are ISO 8601 in UTC; None where a timer does not apply."""

    id: int
    state: str  # open | claimed | resolved | returned | closed
    waiting: str | None  # "team" (the resident spoke last), "resident" (the team did), None once ended
    village: str | None
    village_label: str
    team: str
    team_name: str
    escalated_team: str | None
    language: str
    channel: str
    reason: str
    opened_at: str
    claimed_by: str | None
    last_at: str  # the newest message of the case (or its opening)
    preview: str  # the newest message, short (already redacted)
    due_at: str  # when the team is first at work for this case
    remind_at: str | None  # an unclaimed case is raised again in its team then
    escalate_at: str | None  # ... and goes to the fallback team then
    closed_at: str | None


@dataclass(frozen=True)
class DeskMessage:
    """One message of the case: `sender` is "resident", "staff" or "assistant" (JSON "from")."""

    sender: str
    text: str
    at: str
    author: str | None = None
    file: str | None = None  # a photo or voice note the resident sent: its name (see CaseBook.file)
    kind: str | None = None  # image | audio


@dataclass(frozen=True)
class CaseDetail:
    """The whole case: its summary, what the resident was doing, and every message both ways."""

    summary: CaseSummary
    flow: str | None
    flow_title: str | None
    step: int | None  # 1-based
    steps: int | None
    tried: tuple[str, ...]  # steps that were tried and did not help, as the team reads them
    messages: tuple[DeskMessage, ...]
    attachments: tuple[dict[str, str], ...] = ()
    may_act: bool = True  # False once the case has ended


@dataclass(frozen=True)
class DeskOptions:
    """What the page offers: the teams and villages to filter by, reassign targets, and quick replies."""

    teams: tuple[dict[str, str], ...]  # {"id", "name"}
    villages: tuple[dict[str, str], ...]  # {"code", "label"}
    replies: tuple[dict[str, Any], ...] = field(default=())  # {"id", "label": {lang: ..}, "text": {lang: ..}}
    fallback: str | None = None  # the team unclaimed cases are raised to
    remind_after_minutes: int = 0
    escalate_after_minutes: int = 0


class CaseBook(Protocol):
    """The cases as the web desk works them (bot.staff.cases.DeskCases). Every method takes the account
    and raises CaseRefused for a case it may not see (403), an unknown one (404) or a refused change (409)."""

    async def cases(self, user: StaffUser, query: CaseQuery) -> Sequence[CaseSummary]: ...

    async def case(self, user: StaffUser, case_id: int) -> CaseDetail: ...

    async def claim(self, user: StaffUser, case_id: int) -> CaseDetail: ...

    async def reply(self, user: StaffUser, case_id: int, text: str) -> CaseDetail: ...

    async def resolve(self, user: StaffUser, case_id: int) -> CaseDetail: ...

    async def hand_back(self, user: StaffUser, case_id: int) -> CaseDetail: ...

    async def reassign(self, user: StaffUser, case_id: int, team: str) -> CaseDetail: ...

    async def file(self, user: StaffUser, case_id: int, name: str) -> Path:
        """A file of a case the account may see (403 otherwise, 404 when gone)."""
        ...

    def options(self, user: StaffUser) -> DeskOptions: ...


CASES = web.AppKey("staff_cases", CaseBook)


def summary_json(c: CaseSummary) -> dict[str, Any]:
    return asdict(c)


def detail_json(d: CaseDetail) -> dict[str, Any]:
    out = summary_json(d.summary)
    out.update(flow=d.flow, flow_title=d.flow_title, step=d.step, steps=d.steps, tried=list(d.tried),
               messages=[{"from": m.sender, "text": m.text, "at": m.at, "author": m.author,
                          **({"file": f"/staff/api/cases/{d.summary.id}/files/{m.file}", "kind": m.kind}
                             if m.file else {})} for m in d.messages],
               attachments=[{"url": f"/staff/api/cases/{d.summary.id}/files/{m.file}", "kind": m.kind, "at": m.at}
                            for m in d.messages if m.file],
               may_act=d.may_act)
    return out


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _case_id(request: web.Request) -> int:
    tr = desk_tr(request)
    number = ascii_int(request.match_info["case_id"])
    if number is None:
        raise Refused(tr("Số yêu cầu phải viết bằng chữ số."))
    return number


async def _body(request: web.Request) -> dict[str, Any]:
    tr = desk_tr(request)
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Refused(tr("Nội dung gửi lên quá lớn."))
    raw = await request.read()
    if len(raw) > MAX_BODY:
        raise Refused(tr("Nội dung gửi lên quá lớn."))
    if not raw:
        return {}
    try:
        value = parse_json(raw, request.charset)
    except Refused:
        raise Refused(tr("Hãy gửi một đối tượng JSON.")) from None
    if not isinstance(value, dict):
        raise Refused(tr("Hãy gửi một đối tượng JSON."))
    return value


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _answering(handler: Handler) -> Handler:
    """Refused input -> 400, a refused case action -> its status; the message is plain and safe to show."""
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Refused as exc:
            return _error(400, str(exc))
        except CaseRefused as exc:
            return _error(exc.status, str(exc))
    return wrapped


@_answering
async def list_cases(request: web.Request) -> web.StreamResponse:
    tr = desk_tr(request)
    state = request.query.get("state", "active")
    if state not in STATES:
        raise Refused(tr("'state' là một trong: {states}.", states=", ".join(STATES)))
    village = request.query.get("village") or None
    team = request.query.get("team") or None
    try:
        query = CaseQuery(state, token(village, "village", 64) if village else None,
                          token(team, "team", 64) if team else None)
    except Refused:
        raise Refused(tr("Mã thôn hoặc mã tổ không đúng.")) from None
    cases = await request.app[CASES].cases(request[USER], query)
    return web.json_response({"cases": [summary_json(c) for c in cases]}, headers={"Cache-Control": "no-store"})


@_answering
async def show_case(request: web.Request) -> web.StreamResponse:
    detail = await request.app[CASES].case(request[USER], _case_id(request))
    return web.json_response(detail_json(detail), headers={"Cache-Control": "no-store"})


@_answering
async def claim(request: web.Request) -> web.StreamResponse:
    return web.json_response(detail_json(await request.app[CASES].claim(request[USER], _case_id(request))))


@_answering
async def reply(request: web.Request) -> web.StreamResponse:
    case_id = _case_id(request)
    text, tr = (await _body(request)).get("text"), desk_tr(request)
    if not isinstance(text, str) or not clean_text(text).strip():
        raise Refused(tr("Hãy gửi JSON có “text”: tin nhắn cho người dân."))
    text = clean_text(text).strip()
    if len(text) > MAX_REPLY:
        raise Refused(tr("Một tin nhắn dài tối đa {n} ký tự.", n=MAX_REPLY))
    return web.json_response(detail_json(await request.app[CASES].reply(request[USER], case_id, text)))


@_answering
async def resolve(request: web.Request) -> web.StreamResponse:
    return web.json_response(detail_json(await request.app[CASES].resolve(request[USER], _case_id(request))))


@_answering
async def hand_back(request: web.Request) -> web.StreamResponse:
    return web.json_response(detail_json(await request.app[CASES].hand_back(request[USER], _case_id(request))))


@_answering
async def reassign(request: web.Request) -> web.StreamResponse:
    tr = desk_tr(request)
    case_id = _case_id(request)
    try:
        team = token((await _body(request)).get("team"), "team", 64)
    except Refused:
        raise Refused(tr("Hãy gửi JSON có “team”: mã tổ nhận yêu cầu.")) from None
    return web.json_response(detail_json(await request.app[CASES].reassign(request[USER], case_id, team)))


@_answering
async def case_file(request: web.Request) -> web.StreamResponse:
    path = await request.app[CASES].file(request[USER], _case_id(request), request.match_info["name"])
    return web.FileResponse(path, headers={"Cache-Control": "private, max-age=300",
                                           "Content-Disposition": "inline"})


async def options(request: web.Request) -> web.StreamResponse:
    opts = request.app[CASES].options(request[USER])
    return web.json_response({"teams": list(opts.teams), "villages": list(opts.villages),
                              "replies": list(opts.replies), "fallback": opts.fallback,
                              "remind_after_minutes": opts.remind_after_minutes,
                              "escalate_after_minutes": opts.escalate_after_minutes},
                             headers={"Cache-Control": "no-store"})


def add_case_routes(app: web.Application, cases: CaseBook) -> None:
    """The case API on the web app (after add_login_routes, whose middleware guards /staff/api/)."""
    app[CASES] = cases
    app.router.add_get("/staff/api/cases", list_cases)
    app.router.add_get("/staff/api/cases/{case_id}", show_case)
    app.router.add_post("/staff/api/cases/{case_id}/claim", claim)
    app.router.add_post("/staff/api/cases/{case_id}/reply", reply)
    app.router.add_post("/staff/api/cases/{case_id}/resolve", resolve)
    app.router.add_post("/staff/api/cases/{case_id}/handback", hand_back)
    app.router.add_post("/staff/api/cases/{case_id}/reassign", reassign)
    app.router.add_get("/staff/api/cases/{case_id}/files/{name}", case_file)
    app.router.add_get("/staff/api/desk", options)
