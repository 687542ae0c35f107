"""The dialogue engine: a pure function of (context, state, event) to replies, effects and a new state.

The pieces live beside it: turn.py (events, context, menu), guide.py (running a guide) and
answers.py (everything that is not a guide).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from dialogues import answers, facts, guide, paused, resume, triage, wording
from dialogues.flows import Flow
from dialogues.state import DialogueState
from dialogues.turn import (
    CANCEL,
    HUMAN,
    HUMAN_STUCK,
    MENU,
    RESUME,
    RETRY,
    STEP_DONE,
    STEP_STUCK,
    Context,
    Event,
    Outcome,
    Pressed,
    Resident,
    Said,
    Turn,
    intent_label,
    menu,
    menu_rows,
    topic,
)
from kernel import effects as fx
from kernel.text import fold_words
from nlu.intents import FAQ_PREFIX
from nlu.types import Parse

__all__ = ["Context", "Event", "Outcome", "Pressed", "Resident", "Said", "advance"]

VILLAGE_QUESTIONS = ("village_for_handoff", "village_for_subscribe", *answers.ANSWERS_NEEDING_VILLAGE)


def advance(ctx: Context, state: DialogueState, event: Event) -> Outcome:
    """Advance the conversation by one event. Pure: no I/O, no clock, no randomness."""
    turn = Turn(ctx, state)
    flow = ctx.library.get(state.flow) if state.flow else None
    if state.flow and (flow is None or state.step not in {s.id for s in flow.steps}):
        # The guide changed under a running conversation: start over politely.
        turn.state = state.ended()
        flow = None
    if isinstance(event, Pressed):
        _pressed(turn, flow, event.payload)
    else:
        _said(turn, flow, event.parse)
    return turn.outcome()


# --- buttons ---------------------------------------------------------------

def _pressed(t: Turn, flow: Flow | None, payload: str) -> None:
    kind, _, arg = payload.partition(":")
    handlers: dict[str, Callable[[], None]] = {
        STEP_DONE: lambda: guide.step_done(t, flow),
        STEP_STUCK: lambda: guide.step_stuck(t, flow),
        HUMAN: lambda: guide.handoff(t, flow, "asked"),
        HUMAN_STUCK: lambda: guide.handoff(t, flow, "stuck"),
        CANCEL: lambda: guide.cancel(t, flow),
        MENU: lambda: menu(t),
        RESUME: lambda: resume.pressed(t, flow),
        RETRY: lambda: guide.retry(t, flow) if flow else menu(t),
    }
    if payload in handlers:
        t.state = replace(t.state, misunderstood=0)
        handlers[payload]()
    elif kind == "topic" and any(tp.id == arg for tp in t.ctx.library.topics):
        topic(t, arg)
    elif kind in ("flow", "intent") and arg:
        t.state = replace(t.state, misunderstood=0)
        _intent(t, flow, Parse(text="", intent=arg, confidence=1.0))
    elif payload.startswith(paused.RESUME_FLOW) and t.ctx.library.get(arg):
        resume.resume(t, t.ctx.library.flows[arg])
    elif payload.startswith(paused.RESTART_FLOW) and t.ctx.library.get(arg):
        resume.restart(t, t.ctx.library.flows[arg])
    elif kind == "go" and flow and _choice_target(flow, t.state.step, arg):
        guide.goto(t, flow, arg)
    elif kind == "lang" and arg in t.ctx.catalogs.languages:
        answers.set_language(t, arg)
    elif kind == "village" and t.ctx.commune.village(arg):
        answers.village_given(t, flow, arg)
    elif kind == "ask" and arg in answers.ANSWERS_NEEDING_VILLAGE:
        answers.ask_village_for(t, arg)
    elif kind == "sub" and arg in ("yes", "no"):
        answers.consent(t, arg == "yes")
    elif payload == "unsub":
        answers.unsubscribe(t)
    elif payload == "mydata":
        t.effects.append(fx.ShowMyData())
    elif payload == "forget":
        t.say(t._("Bạn có chắc muốn xoá mọi thông tin trợ lý đang lưu về bạn? Việc này không hoàn tác được."),
              (t.button("Xoá hết", "forget:yes"), t.button("Không xoá", MENU)))
    elif payload == "forget:yes":
        t.state = DialogueState()
        t.effects.append(fx.ForgetMe())
    else:
        t.say(t._("Nút này đã cũ hoặc không còn dùng được. Bạn chọn lại giúp tôi nhé."), *menu_rows(t))


def _choice_target(flow: Flow, step_id: str | None, target: str) -> bool:
    if step_id is None:
        return False
    return any(c.next == target for c in flow.step(step_id).choices)


# --- typed messages --------------------------------------------------------

def _said(t: Turn, flow: Flow | None, parse: Parse) -> None:
    if _triaged(t, flow, parse):
        return
    if t.state.awaiting and _answer_awaiting(t, flow, parse):
        return
    if facts.term(t, flow, parse):  # "OTP là gì?" mid-guide: the word explained, the step kept
        return
    ranking = parse.ranking or ((parse.intent, parse.confidence),)
    unsure = _unsure(t, parse)
    if (unsure or parse.intent.startswith(FAQ_PREFIX)) and facts.names_old_unit(parse.text):
        # "tôi ở Trầm Lộng cũ chọn xã nào": a former commune named as such is an old-address question.
        parse = replace(parse, intent="old_address")
        unsure = False
    elif (local := facts.about_the_guide(t, flow, parse, unsure)) is not None:
        parse, unsure = local, False  # a fact of this very guide, asked loosely, is read as such
    elif flow is not None and (kind := facts.asked_kind(t, flow, parse)) is not None:
        # "phí bao nhiêu?" in the residence guide: its own fee, never the judicial record's.
        own = t.ctx.library.knowledge.of_kind(kind, flow.id)
        if own is None:
            facts.not_known(t, flow, kind)
            return
        parse, unsure = replace(parse, intent=own.intent), False
    if unsure and flow is not None and wording.asks(parse.text) and t.state.misunderstood < t.ctx.max_misunderstood:
        # A question mid-guide we cannot place: most likely about the step itself, which stays.
        t.state = replace(t.state, misunderstood=t.state.misunderstood + 1)
        guide.question_about_step(t, flow)
        return
    if unsure and parse.intent != "out_of_scope" and parse.confidence > 0:
        _clarify(t, flow, ranking)
        return
    if unsure or parse.intent == "out_of_scope":
        _not_understood(t, flow, out_of_scope=parse.intent == "out_of_scope" and not unsure)
        return
    t.state = replace(t.state, misunderstood=0)
    _intent(t, flow, parse)


def _unsure(t: Turn, parse: Parse) -> bool:
    ranking = parse.ranking or ((parse.intent, parse.confidence),)
    second = ranking[1][1] if len(ranking) > 1 else 0.0
    return parse.confidence < t.ctx.threshold or parse.confidence - second < t.ctx.margin


def _triaged(t: Turn, flow: Flow | None, parse: Parse) -> bool:
    """Safety first, also in the middle of a guide: a scam reported or quoted, a victim, a wrong transfer
    (dialogues/triage.py). True if the message was taken."""
    rules = t.ctx.library.triage
    signals = rules.signals(parse.text)
    if flow is not None and (flow.id, t.state.step) == triage.QUESTION:
        answer = triage.answer_to_question(signals, parse.intent)
        if answer is not None:
            t.state = replace(t.state, misunderstood=0)
            guide.goto(t, flow, answer)
            return True
    found = triage.situation(signals, parse.intent, confident=not _unsure(t, parse))
    answer = rules.answer_for(parse.text, found)
    read = t.ctx.library.knowledge.get(parse.intent) if parse.intent.startswith(FAQ_PREFIX) else None
    if read is not None and triage.ROUTES[triage.SCAM][0] in read.flows and answer != parse.intent:
        answer = None  # the NLU already found a fact about scams: it knows which one
    if answer is not None and t.ctx.library.knowledge.get(answer) is not None:
        _intent(t, flow, replace(parse, intent=answer, confidence=1.0))  # a question about scams: its answer
        return True
    if found is None:
        return False
    t.state = replace(t.state, misunderstood=0, awaiting=None)
    if found == triage.GENUINE:
        _intent(t, flow, replace(parse, intent=triage.GENUINE_ANSWER, confidence=1.0))
        return True
    flow_id, step_id = triage.ROUTES[found]
    target = t.ctx.library.get(flow_id)
    if target is None:
        return False
    if flow is not None and (flow.id == target.id or flow.id == triage.ROUTES[triage.VICTIM][0]):
        guide.show_step(t, flow)  # already there, or a victim: the urgent steps stay in front
        return True
    hints = tuple(h.say for h in rules.hints_for(parse.text)) if flow_id == triage.ROUTES[triage.SCAM][0] else ()
    paused.pause_current(t)  # the guide the resident was in waits at its step
    guide.start(t, target, step_id, situation=found, hints=hints)
    return True


def _clarify(t: Turn, flow: Flow | None, ranking: tuple[tuple[str, float], ...]) -> None:
    t.unanswered = "low_confidence"
    t.state = replace(t.state, misunderstood=t.state.misunderstood + 1)
    if t.state.misunderstood > t.ctx.max_misunderstood:
        guide.offer_person(t, flow)
        return
    options = [name for name, _ in ranking if name != "out_of_scope"][:2]
    rows = tuple((t.button(intent_label(t, name), f"intent:{name}"),) for name in options)
    t.say(t._("Tôi chưa chắc đã hiểu đúng. Bạn muốn hỏi về việc nào?"),
          *rows, (t.button("Không phải, gặp người hỗ trợ", HUMAN),))


def _not_understood(t: Turn, flow: Flow | None, out_of_scope: bool) -> None:
    t.unanswered = "out_of_scope" if out_of_scope else "low_confidence"
    t.state = replace(t.state, misunderstood=t.state.misunderstood + 1)
    if t.state.misunderstood > t.ctx.max_misunderstood:
        guide.offer_person(t, flow)
        return
    if out_of_scope:
        t.say(t._("Việc này tôi chưa giúp được. Tôi hướng dẫn về VNeID, dịch vụ công trực tuyến, "
                  "thanh toán điện tử và cách phòng lừa đảo."), *menu_rows(t))
    else:
        t.say(t._("Xin lỗi, tôi chưa hiểu. Bạn có thể nói ngắn gọn hơn, hoặc chọn một chủ đề dưới đây."),
              *menu_rows(t))
    guide.offer_resume(t, flow)


def _answer_awaiting(t: Turn, flow: Flow | None, parse: Parse) -> bool:
    """Handle the answer to a question the assistant asked; False if the message is something else."""
    if t.state.awaiting == facts.AWAITING_OLD_ADDRESS and facts.say_new_unit(t, flow, parse.text):
        return True
    if t.state.awaiting in VILLAGE_QUESTIONS:
        entity = parse.entity("village")
        village = t.ctx.commune.find_village(entity.value if entity else parse.text)
        if village:
            answers.village_given(t, flow, village.code)
            return True
        if parse.intent in ("cancel", "deny"):
            t.state = replace(t.state, awaiting=None)
            t.say(t._("Vâng, đã huỷ."), *menu_rows(t))
            return True
        if parse.intent in ("human_handoff", "subscribe") or parse.confidence < t.ctx.threshold:
            answers.ask_village(t)
            return True
    t.state = replace(t.state, awaiting=None)
    return False


# --- intents ---------------------------------------------------------------

def _intent(t: Turn, flow: Flow | None, parse: Parse) -> None:
    name = parse.intent
    target = t.ctx.library.get(name)
    if target is not None:
        if flow is not None and flow.id == target.id:
            guide.question_about_step(t, flow) if wording.asks(parse.text) else guide.show_step(t, flow)
        elif flow is not None and wording.asks(parse.text):
            guide.offer_other(t, flow, target)  # "không có thẻ chip thì có làm được không?": a question
        elif paused.paused_step(t, target.id) not in (None, target.steps[0].id):
            resume.resume(t, target, restart_button=True)  # asked for again: back where the resident was
        else:
            paused.forget(t, target.id)
            paused.pause_current(t)  # a different task: the open guide waits at its step
            guide.start(t, target, target.entry(parse.text) if parse.text else None)
        return
    if name == "resume_guide":
        resume.asked_to_resume(t, flow)
        return
    if name in ("human_handoff", "subscribe"):
        _village_named(t, parse)
    if flow is not None and _not_an_answer(t, flow, parse):
        return
    if flow is not None:
        in_flow = {"affirm": lambda: guide.step_done(t, flow), "stuck": lambda: guide.step_stuck(t, flow),
                   "deny": lambda: guide.not_yet(t, flow), "cancel": lambda: guide.cancel(t, flow),
                   "human_handoff": lambda: guide.handoff(t, flow, "asked")}
        if name in in_flow:
            in_flow[name]()
            return
    entry = t.ctx.library.knowledge.get(name) if name.startswith(FAQ_PREFIX) else None
    if entry is not None:
        facts.knowledge(t, flow, entry)
        return
    if name == "old_address":
        facts.old_unit(t, flow, parse)
        return
    answer = answers.ANSWERS.get(name)
    if answer is None:
        _not_understood(t, flow, out_of_scope=True)
        return
    answer(t, parse)
    guide.offer_resume(t, flow)


# Words that put a place after them: a misspelt village name counts only after one of these.
_PLACE_MARKERS = frozenset({"thon", "xa", "o", "lang", "xom", "village", "in", "from"})


def _village_named(t: Turn, parse: Parse) -> None:
    """"tôi ở thôn Trung Tú, muốn gặp người": a village named with the request answers "which village?".
    A near spelling counts only after "thôn", "xã", "ở"...: "tổng đài công an" is not Đại Cường."""
    entity = parse.entity("village")
    if entity is None or t.ctx.resident.village is not None:
        return
    typed = parse.text[entity.start:entity.end]
    before = fold_words(parse.text[:entity.start]).split()[-1:]
    if t.ctx.commune.find_village(typed) is None and not (before and before[0] in _PLACE_MARKERS):
        return
    village = t.ctx.commune.find_village(entity.value)
    if village is not None:
        t.effects.append(fx.SetVillage(village.code))
        t.ctx = replace(t.ctx, resident=replace(t.ctx.resident, village=village.code))


def _not_an_answer(t: Turn, flow: Flow, parse: Parse) -> bool:
    """Yes/no words that are not answers: asked as a question, or "thôi chết, tôi bấm nhầm"."""
    if parse.intent in ("affirm", "deny") and wording.asks(parse.text) or \
            parse.intent == "stuck" and wording.yes_no_question(parse.text):
        guide.question_about_step(t, flow)
        return True
    if parse.intent == "cancel" and wording.mispressed(parse.text):
        guide.mispressed(t, flow)
        return True
    return False
