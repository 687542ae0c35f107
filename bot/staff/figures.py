"""The commune dashboard's figures besides the funnel: residents reached and active, hand-off to the village
teams, and what the assistant could not answer (redacted messages, grouped by wording)."""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, DateTime, String, and_, case, false, func, literal, or_, select, true
from sqlalchemy import text as sql_text
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from bot.broadcast.models import CLAIMED, FAILED, PENDING, SENT, Broadcast, Delivery
from bot.broadcast.queue import SKIPPED
from bot.handoff.models import RESOLVED, Case
from bot.rollup_writers import writers_through, wrote_parts
from bot.stats import Scope
from bot.storage.db import UNANSWERED_WHERE, AnalyticsEvent, Base, Message, Resident, utcnow
from bot.storage.store import Store
from kernel.text import fold_words

SCAN_LIMIT = 5000  # unanswered messages read per request: the newest, plenty to group the common ones


class UnansweredHandled(Base):
    """A group of unanswered messages a staff member marked as handled (an answer or examples were added).
    Only a hash of the group's wording is kept."""

    __tablename__ = "unanswered_handled"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    handled_by: Mapped[str] = mapped_column(String(64))
    handled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The newest message of the group the staff member saw: the group comes back when a later one arrives.
    through: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _residents_in(scope: Scope) -> list[ColumnElement[bool]]:
    return [] if scope.villages is None else [Resident.village.in_(scope.villages)]


def _period(column: InstrumentedAttribute[datetime], scope: Scope) -> list[ColumnElement[bool]]:
    out = []
    if scope.since is not None:
        out.append(column >= scope.since)
    if scope.until is not None:
        out.append(column < scope.until)
    return out


async def _reach_rows(store: Store, scope: Scope) -> list[Any] | None:
    """Per village, channel and language: residents known by the period's end, new in it, subscribed, and who
    wrote in it (the roll-up of who wrote, then the messages after it), in one pass over the residents; None
    without a roll-up in the commune's time zone."""
    r = Resident
    assert scope.zone is not None
    known = r.created_at < scope.until if scope.until is not None else true()
    new = and_(known, r.created_at >= scope.since) if scope.since is not None else known
    for _ in range(5):  # a day counted between our reads would be counted twice: read again
        async with store.session() as s:
            last_counted = await writers_through(s, scope.zone)
            if last_counted is None:
                return None
            parts = wrote_parts(scope.zone, scope.first, scope.last, last_counted)
            # `id IN (...)`: PostgreSQL hashes who wrote once (a hashed SubPlan) and streams the residents past it.
            wrote = or_(*(r.id.in_(select(part.c.resident_id)) for part in parts)) if parts else false()
            query = select(r.village, r.channel, r.language, _count_if(known), _count_if(new),
                           _count_if(and_(known, r.subscribed)), _count_if(wrote))
            rows = (await s.execute(query.where(*_residents_in(scope))
                                    .group_by(r.village, r.channel, r.language))).all()
            if await writers_through(s, scope.zone) == last_counted:
                return list(rows)
    return None


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


async def reach(store: Store, scope: Scope, rollup: bool = True) -> dict[str, list[dict[str, object]]]:
    """Per village and channel: residents known by the period's end, new in it, active (wrote in it; from the
    daily roll-up of who wrote when there is one, bot/rollup_writers.py), subscribed to announcements (now); and
    residents per language."""
    rows = await _reach_rows(store, scope) if rollup and scope.zone is not None else None
    if rows is not None:  # groups without a resident known by the period's end are not shown
        wrote: dict[tuple[str | None, str], int] = Counter()
        for village, channel, _, _, _, _, n in rows:
            wrote[(village, channel)] += int(n or 0)
        return _reach_table([row[:6] for row in rows if row[3]], wrote)
    r = Resident
    known = [*_residents_in(scope), *([r.created_at < scope.until] if scope.until is not None else [])]
    new = case((r.created_at >= scope.since, 1), else_=0) if scope.since is not None else literal(1)
    # One pass over the residents for both tables (by place and channel, by language).
    subscribed = func.sum(case((r.subscribed, 1), else_=0))
    totals = (select(r.village, r.channel, r.language, func.count(), func.sum(new), subscribed).where(*known)
              .group_by(r.village, r.channel, r.language))
    # Who wrote in the period: the residents made distinct first (a hash), then looked up by id.
    writers = (select(Message.resident_id).where(Message.direction == "in", *_period(Message.created_at, scope))
               .distinct().subquery())
    active = (select(r.village, r.channel, func.count()).join(writers, writers.c.resident_id == r.id)
              .where(*_residents_in(scope)).group_by(r.village, r.channel))
    async with store.session() as s:
        total_rows = (await s.execute(totals)).all()
        active_rows = {(v, c): int(n) for v, c, n in (await s.execute(active)).all()}
    return _reach_table(list(total_rows), active_rows)


def _reach_table(total_rows: list[Any], active_rows: dict[tuple[str | None, str], int]
                 ) -> dict[str, list[dict[str, object]]]:
    """The reach and languages tables from (village, channel, language, known, new, subscribed) rows."""
    places: dict[tuple[str | None, str], list[int]] = {}
    languages: Counter[str] = Counter()
    for village, channel, language, n, fresh, subscribed in total_rows:
        row = places.setdefault((village, channel), [0, 0, 0])
        row[0] += int(n)
        row[1] += int(fresh or 0)
        row[2] += int(subscribed or 0)
        languages[language or ""] += int(n)
    rows: list[dict[str, object]] = [
        {"village": v or "", "channel": c, "residents": n, "new": fresh, "active": int(active_rows.get((v, c), 0)),
         "subscribed": sub} for (v, c), (n, fresh, sub) in places.items()]
    rows.sort(key=lambda row: (str(row["village"]) == "", str(row["village"]), str(row["channel"])))
    return {"reach": rows, "languages": [{"language": lang, "residents": n}
                                         for lang, n in sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))]}


@dataclass
class _TeamFigures:
    opened: int = 0
    claimed: int = 0
    resolved: int = 0
    solved: int = 0
    not_solved: int = 0
    waits: list[float] = field(default_factory=list)


async def handoff(store: Store, scope: Scope) -> list[dict[str, object]]:
    """Per village and team: cases opened in the period, claimed, resolved, the residents' answer to "was it
    solved?", and the median minutes from opening to a team member taking the case."""
    c = Case
    where = [*_period(c.opened_at, scope), *([c.village.in_(scope.villages)] if scope.villages is not None else [])]
    query = select(c.village, c.team, c.status, c.opened_at, c.claimed_at, c.solved).where(*where)
    async with store.session() as s:
        rows = (await s.execute(query)).all()
    table: dict[tuple[str, str], _TeamFigures] = {}
    for village, team, status, opened_at, claimed_at, solved in rows:
        f = table.setdefault((village or "", team), _TeamFigures())
        f.opened += 1
        if claimed_at is not None:
            f.claimed += 1
            f.waits.append((_aware(claimed_at) - _aware(opened_at)).total_seconds() / 60)
        f.resolved += status == RESOLVED
        f.solved += solved is True
        f.not_solved += solved is False
    return [{"village": v, "team": t, "opened": f.opened, "claimed": f.claimed, "resolved": f.resolved,
             "solved": f.solved, "not_solved": f.not_solved,
             "minutes_to_claim": round(statistics.median(f.waits), 1) if f.waits else None}
            for (v, t), f in sorted(table.items())]


UNSUBSCRIBE_WINDOW = timedelta(hours=48)  # unsubscribes counted after an announcement (until the next one)


async def broadcasts(store: Store, scope: Scope, limit: int = 50) -> list[dict[str, object]]:
    """The announcements created in the period, newest first: recipients, sent, failed, waiting, skipped (to the
    place's residents when a place is chosen), and residents who unsubscribed in the 48 hours after it started
    (or until the next one started)."""
    b, d = Broadcast, Delivery
    period = [*([b.created_at >= scope.since.timestamp()] if scope.since else []),
              *([b.created_at < scope.until.timestamp()] if scope.until else [])]
    async with store.session() as s:
        rows = (await s.execute(select(b).where(*period).order_by(b.id.desc()).limit(limit))).scalars().all()
        ids = [row.id for row in rows]
        counted = (select(d.broadcast_id, d.status, func.count()).where(d.broadcast_id.in_(ids))
                   .group_by(d.broadcast_id, d.status))
        if scope.villages is not None:
            counted = counted.join(Resident, Resident.id == d.resident_id).where(*_residents_in(scope))
        statuses: dict[int, Counter[str]] = {}
        for broadcast_id, status, n in (await s.execute(counted)).all() if ids else []:
            statuses.setdefault(broadcast_id, Counter())[status] += n
        starts = sorted(row.started_at for row in rows if row.started_at)
        leaving: list[datetime] = []
        if starts:
            ev = AnalyticsEvent
            first = datetime.fromtimestamp(starts[0], UTC)
            last = datetime.fromtimestamp(starts[-1], UTC) + UNSUBSCRIBE_WINDOW
            query = select(ev.created_at).where(ev.flow.is_(None), ev.kind == "unsubscribe", ev.created_at >= first,
                                                ev.created_at < last)
            if scope.villages is not None:
                query = query.where(ev.resident_id.in_(select(Resident.id).where(*_residents_in(scope))))
            leaving = [_aware(at) for (at,) in (await s.execute(query)).all()]
    out = []
    for row in rows:
        c = statuses.get(row.id, Counter())
        unsubscribed = None
        if row.started_at:
            start = datetime.fromtimestamp(row.started_at, UTC)
            later = [x for x in starts if x > row.started_at]
            end = start + UNSUBSCRIBE_WINDOW
            if later:
                end = min(end, datetime.fromtimestamp(later[0], UTC))
            unsubscribed = sum(start <= at < end for at in leaving)
        out.append({"id": row.id, "created": datetime.fromtimestamp(row.created_at, UTC).isoformat(),
                    "author": row.author, "topic": row.topic, "villages": list(row.villages or []),
                    "status": row.status, "recipients": sum(c.values()), "sent": c[SENT], "failed": c[FAILED],
                    "waiting": c[PENDING] + c[CLAIMED], "skipped": c[SKIPPED], "unsubscribed": unsubscribed})
    return out


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite keeps no zone


def wording_key(text: str) -> str:
    """Messages worded alike share a key: folded (no case, no diacritics), punctuation and spacing ignored."""
    return " ".join("".join(ch if ch.isalnum() or ch in "[]" else " " for ch in fold_words(text)).split())


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


async def unanswered(store: Store, scope: Scope, limit: int = 50) -> list[dict[str, object]]:
    """Groups of alike messages the assistant could not answer in the period (already redacted when stored),
    most frequent first; a group marked handled is left out until a new message joins it."""
    m = Message
    # The partial index's own condition, as written (literal values: a cached generic plan can still use it).
    query = (select(m.text, m.intent, m.created_at).where(sql_text(UNANSWERED_WHERE), *_period(m.created_at, scope))
             .order_by(m.created_at.desc()).limit(SCAN_LIMIT))
    if scope.villages is not None:
        query = query.join(Resident, Resident.id == m.resident_id).where(*_residents_in(scope))
    async with store.session() as s:
        rows = (await s.execute(query)).all()
        handled = {h: _aware(at) for h, at in (await s.execute(select(UnansweredHandled.key_hash,
                                                                              UnansweredHandled.through))).all()}
    # The same text many times over: each text folded once (newest first, as the rows come).
    texts: dict[str, tuple[Counter[str], datetime]] = {}
    for text, kind, at in rows:
        seen = texts.get(text or "")
        if seen is None:
            texts[text or ""] = seen = (Counter(), _aware(at))
        seen[0][kind or ""] += 1
    groups: dict[str, dict[str, object]] = {}
    wordings: dict[str, Counter[str]] = {}
    for text, (kinds, newest) in texts.items():
        key = wording_key(text)
        if not key:
            continue
        g = groups.setdefault(key, {"key": key_hash(key), "count": 0, "kinds": set(), "last": newest})
        g["count"] = int(str(g["count"])) + kinds.total()
        g["kinds"].update(kinds)  # type: ignore[attr-defined]
        wordings.setdefault(key, Counter())[text] += kinds.total()
    out = []
    for key, g in groups.items():
        last = g["last"]
        done = handled.get(str(g["key"]))
        if done is not None and isinstance(last, datetime) and done >= last:
            continue
        out.append({"key": g["key"], "text": wordings[key].most_common(1)[0][0], "count": g["count"],
                    "kinds": sorted(g["kinds"]),  # type: ignore[call-overload]
                    "last": last.isoformat() if isinstance(last, datetime) else None})
    out.sort(key=lambda g: (-int(str(g["count"])), str(g["text"])))
    return out[:limit]


async def mark_handled(store: Store, key: str, through: datetime, who: str) -> None:
    """Mark a group (by its key hash) as handled up to its message at `through`; later ones bring it back."""
    async with store.writing() as s:
        row = await s.get(UnansweredHandled, key)
        if row is None:
            s.add(UnansweredHandled(key_hash=key, handled_by=who, handled_at=utcnow(), through=through))
        else:
            row.handled_by, row.handled_at, row.through = who, utcnow(), through
