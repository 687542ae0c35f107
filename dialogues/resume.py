"""Back to a paused guide at its step: "tiếp tục / làm tiếp / quay lại", "Làm tiếp", or asking for it again."""

from __future__ import annotations

from dataclasses import replace

from dialogues.flows import Flow
from dialogues.guide import show_step, start
from dialogues.paused import RESTART_FLOW, RESUME_FLOW, forget, label, pause_current, paused, paused_step
from dialogues.turn import RESUME, Turn, menu_rows


def resume(t: Turn, flow: Flow, restart_button: bool = False) -> None:
    """Go back to a paused guide at its step (the open one, if another, is set aside in turn)."""
    step = paused_step(t, flow.id)
    if step is None:
        start(t, flow)
        return
    if t.state.flow != flow.id:
        pause_current(t)
    forget(t, flow.id)
    t.state = replace(t.state.at(flow.id, step), tried=(), awaiting=None)
    t.say(t._("Tiếp tục hướng dẫn “{title}” từ chỗ bạn đang làm.", title=t._(flow.title)),
          *(((t.button("Làm lại từ đầu", RESTART_FLOW + flow.id),),) if restart_button else ()))
    show_step(t, flow)


def asked_to_resume(t: Turn, flow: Flow | None) -> None:
    """"tiếp tục", "làm tiếp", "quay lại": the open guide, a paused one, or a choice between them."""
    waiting = paused(t)
    current = t.state.step
    if flow is None or current is None or not waiting:
        pressed(t, flow)
        return
    other, step = waiting[0]
    t.say(t._("Bạn muốn làm tiếp việc nào?"),
          (t.button(t._("Tiếp tục: {title} (Bước {n}/{total})", title=t._(flow.title), n=flow.index(current) + 1,
                        total=len(flow.steps)), RESUME),),
          (t.button(label(t, other, step), RESUME_FLOW + other.id),))


def pressed(t: Turn, flow: Flow | None) -> None:
    """"Tiếp tục" / "Làm tiếp": the open guide's step, else the most recently paused guide, else the menu."""
    if flow is not None and t.state.step is not None:
        t.state = replace(t.state, stuck=0)
        show_step(t, flow)
        return
    waiting = paused(t)
    if waiting:
        resume(t, waiting[0][0])
        return
    t.say(t._("Bạn không có hướng dẫn nào đang làm dở. Bạn cần giúp việc gì?"), *menu_rows(t))


def restart(t: Turn, flow: Flow) -> None:
    """"Làm lại từ đầu": the guide from its first step (another open guide waits)."""
    forget(t, flow.id)
    if t.state.flow != flow.id:
        pause_current(t)
    start(t, flow)
