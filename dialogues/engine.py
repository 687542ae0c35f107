"""The dialogue engine: a pure function of (context, state, event) to replies, effects and a new state."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from bot.commune import Commune
from bot.i18n import Catalogs, Translator
from bot.types import Button, Reply
from dialogues import effects as fx
from dialogues.flows import END, Flow, Library, Step
from dialogues.state import DialogueState
from nlu.types import Parse

# Conversation intents that never start a guide.
STEP_DONE, STEP_STUCK, HUMAN, CANCEL, MENU, RESUME = "done", "stuck", "human", "cancel", "menu", "resume"


@dataclass(frozen=True)
class Said:
    """The resident typed something; the NLU's reading of it."""

    parse: Parse


@dataclass(frozen=True)
class Pressed:
    """The resident pressed a button."""

    payload: str


Event = Said | Pressed


@dataclass(frozen=True)
class Resident:
    """What the engine may know about the resident (nothing more is stored)."""

    language: str
    village: str | None = None
    subscribed: bool = False


@dataclass(frozen=True)
class Context:
    library: Library
    catalogs: Catalogs
    commune: Commune
    resident: Resident
    threshold: float = 0.45
    margin: float = 0.08
    max_misunderstood: int = 2


@dataclass(frozen=True)
class Outcome:
    replies: tuple[Reply, ...]
    effects: tuple[fx.Effect, ...]
    state: DialogueState


@dataclass
class _Turn:
    ctx: Context
    state: DialogueState
    replies: list[Reply] = field(default_factory=list)
    effects: list[fx.Effect] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ = self.ctx.catalogs.get(self.ctx.resident.language)

    def say(self, text: str, *rows: tuple[Button, ...]) -> None:
        self.replies.append(Reply(text, tuple(r for r in rows if r)))

    def button(self, label: str, payload: str) -> Button:
        return Button(self._(label), payload)

    def outcome(self) -> Outcome:
        return Outcome(tuple(self.replies), tuple(self.effects), self.state)


def advance(ctx: Context, state: DialogueState, event: Event) -> Outcome:
    """Advance the conversation by one event. Pure: no I/O, no clock, no randomness."""
    turn = _Turn(ctx, state)
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

def _pressed(t: _Turn, flow: Flow | None, payload: str) -> None:
    kind, _, arg = payload.partition(":")
    handlers: dict[str, Callable[[], None]] = {
        STEP_DONE: lambda: _step_done(t, flow),
        STEP_STUCK: lambda: _step_stuck(t, flow),
        HUMAN: lambda: _handoff(t, flow, "asked"),
        CANCEL: lambda: _cancel(t, flow),
        MENU: lambda: _menu(t),
        RESUME: lambda: _show_step(t, flow) if flow else _menu(t),
    }
    if payload in handlers:
        t.state = replace(t.state, misunderstood=0)
        handlers[payload]()
    elif kind == "topic" and any(tp.id == arg for tp in t.ctx.library.topics):
        _topic(t, arg)
    elif kind in ("flow", "intent") and arg:
        t.state = replace(t.state, misunderstood=0)
        _intent(t, flow, Parse(text="", intent=arg, confidence=1.0))
    elif kind == "go" and flow and _choice_target(flow, t.state.step, arg):
        _goto(t, flow, arg)
    elif kind == "lang" and arg in t.ctx.catalogs.languages:
        _set_language(t, arg)
    elif kind == "village" and t.ctx.commune.village(arg):
        _village_given(t, flow, arg)
    elif kind == "sub" and arg in ("yes", "no"):
        _consent(t, arg == "yes")
    elif payload == "unsub":
        _unsubscribe(t)
    elif payload == "mydata":
        t.effects.append(fx.ShowMyData())
    elif payload == "forget":
        t.say(t._("Bạn có chắc muốn xoá mọi thông tin trợ lý đang lưu về bạn? Việc này không hoàn tác được."),
              (t.button("Xoá hết", "forget:yes"), t.button("Không xoá", MENU)))
    elif payload == "forget:yes":
        t.state = DialogueState()
        t.effects.append(fx.ForgetMe())
    else:
        t.say(t._("Nút này đã cũ hoặc không còn dùng được. Bạn chọn lại giúp tôi nhé."), *_menu_rows(t))


def _choice_target(flow: Flow, step_id: str | None, target: str) -> bool:
    if step_id is None:
        return False
    return any(c.next == target for c in flow.step(step_id).choices)


# --- typed messages --------------------------------------------------------

def _said(t: _Turn, flow: Flow | None, parse: Parse) -> None:
    if t.state.awaiting and _answer_awaiting(t, flow, parse):
        return
    ranking = parse.ranking or ((parse.intent, parse.confidence),)
    second = ranking[1][1] if len(ranking) > 1 else 0.0
    unsure = parse.confidence < t.ctx.threshold or parse.confidence - second < t.ctx.margin
    if unsure and parse.intent != "out_of_scope" and parse.confidence > 0:
        _clarify(t, flow, ranking)
        return
    if unsure or parse.intent == "out_of_scope":
        _not_understood(t, flow, out_of_scope=parse.intent == "out_of_scope" and not unsure)
        return
    t.state = replace(t.state, misunderstood=0)
    _intent(t, flow, parse)


def _clarify(t: _Turn, flow: Flow | None, ranking: tuple[tuple[str, float], ...]) -> None:
    t.state = replace(t.state, misunderstood=t.state.misunderstood + 1)
    if t.state.misunderstood > t.ctx.max_misunderstood:
        _offer_person(t, flow)
        return
    options = [name for name, _ in ranking if name != "out_of_scope"][:2]
    rows = tuple((t.button(_intent_label(t, name), f"intent:{name}"),) for name in options)
    t.say(t._("Tôi chưa chắc đã hiểu đúng. Bạn muốn hỏi về việc nào?"),
          *rows, (t.button("Không phải, gặp người hỗ trợ", HUMAN),))


def _not_understood(t: _Turn, flow: Flow | None, out_of_scope: bool) -> None:
    t.state = replace(t.state, misunderstood=t.state.misunderstood + 1)
    if t.state.misunderstood > t.ctx.max_misunderstood:
        _offer_person(t, flow)
        return
    if out_of_scope:
        t.say(t._("Việc này tôi chưa giúp được. Tôi hướng dẫn về VNeID, dịch vụ công trực tuyến, "
                  "thanh toán điện tử và cách phòng lừa đảo."), *_menu_rows(t))
    else:
        t.say(t._("Xin lỗi, tôi chưa hiểu. Bạn có thể nói ngắn gọn hơn, hoặc chọn một chủ đề dưới đây."),
              *_menu_rows(t))
    _offer_resume(t, flow)


def _offer_person(t: _Turn, flow: Flow | None) -> None:
    t.state = replace(t.state, misunderstood=0)
    t.effects.append(fx.Track("misunderstood", flow.id if flow else None, t.state.step))
    t.say(t._("Xin lỗi, tôi vẫn chưa hiểu ý bạn. Bạn có muốn nhờ tổ công nghệ số của thôn giúp không?"),
          (t.button("Gặp người hỗ trợ", HUMAN),), (t.button("Xem danh mục", MENU),))


def _answer_awaiting(t: _Turn, flow: Flow | None, parse: Parse) -> bool:
    """Handle the answer to a question the assistant asked; False if the message is something else."""
    if t.state.awaiting in ("village_for_handoff", "village_for_subscribe"):
        entity = parse.entity("village")
        village = t.ctx.commune.find_village(entity.value if entity else parse.text)
        if village:
            _village_given(t, flow, village.code)
            return True
        if parse.intent in ("cancel", "deny"):
            t.state = replace(t.state, awaiting=None)
            t.say(t._("Vâng, đã huỷ."), *_menu_rows(t))
            return True
        if parse.intent in ("human_handoff", "subscribe") or parse.confidence < t.ctx.threshold:
            _ask_village(t)
            return True
    t.state = replace(t.state, awaiting=None)
    return False


# --- intents ---------------------------------------------------------------

def _intent(t: _Turn, flow: Flow | None, parse: Parse) -> None:
    name = parse.intent
    target = t.ctx.library.get(name)
    if target is not None:
        if flow is not None and flow.id == target.id:
            _show_step(t, flow)
        else:
            _start(t, target)
        return
    if flow is not None:
        in_flow = {"affirm": lambda: _step_done(t, flow), "stuck": lambda: _step_stuck(t, flow),
                   "deny": lambda: _not_yet(t, flow), "cancel": lambda: _cancel(t, flow),
                   "human_handoff": lambda: _handoff(t, flow, "asked")}
        if name in in_flow:
            in_flow[name]()
            return
    answer = _ANSWERS.get(name)
    if answer is None:
        _not_understood(t, flow, out_of_scope=True)
        return
    answer(t, parse)
    _offer_resume(t, flow)


def _offer_resume(t: _Turn, flow: Flow | None) -> None:
    """After answering something else in the middle of a guide, offer to go back to it."""
    if flow is None or t.state.flow is None or t.state.step is None:
        return
    n = flow.index(t.state.step) + 1
    t.say(t._("Bạn đang làm dở hướng dẫn “{title}”.", title=t._(flow.title)),
          (t.button(t._("Tiếp tục Bước {n}/{total}", n=n, total=len(flow.steps)), RESUME),
           t.button("Thôi", CANCEL)))


def _greet(t: _Turn, parse: Parse) -> None:
    t.say(t._("Xin chào! Tôi là Trợ lý số của xã {commune}. Tôi hướng dẫn từng bước về VNeID, "
              "dịch vụ công, thanh toán điện tử và cách tránh lừa đảo. Bạn cần giúp việc gì?",
              commune=t.ctx.commune.name), *_menu_rows(t))


def _help(t: _Turn, parse: Parse) -> None:
    _menu(t)


def _thank(t: _Turn, parse: Parse) -> None:
    t.say(t._("Không có gì ạ. Khi cần, bạn cứ nhắn cho tôi."), (t.button("Xem danh mục", MENU),))


def _goodbye(t: _Turn, parse: Parse) -> None:
    t.say(t._("Tạm biệt bạn! Chúc bạn một ngày tốt lành."))


def _bot_challenge(t: _Turn, parse: Parse) -> None:
    t.say(t._("Tôi là trợ lý tự động (chatbot), không phải người thật. Nếu cần, tôi có thể chuyển bạn "
              "tới tổ công nghệ số của thôn."), (t.button("Gặp người hỗ trợ", HUMAN), t.button("Xem danh mục", MENU)))


def _small_yes_no(t: _Turn, parse: Parse) -> None:
    t.say(t._("Bạn cần tôi giúp việc gì? Hãy chọn một chủ đề."), *_menu_rows(t))


def _stuck_no_flow(t: _Turn, parse: Parse) -> None:
    t.say(t._("Bạn đang gặp khó ở việc gì? Hãy kể ngắn gọn, hoặc chọn chủ đề bên dưới."),
          *_menu_rows(t), (t.button("Gặp người hỗ trợ", HUMAN),))


def _cancel_no_flow(t: _Turn, parse: Parse) -> None:
    t.state = replace(t.state, awaiting=None)
    _menu(t)


def _change_language(t: _Turn, parse: Parse) -> None:
    entity = parse.entity("language")
    if entity is None or entity.value not in t.ctx.catalogs.languages:
        _language_menu(t, parse)
        return
    _set_language(t, entity.value)


def _set_language(t: _Turn, language: str) -> None:
    if language not in t.ctx.catalogs.languages:
        language = t.ctx.catalogs.default
    t.effects.append(fx.SetLanguage(language))
    t.ctx = replace(t.ctx, resident=replace(t.ctx.resident, language=language))
    t._ = t.ctx.catalogs.get(language)
    t.say(t._("Đã chuyển sang tiếng Việt."), *_menu_rows(t))


def _language_menu(t: _Turn, parse: Parse) -> None:
    t.say(t._("Chọn ngôn ngữ / Choose a language:"),
          (Button("Tiếng Việt", "lang:vi"), Button("English", "lang:en")))


def _subscribe(t: _Turn, parse: Parse) -> None:
    if t.ctx.resident.village is None:
        t.state = replace(t.state, awaiting="village_for_subscribe")
        _ask_village(t)
        return
    _ask_consent(t)


def _ask_consent(t: _Turn) -> None:
    t.say(t._("Bạn sẽ nhận thông báo của xã và thôn mình. Để gửi đúng, trợ lý chỉ lưu thôn và ngôn ngữ "
              "của bạn, không lưu gì thêm. Bạn có thể huỷ bất cứ lúc nào. Bạn đồng ý chứ?"),
          (t.button("Đồng ý", "sub:yes"), t.button("Không", "sub:no")))


def _consent(t: _Turn, yes: bool) -> None:
    village = t.ctx.resident.village
    if yes and village:
        t.effects.append(fx.Subscribe(village))
        t.say(t._("Đã đăng ký nhận thông báo. Muốn dừng, bạn bấm “Huỷ nhận thông báo” hoặc nhắn “huỷ đăng ký”."),
              (t.button("Huỷ nhận thông báo", "unsub"), t.button("Xem danh mục", MENU)))
    elif yes:
        t.state = replace(t.state, awaiting="village_for_subscribe")
        _ask_village(t)
    else:
        t.say(t._("Vâng, tôi không đăng ký cho bạn."), (t.button("Xem danh mục", MENU),))


def _unsubscribe(t: _Turn, parse: Parse | None = None) -> None:
    t.effects.append(fx.Unsubscribe())
    t.say(t._("Đã huỷ, bạn sẽ không nhận thông báo nữa. Muốn nhận lại, bạn nhắn “đăng ký nhận tin”."),
          (t.button("Xem danh mục", MENU),))


def _ask_village(t: _Turn) -> None:
    villages = t.ctx.commune.villages
    rows = [tuple(t.button(v.name, f"village:{v.code}") for v in villages[i:i + 2])
            for i in range(0, len(villages), 2)]
    t.say(t._("Bạn ở thôn nào? Chọn bên dưới hoặc nhắn tên thôn."), *rows)


def _village_given(t: _Turn, flow: Flow | None, code: str) -> None:
    awaiting = t.state.awaiting
    t.state = replace(t.state, awaiting=None)
    t.effects.append(fx.SetVillage(code))
    t.ctx = replace(t.ctx, resident=replace(t.ctx.resident, village=code))
    if awaiting == "village_for_subscribe":
        _ask_consent(t)
    elif awaiting == "village_for_handoff":
        _handoff(t, flow, "asked")
    else:
        village = t.ctx.commune.village(code)
        t.say(t._("Đã ghi nhận: thôn {village}.", village=village.name if village else code),
              (t.button("Xem danh mục", MENU),))


def _contact_team(t: _Turn, parse: Parse) -> None:
    team = _team_for(t.ctx.commune, t.ctx.resident.village)
    if team is None:
        t.say(t._("Tổ công nghệ số cộng đồng ở mỗi thôn giúp bà con cài và dùng VNeID, dịch vụ công và "
                  "thanh toán điện tử. Tôi có thể chuyển bạn tới tổ của thôn mình."),
              (t.button("Gặp người hỗ trợ", HUMAN),))
        return
    t.say(t._("Tổ công nghệ số của bạn: {name}. Gặp trực tiếp: {where}. Hoặc bấm nút để tôi chuyển lời "
              "nhắn tới tổ.", name=team.get("name", ""), where=team.get("contact") or t._("hỏi trưởng thôn")),
          (t.button("Gặp người hỗ trợ", HUMAN),))


def _team_for(commune: Commune, village: str | None) -> dict[str, object] | None:
    teams = commune.teams.get("teams") or []
    for team in teams:
        if village and village in (team.get("villages") or []):
            return dict(team)
    fallback = commune.teams.get("fallback")
    return next((dict(tm) for tm in teams if tm.get("id") == fallback), None)


def _schedule(t: _Turn, parse: Parse) -> None:
    visits = [v for v in t.ctx.commune.schedule
              if not t.ctx.resident.village or v.get("village") in (None, t.ctx.resident.village)]
    if not visits:
        t.say(t._("Hiện chưa có lịch điểm dịch vụ công lưu động. Khi có lịch, xã sẽ báo trên kênh này "
                  "nếu bạn đăng ký nhận thông báo."), (t.button("Đăng ký nhận thông báo", "intent:subscribe"),))
        return
    lines = [f"• {v.get('date', '')} {v.get('time', '')}: {v.get('place', '')}" for v in visits[:5]]
    t.say(t._("Lịch điểm dịch vụ công lưu động:") + "\n" + "\n".join(lines),
          (t.button("Đăng ký nhận thông báo", "intent:subscribe"),))


def _classes(t: _Turn, parse: Parse) -> None:
    classes = t.ctx.commune.classes
    if not classes:
        t.say(t._("Hiện chưa có lịch lớp “Bình dân học vụ số”. Bạn có thể hỏi tổ công nghệ số của thôn."),
              (t.button("Gặp người hỗ trợ", HUMAN),))
        return
    lines = [f"• {c.get('date', '')} {c.get('time', '')}: {c.get('place', '')} ({c.get('topic', '')})"
             for c in classes[:5]]
    t.say(t._("Lớp kỹ năng số “Bình dân học vụ số”:") + "\n" + "\n".join(lines))


_ANSWERS: dict[str, Callable[[_Turn, Parse], None]] = {
    "greet": _greet, "help": _help, "thank": _thank, "goodbye": _goodbye, "bot_challenge": _bot_challenge,
    "affirm": _small_yes_no, "deny": _small_yes_no, "stuck": _stuck_no_flow, "cancel": _cancel_no_flow,
    "human_handoff": lambda t, p: _handoff(t, None, "asked"), "change_language": _change_language,
    "subscribe": _subscribe, "unsubscribe": _unsubscribe, "contact_support_team": _contact_team,
    "mobile_service_schedule": _schedule, "digital_skills_class": _classes,
}


# --- guides ----------------------------------------------------------------

def _start(t: _Turn, flow: Flow) -> None:
    t.state = replace(t.state.at(flow.id, flow.steps[0].id), tried=())
    t.effects.append(fx.Track("flow_start", flow.id, flow.steps[0].id))
    intro = t._(flow.title)
    if flow.intro:
        intro += "\n" + t._(flow.intro)
    if flow.scam_warning:
        intro += "\n" + t._("⚠️ Trợ lý không bao giờ hỏi số CCCD, mật khẩu hay mã OTP của bạn. "
                            "Đừng đưa các mã này cho bất kỳ ai.")
    t.say(intro)
    _show_step(t, flow, track=False)


def _show_step(t: _Turn, flow: Flow | None, track: bool = True) -> None:
    if flow is None or t.state.step is None:
        _menu(t)
        return
    step = flow.step(t.state.step)
    if track:
        t.effects.append(fx.Track("step", flow.id, step.id))
    t.say(_step_text(t, flow, step), *_step_rows(t, step))


def _step_text(t: _Turn, flow: Flow, step: Step) -> str:
    n = flow.index(step.id) + 1
    return t._("Bước {n}/{total}", n=n, total=len(flow.steps)) + ": " + t._(step.text)


def _step_rows(t: _Turn, step: Step) -> tuple[tuple[Button, ...], ...]:
    if step.choices:
        first = tuple((t.button(c.label, f"go:{c.next}"),) for c in step.choices)
        return (*first, (t.button("Không được", STEP_STUCK), t.button("Gặp người hỗ trợ", HUMAN)))
    return ((t.button("Xong rồi", STEP_DONE), t.button("Không được", STEP_STUCK)),
            (t.button("Gặp người hỗ trợ", HUMAN), t.button("Thôi", CANCEL)))


def _goto(t: _Turn, flow: Flow, target: str) -> None:
    if target == END:
        _complete(t, flow)
        return
    t.state = t.state.at(flow.id, target)
    _show_step(t, flow)


def _step_done(t: _Turn, flow: Flow | None) -> None:
    if flow is None or t.state.step is None:
        _small_yes_no(t, Parse("", "affirm", 1.0))
        return
    _goto(t, flow, flow.next_step(t.state.step))


def _complete(t: _Turn, flow: Flow) -> None:
    t.effects.append(fx.Track("complete", flow.id, t.state.step))
    t.state = t.state.ended()
    t.say("✅ " + t._(flow.done), (t.button("Xem danh mục", MENU),))


def _not_yet(t: _Turn, flow: Flow) -> None:
    t.say(t._("Không sao, bạn cứ làm từ từ. Xong thì bấm “Xong rồi”, gặp khó thì bấm “Không được”."))
    _show_step(t, flow, track=False)


def _step_stuck(t: _Turn, flow: Flow | None) -> None:
    if flow is None or t.state.step is None:
        _stuck_no_flow(t, Parse("", "stuck", 1.0))
        return
    step = flow.step(t.state.step)
    t.effects.append(fx.Track("stuck", flow.id, step.id))
    tried = t.state.tried if step.id in t.state.tried else (*t.state.tried, step.id)
    t.state = replace(t.state, stuck=t.state.stuck + 1, tried=tried)
    if t.state.stuck == 1 and step.troubleshoot:
        t.say(t._("Cách khắc phục:") + "\n" + t._(step.troubleshoot),
              (t.button("Được rồi", STEP_DONE), t.button("Vẫn không được", STEP_STUCK)),
              (t.button("Gặp người hỗ trợ", HUMAN), t.button("Thôi", CANCEL)))
        return
    _handoff(t, flow, "stuck")


def _cancel(t: _Turn, flow: Flow | None) -> None:
    if flow is not None:
        t.effects.append(fx.Track("cancel", flow.id, t.state.step))
    t.state = replace(t.state.ended(), awaiting=None)
    t.say(t._("Đã dừng hướng dẫn. Khi cần, bạn chọn lại chủ đề nhé."), *_menu_rows(t))


def _handoff(t: _Turn, flow: Flow | None, reason: str) -> None:
    if t.ctx.resident.village is None:
        t.state = replace(t.state, awaiting="village_for_handoff")
        t.say(t._("Tôi sẽ nhờ tổ công nghệ số của thôn bạn giúp."))
        _ask_village(t)
        return
    t.effects.append(fx.Track("handoff", flow.id if flow else t.state.flow, t.state.step))
    t.effects.append(fx.Handoff(reason=reason, flow=flow.id if flow else t.state.flow, step=t.state.step))


# --- menu ------------------------------------------------------------------

def _menu_rows(t: _Turn) -> tuple[tuple[Button, ...], ...]:
    topics = t.ctx.library.topics
    buttons = [t.button(tp.title, f"topic:{tp.id}") for tp in topics]
    return tuple(tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2))


def _menu(t: _Turn) -> None:
    t.say(t._("Bạn cần hướng dẫn về chủ đề nào?"), *_menu_rows(t), (t.button("Gặp người hỗ trợ", HUMAN),))


def _topic(t: _Turn, topic_id: str) -> None:
    topic = next(tp for tp in t.ctx.library.topics if tp.id == topic_id)
    rows = tuple((t.button(t.ctx.library.flows[f].title, f"flow:{f}"),) for f in topic.flows)
    t.say(t._(topic.title) + ": " + t._("chọn việc bạn cần làm."), *rows, (t.button("Quay lại danh mục", MENU),))


def _intent_label(t: _Turn, name: str) -> str:
    flow = t.ctx.library.get(name)
    if flow is not None:
        return flow.title
    return _INTENT_LABELS.get(name, name)


def N_(msgid: str) -> str:
    """Mark a string for the catalogs; it is translated where it is shown."""
    return msgid


# Labels for the clarifying question when the candidate is not a guide.
_INTENT_LABELS = {
    "greet": N_("Chào hỏi"), "help": N_("Xem danh mục"), "human_handoff": N_("Gặp người hỗ trợ"),
    "stuck": N_("Tôi đang bị lỗi"), "cancel": N_("Dừng lại"), "change_language": N_("Đổi ngôn ngữ"),
    "subscribe": N_("Nhận thông báo của xã"), "unsubscribe": N_("Huỷ nhận thông báo"),
    "contact_support_team": N_("Liên hệ tổ công nghệ số"), "mobile_service_schedule": N_("Lịch dịch vụ công lưu động"),
    "digital_skills_class": N_("Lớp kỹ năng số"), "bot_challenge": N_("Bạn là ai?"), "thank": N_("Cảm ơn"),
    "goodbye": N_("Tạm biệt"), "affirm": N_("Đồng ý"), "deny": N_("Không đồng ý"), "report_scam": N_("Báo lừa đảo"),
}
