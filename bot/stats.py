"""`python -m bot stats`: the funnel of every guide from the analytics events."""

from __future__ import annotations

from bot.store import Store
from dialogues.flows import Library


async def funnel_table(store: Store, library: Library) -> list[dict[str, object]]:
    """Per flow: residents who started, reached each step, pressed "Không được", completed, cancelled."""
    rows = await store.funnel()
    out = []
    for flow_id in sorted({r[0] for r in rows}):
        flow = library.get(flow_id)
        of = [r for r in rows if r[0] == flow_id]

        def n(kind: str, step: str | None = None) -> int:
            return sum(c for _f, k, st, c in of if k == kind and (step is None or st == step))

        steps = [s.id for s in flow.steps] if flow else sorted({st for _f, k, st, _c in of if st})
        out.append({
            "flow": flow_id, "started": n("flow_start"), "completed": n("complete"), "cancelled": n("cancel"),
            "handoff": n("handoff"),
            "steps": [{"step": st, "reached": n("step", st) + (n("flow_start", st)), "stuck": n("stuck", st),
                       "cancelled": n("cancel", st)} for st in steps],
        })
    return out


async def print_funnel(store: Store, library: Library) -> None:
    table = await funnel_table(store, library)
    if not table:
        print("No guide has been started yet.")
        return
    for row in table:
        print(f"{row['flow']}: started {row['started']}, completed {row['completed']}, "
              f"cancelled {row['cancelled']}, handed off {row['handoff']}")
        for st in row["steps"]:  # type: ignore[attr-defined]
            print(f"    {st['step']:<24} reached {st['reached']:>4}  stuck {st['stuck']:>4}  "
                  f"stopped here {st['cancelled']:>4}")
