"""`python -m bot stats`: the funnel of every guide from the analytics events (never message text)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select

from bot.rollup import rolled
from bot.storage.db import AnalyticsEvent, Resident
from bot.storage.store import Store
from dialogues.flows import Library
from kernel.commune import Commune

Query = Select[*tuple[Any, ...]]
FUNNEL_KINDS = ("flow_start", "step", "stuck", "complete", "cancel", "handoff")


@dataclass(frozen=True)
class Scope:
    """Which events count: a period (UTC instants, `since` included, `until` excluded), the guides, and the
    residents' places (their village codes as stored; None: every resident)."""

    since: datetime | None = None
    until: datetime | None = None
    flows: tuple[str, ...] | None = None
    villages: tuple[str, ...] | None = None
    # The same period as whole days of the commune (`zone`), when it is one: the roll-up can answer it.
    first: date | None = None
    last: date | None = None
    zone: ZoneInfo | None = None

    @classmethod
    def days(cls, first: date | None, last: date | None, zone: ZoneInfo, flows: tuple[str, ...] | None = None,
             villages: tuple[str, ...] | None = None) -> Scope:
        """From the start of `first` to the end of `last` (both included) in the commune's time zone; None leaves
        that side open."""
        since = datetime.combine(first, time(), zone).astimezone(UTC) if first else None
        until = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC) if last else None
        return cls(since, until, flows, villages, first, last, zone)

    def where(self) -> list[ColumnElement[bool]]:
        """The conditions on analytics events (the flow's, period's and places' filters)."""
        ev = AnalyticsEvent
        out: list[ColumnElement[bool]] = [ev.flow.is_not(None) if self.flows is None else ev.flow.in_(self.flows)]
        if self.since is not None:
            out.append(ev.created_at >= self.since)
        if self.until is not None:
            out.append(ev.created_at < self.until)
        if self.villages is not None:
            out.append(ev.resident_id.in_(select(Resident.id).where(Resident.village.in_(self.villages))))
        return out


@dataclass
class StepFigures:
    step: str
    reached: int = 0  # residents who saw this step
    stuck: int = 0  # residents who pressed "Không được" here
    stopped: int = 0  # residents whose last action in the guide was here, without completing it


@dataclass
class FlowFunnel:
    flow: str
    title: str
    started: int = 0
    completed: int = 0
    cancelled: int = 0
    handoff: int = 0
    steps: list[StepFigures] = field(default_factory=list)

    def step(self, step_id: str) -> StepFigures:
        found = next((s for s in self.steps if s.step == step_id), None)
        if found is None:
            found = StepFigures(step_id)
            self.steps.append(found)
        return found

    def as_json(self) -> dict[str, object]:
        """The shape of `GET /staff/api/funnel` (INTERFACES.md): steps numbered from 1 in the guide's order."""
        return {"flow": self.flow, "started": self.started,
                "steps": [{"step": n, "reached": st.reached, "stuck": st.stuck} for n, st in enumerate(self.steps, 1)],
                "handoff": self.handoff, "completed": self.completed}


def empty_funnel(library: Library, flow_id: str) -> FlowFunnel:
    """A guide's funnel with every step at zero (its steps in the guide's order)."""
    flow = library.get(flow_id)
    return FlowFunnel(flow_id, flow.title if flow else flow_id,
                      steps=[StepFigures(st.id) for st in flow.steps] if flow else [])


def _residents_per(group: tuple[str, ...], where: list[ColumnElement[bool]]) -> Query:
    """Distinct residents per group: the (group, resident) pairs made distinct first (a hash, no sort), then
    counted; much faster on PostgreSQL than count(DISTINCT ...) over many rows."""
    ev = AnalyticsEvent
    columns = [getattr(ev, name) for name in group]
    pairs = select(*columns, ev.resident_id).where(*where).distinct().subquery()
    return select(*[pairs.c[name] for name in group], func.count()).group_by(*[pairs.c[name] for name in group])


def funnel_queries(scope: Scope, stops: bool = True, reached: bool = True) -> dict[str, Query]:
    """The funnel's queries (named as funnel_table reads them; the bench prints their plans)."""
    ev = AnalyticsEvent
    where = scope.where()
    # Endings and "stuck", per step; "reached" counts a resident once per step, whether they got there by
    # starting or moving on; "started" once per guide.
    queries: dict[str, Query] = {
        "endings": _residents_per(("flow", "kind", "step"),
                                  [*where, ev.kind.in_(("stuck", "complete", "cancel", "handoff"))]),
        "reached": _residents_per(("flow", "step"), [*where, ev.kind.in_(("flow_start", "step"))]),
        "started": _residents_per(("flow",), [*where, ev.kind == "flow_start"]),
    }
    if not reached:
        del queries["reached"]
    if stops:
        # Where each resident last was in each guide: the step of their latest event there (not completed).
        last = (select(func.max(ev.id).label("last_id")).where(*where, ev.kind.in_(FUNNEL_KINDS))
                .group_by(ev.resident_id, ev.flow).subquery())
        queries["stops"] = (select(ev.flow, ev.step, func.count()).join(last, ev.id == last.c.last_id)
                            .where(ev.kind != "complete").group_by(ev.flow, ev.step))
    return queries


async def funnel_table(store: Store, library: Library, scope: Scope | None = None,
                       stops: bool = True, reached: bool = True, rollup: bool = True) -> list[FlowFunnel]:
    """Per guide, counted in distinct residents: started, each step reached / stuck / stopped, and the endings.

    The one computation behind `python -m bot stats` and `GET /staff/api/funnel`. `stops=False` skips the
    "stopped here" figures (the costliest query; the API does not show them); `reached=False` the residents
    reaching each step (the dashboard's overview of every guide shows them for the chosen guide only). Whole
    days of the whole commune without "stopped here" come from the daily roll-up (bot/rollup.py) when it
    exists, the same numbers as the events give (`rollup=False` reads the events)."""
    scope = scope or Scope()
    rows: dict[str, list[tuple[Any, ...]]] | None = None
    if rollup and not stops and scope.zone is not None and scope.villages is None:
        rows = await rolled(store, scope.zone, scope.first, scope.last, scope.flows, reached)
    if rows is None:
        rows = {}
        async with store.session() as s:
            for name, query in funnel_queries(scope, stops, reached).items():
                rows[name] = [tuple(row) for row in (await s.execute(query)).all()]
    elif not reached:
        rows.pop("reached", None)
    table: dict[str, FlowFunnel] = {}

    def funnel(flow_id: str | None) -> FlowFunnel:
        flow_id = flow_id or "?"  # the queries select events of a flow only
        if flow_id not in table:
            table[flow_id] = empty_funnel(library, flow_id)
        return table[flow_id]

    totals = {"complete": "completed", "cancel": "cancelled", "handoff": "handoff"}
    for flow_id, kind, step, n in rows["endings"]:
        f = funnel(flow_id)
        if kind in totals:
            setattr(f, totals[kind], getattr(f, totals[kind]) + n)
        if kind == "stuck" and step:
            f.step(step).stuck += n
    for flow_id, n in rows["started"]:
        funnel(flow_id).started = n
    for flow_id, step, n in rows.get("reached", ()):
        if step:
            funnel(flow_id).step(step).reached += n
    for flow_id, step, n in rows.get("stops", ()):
        if step:
            funnel(flow_id).step(step).stopped += n
    return [table[k] for k in sorted(table)]


def residents_places(commune: Commune, code: str) -> tuple[str, ...] | None:
    """The village codes a resident of this place may have saved: the place, and for a former commune (xã cũ)
    its thôn too. None for a code the commune does not know."""
    if commune.village(code) is None:
        return None
    return tuple(v.code for v in commune.villages if code in v.codes)


class ScopeError(ValueError):
    """A period or place that cannot be counted; the message says what to send instead."""


DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(text: str, name: str) -> date:
    """A day written YYYY-MM-DD (ASCII digits only)."""
    try:
        if DAY.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ScopeError(f"{name} must be a day written YYYY-MM-DD, not {text[:40]!r}")


def stats_scope(commune: Commune, since: str | None, until: str | None, village: str | None,
                flows: tuple[str, ...] | None = None) -> Scope:
    """The scope of `--from/--to/--village` or the API's `from/to/village`: days in the commune's time zone,
    both included (one left out: open on that side)."""
    first = parse_day(since, "from") if since is not None else None
    last = parse_day(until, "to") if until is not None else None
    if first and last and first > last:
        raise ScopeError("from must not be after to")
    villages = None
    if village is not None:
        villages = residents_places(commune, village)
        if villages is None:
            raise ScopeError(f"unknown village code {village[:64]!r} (see villages.yml)")
    return Scope.days(first, last, commune.teams.timezone, flows, villages)


async def flow_funnel(store: Store, library: Library, flow_id: str, scope: Scope) -> FlowFunnel:
    """One guide's funnel in the scope (zeros when nobody started it then)."""
    found = await funnel_table(store, library, replace(scope, flows=(flow_id,)), stops=False)
    return found[0] if found else empty_funnel(library, flow_id)


def format_funnel(table: list[FlowFunnel]) -> str:
    if not table:
        return "No guide has been started yet."
    lines = []
    for f in table:
        rate = f" ({100 * f.completed // f.started}%)" if f.started else ""
        lines.append(f"{f.flow} — {f.title}")
        lines.append(f"  started {f.started}, completed {f.completed}{rate}, cancelled {f.cancelled}, "
                     f"handed off {f.handoff}")
        lines.append(f"  {'step':<28}{'reached':>8}{'stuck':>7}{'stopped here':>14}")
        for n, st in enumerate(f.steps, 1):
            lines.append(f"  {f'{n}. {st.step}':<28}{st.reached:>8}{st.stuck:>7}{st.stopped:>14}")
    return "\n".join(lines)


async def print_funnel(store: Store, library: Library, scope: Scope | None = None) -> None:
    print(format_funnel(await funnel_table(store, library, scope)))
