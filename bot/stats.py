"""`python -m bot stats`: the funnel of every guide from the analytics events (never message text)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from bot.storage.db import AnalyticsEvent
from bot.storage.store import Store
from dialogues.flows import Library

FUNNEL_KINDS = ("flow_start", "step", "stuck", "complete", "cancel", "handoff")


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


async def funnel_table(store: Store, library: Library) -> list[FlowFunnel]:
    """Per guide, counted in distinct residents: started, each step reached / stuck / stopped, and the endings."""
    ev = AnalyticsEvent
    in_funnel = (ev.flow.is_not(None), ev.kind.in_(FUNNEL_KINDS))
    counts = (select(ev.flow, ev.kind, ev.step, func.count(func.distinct(ev.resident_id)))
              .where(*in_funnel).group_by(ev.flow, ev.kind, ev.step))
    # Where each resident last was in each guide: the step of their latest event there.
    last = (select(func.max(ev.id).label("last_id")).where(*in_funnel).group_by(ev.resident_id, ev.flow)
            .subquery())
    stops = (select(ev.flow, ev.step, func.count()).join(last, ev.id == last.c.last_id)
             .where(ev.kind != "complete").group_by(ev.flow, ev.step))
    # "Reached" counts a resident once per step, whether they got there by starting or moving on.
    reached = (select(ev.flow, ev.step, func.count(func.distinct(ev.resident_id)))
               .where(ev.flow.is_not(None), ev.kind.in_(("flow_start", "step"))).group_by(ev.flow, ev.step))
    async with store.session() as s:
        count_rows = (await s.execute(counts)).all()
        stop_rows = (await s.execute(stops)).all()
        reached_rows = (await s.execute(reached)).all()
    table: dict[str, FlowFunnel] = {}

    def funnel(flow_id: str | None) -> FlowFunnel:
        flow_id = flow_id or "?"  # the queries select events of a flow only
        if flow_id not in table:
            flow = library.get(flow_id)
            table[flow_id] = FlowFunnel(flow_id, flow.title if flow else flow_id,
                                        steps=[StepFigures(st.id) for st in flow.steps] if flow else [])
        return table[flow_id]

    totals = {"flow_start": "started", "complete": "completed", "cancel": "cancelled", "handoff": "handoff"}
    for flow_id, kind, step, n in count_rows:
        f = funnel(flow_id)
        if kind in totals:
            setattr(f, totals[kind], getattr(f, totals[kind]) + n)
        if kind == "stuck" and step:
            f.step(step).stuck += n
    for flow_id, step, n in reached_rows:
        if step:
            funnel(flow_id).step(step).reached += n
    for flow_id, step, n in stop_rows:
        if step:
            funnel(flow_id).step(step).stopped += n
    return [table[k] for k in sorted(table)]


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


async def print_funnel(store: Store, library: Library) -> None:
    print(format_funnel(await funnel_table(store, library)))
