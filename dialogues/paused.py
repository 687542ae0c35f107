"""Guides set aside (another task started, or "Thôi") are remembered at their step, the most recent first,
with the dialogue state (so for days), and offered again; dialogues/resume.py takes the resident back."""

from __future__ import annotations

from dataclasses import replace

from dialogues.flows import Flow
from dialogues.turn import MENU, Turn

# How many guides set aside are remembered (the most recent first).
KEEP = 3
RESUME_FLOW = "resume:"  # payload prefix: go back to that paused guide
RESTART_FLOW = "restart:"  # payload prefix: start that guide again from its first step


def _entry(flow: str, step: str) -> str:
    return f"{flow}/{step}"


def paused(t: Turn) -> list[tuple[Flow, str]]:
    """The paused guides that still exist at a step they still have, the most recent first."""
    out = []
    for item in t.state.paused:
        flow_id, _, step = item.partition("/")
        flow = t.ctx.library.get(flow_id)
        if flow is not None and step in {s.id for s in flow.steps}:
            out.append((flow, step))
    return out


def paused_step(t: Turn, flow_id: str) -> str | None:
    return next((step for flow, step in paused(t) if flow.id == flow_id), None)


def pause_current(t: Turn) -> None:
    """Set the open guide aside at its step (before another task starts, or on "Thôi")."""
    if t.state.flow is None or t.state.step is None:
        return
    rest = tuple(p for p in t.state.paused if p.partition("/")[0] != t.state.flow)
    t.state = replace(t.state, paused=(_entry(t.state.flow, t.state.step), *rest)[:KEEP])


def forget(t: Turn, flow_id: str) -> None:
    t.state = replace(t.state, paused=tuple(p for p in t.state.paused if p.partition("/")[0] != flow_id))


def label(t: Turn, flow: Flow, step: str) -> str:
    """"Làm tiếp: <guide> (Bước N/M)"."""
    return t._("Làm tiếp: {title} (Bước {n}/{total})", title=t._(flow.title), n=flow.index(step) + 1,
               total=len(flow.steps))


def offer(t: Turn, intro: str | None = None, with_menu: bool = True) -> bool:
    """Offer to go back to the paused guides (after another guide ended); False when there is none."""
    waiting = paused(t)
    if not waiting:
        return False
    flow, step = waiting[0]
    text = intro or t._("Bạn còn đang làm dở hướng dẫn “{title}”. Làm tiếp từ chỗ cũ nhé?", title=t._(flow.title))
    t.say(text, (t.button(label(t, flow, step), RESUME_FLOW + flow.id),),
          *(((t.button("Xem danh mục", MENU),),) if with_menu else ()))
    return True
