"""Running a guide: starting it, showing a step, done / stuck / cancel / a person, and coming back to it."""

from __future__ import annotations

from dataclasses import replace

from dialogues import paused
from dialogues.flows import END, Flow, Step, split_link
from dialogues.turn import (
    CANCEL,
    HUMAN,
    HUMAN_STUCK,
    MENU,
    N_,
    RESUME,
    RETRY,
    STEP_DONE,
    STEP_STUCK,
    Turn,
    ask_village,
    choose_topic,
    menu,
    menu_rows,
    stuck_no_flow,
)
from kernel import effects as fx
from kernel.messages import Button

# Names every code the brief (§0.1) says never to give; the glosses are the glossary's (dialogues/glossary.yml).
SCAM_WARNING = N_("⚠️ Trợ lý không bao giờ hỏi số CCCD, mật khẩu, passcode (mã 6 số của VNeID), "
                  "mã OTP (mã dùng một lần, gửi qua tin nhắn) hay mã PIN ngân hàng của bạn. "
                  "Đừng đưa các mã này cho bất kỳ ai.")


def start(t: Turn, flow: Flow, step_id: str | None = None, situation: str | None = None,
          hints: tuple[str, ...] = ()) -> None:
    """Open a guide (at its first step, or at `step_id` when another guide leads into it).

    `situation` picks the opening that fits how it was reached (the safety triage's), and `hints` are
    facts added to it; the scam warning comes once a conversation, and not over a situation's opening."""
    first = step_id or flow.steps[0].id
    t.state = replace(t.state.at(flow.id, first), tried=())
    t.effects.append(fx.Track("flow_start", flow.id, first))
    intro = t._(flow.title)
    opening = flow.intro_for(situation)
    if opening:
        intro += "\n" + t._(opening)
    for hint in hints:
        intro += "\n" + t._(hint)
    if flow.scam_warning and situation is None and _warning_due(t):
        intro += "\n" + t._(SCAM_WARNING)
        t.state = replace(t.state, warned=t.ctx.today.isoformat() if t.ctx.today else "")
    t.say(intro)
    show_step(t, flow, track=False)


def _warning_due(t: Turn) -> bool:
    """The scam warning is shown once a conversation: not again on the same day (the commune's)."""
    warned = t.state.warned
    return warned is None or (t.ctx.today is not None and warned != t.ctx.today.isoformat())


def show_step(t: Turn, flow: Flow | None, track: bool = True) -> None:
    if flow is None or t.state.step is None:
        menu(t)
        return
    step = flow.step(t.state.step)
    if track:
        t.effects.append(fx.Track("step", flow.id, step.id))
    t.say(step_text(t, flow, step), *step_rows(t, step))


def step_text(t: Turn, flow: Flow, step: Step) -> str:
    n = flow.index(step.id) + 1
    return t._("Bước {n}/{total}", n=n, total=len(flow.steps)) + ": " + t._(step.text)


def step_rows(t: Turn, step: Step) -> tuple[tuple[Button, ...], ...]:
    """The buttons under a step: its choices (or done / stuck), and always a person and cancel."""
    if step.choices:
        first = tuple((t.button(c.label, f"go:{c.next}"),) for c in step.choices)
        return (*first, (t.button("Không được", STEP_STUCK), t.button("Gặp người hỗ trợ", HUMAN)),
                (t.button("Thôi", CANCEL),))
    return ((t.button("Xong rồi", STEP_DONE), t.button("Không được", STEP_STUCK)),
            (t.button("Gặp người hỗ trợ", HUMAN), t.button("Thôi", CANCEL)))


def goto(t: Turn, flow: Flow, target: str) -> None:
    if target == END:
        complete(t, flow)
        return
    link = split_link(target)
    if link is not None:  # the choice opens another guide (checked at load time, so it exists)
        t.effects.append(fx.Track("complete", flow.id, t.state.step))
        start(t, t.ctx.library.flows[link[0]], link[1])
        return
    t.state = t.state.at(flow.id, target)
    show_step(t, flow)


def step_done(t: Turn, flow: Flow | None) -> None:
    if flow is None or t.state.step is None:
        choose_topic(t)
        return
    goto(t, flow, flow.next_step(t.state.step))


def complete(t: Turn, flow: Flow) -> None:
    t.effects.append(fx.Track("complete", flow.id, t.state.step))
    t.state = t.state.ended()
    t.say("✅ " + t._(flow.done), (t.button("Xem danh mục", MENU),))
    paused.offer(t)  # the guide set aside for this one, at its step


def not_yet(t: Turn, flow: Flow) -> None:
    t.say(t._("Không sao, bạn cứ làm từ từ. Xong thì bấm “Xong rồi”, gặp khó thì bấm “Không được”."))
    show_step(t, flow, track=False)


def step_stuck(t: Turn, flow: Flow | None) -> None:
    """"Không được": the step's fixes one by one, then a person offered beside "Thử tiếp" (never forced)."""
    if flow is None or t.state.step is None:
        stuck_no_flow(t)
        return
    step = flow.step(t.state.step)
    t.effects.append(fx.Track("stuck", flow.id, step.id))
    tried = t.state.tried if step.id in t.state.tried else (*t.state.tried, step.id)
    t.state = replace(t.state, stuck=t.state.stuck + 1, tried=tried)
    if t.state.stuck <= len(step.fixes):
        heading = t._("Cách khắc phục:") if t.state.stuck == 1 else t._("Thử cách khác:")
        t.say(heading + "\n" + t._(step.fixes[t.state.stuck - 1]),
              (t.button("Được rồi", STEP_DONE), t.button("Vẫn không được", STEP_STUCK)),
              (t.button("Gặp người hỗ trợ", HUMAN), t.button("Thôi", CANCEL)))
        return
    t.say(t._("Vẫn chưa được thì tổ công nghệ số của thôn có thể giúp bạn. Bạn muốn nhờ người hỗ trợ, hay thử lại "
              "bước này?"),
          (t.button("Thử tiếp", RETRY), t.button("Gặp người hỗ trợ", HUMAN_STUCK)), (t.button("Thôi", CANCEL),))


def retry(t: Turn, flow: Flow | None) -> None:
    """"Thử tiếp": the same step again, its ladder from the first fix."""
    t.state = replace(t.state, stuck=0)
    show_step(t, flow)


def cancel(t: Turn, flow: Flow | None) -> None:
    """"Thôi": the guide stops but is kept at its step, with "Làm tiếp" to go back to it."""
    if flow is not None:
        t.effects.append(fx.Track("cancel", flow.id, t.state.step))
    paused.pause_current(t)
    t.state = replace(t.state.ended(), awaiting=None)
    rows = menu_rows(t)
    waiting = paused.paused(t)
    if flow is not None and waiting:
        older = [(t.button(paused.label(t, f, step), paused.RESUME_FLOW + f.id),) for f, step in waiting[1:2]]
        rows = ((t.button("Làm tiếp", RESUME),), *older, *rows)
    t.say(t._("Đã dừng hướng dẫn. Khi cần, bạn chọn lại chủ đề nhé."), *rows)


def mispressed(t: Turn, flow: Flow) -> None:
    """"thôi chết, tôi bấm nhầm": nothing is stopped, the resident stays at the step."""
    t.say(t._("Không sao, tôi chưa dừng gì cả. Bạn vẫn đang ở bước này."))
    show_step(t, flow, track=False)


def question_about_step(t: Turn, flow: Flow) -> None:
    """A yes/no word asked as a question ("... được không?") is not an answer: the step stays."""
    t.say(t._("Bạn xem lại hướng dẫn của bước này. Chưa rõ thì bấm “Không được” để xem cách khắc phục, hoặc "
              "nhờ người hỗ trợ."))
    show_step(t, flow, track=False)


def offer_other(t: Turn, flow: Flow, other: Flow) -> None:
    """A yes/no question about another task mid-guide: offer its guide, keep this one's step."""
    n = flow.index(t.state.step or flow.steps[0].id) + 1
    t.say(t._("Việc này có hướng dẫn riêng: “{title}”. Hướng dẫn bạn đang làm vẫn giữ nguyên.",
              title=t._(other.title)),
          (t.button(other.title, f"flow:{other.id}"),),
          (t.button(t._("Tiếp tục Bước {n}/{total}", n=n, total=len(flow.steps)), RESUME),))


def handoff(t: Turn, flow: Flow | None, reason: str) -> None:
    if t.ctx.resident.village is None:
        t.state = replace(t.state, awaiting="village_for_handoff")
        t.say(t._("Tôi sẽ nhờ tổ công nghệ số của thôn bạn giúp."))
        ask_village(t)
        return
    flow_id = flow.id if flow else t.state.flow
    t.effects.append(fx.Track("handoff", flow_id, t.state.step))
    # The village travels with the effect: routing must not depend on SetVillage having run first.
    t.effects.append(fx.Handoff(reason=reason, flow=flow_id, step=t.state.step, village=t.ctx.resident.village))


def offer_resume(t: Turn, flow: Flow | None) -> None:
    """After answering something else in the middle of a guide, offer to go back to it."""
    if flow is None or t.state.flow is None or t.state.step is None:
        return
    n = flow.index(t.state.step) + 1
    t.say(t._("Bạn đang làm dở hướng dẫn “{title}”.", title=t._(flow.title)),
          (t.button(t._("Tiếp tục Bước {n}/{total}", n=n, total=len(flow.steps)), RESUME),
           t.button("Thôi", CANCEL)))


def offer_person(t: Turn, flow: Flow | None) -> None:
    t.state = replace(t.state, misunderstood=0)
    t.effects.append(fx.Track("misunderstood", flow.id if flow else None, t.state.step))
    t.say(t._("Xin lỗi, tôi vẫn chưa hiểu ý bạn. Bạn có muốn nhờ tổ công nghệ số của thôn giúp không?"),
          (t.button("Gặp người hỗ trợ", HUMAN),), (t.button("Xem danh mục", MENU),))
