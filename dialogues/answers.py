"""Answers that are not guides: small talk, language, announcements, the resident's data, community info."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from dialogues import paused
from dialogues.flows import Flow
from dialogues.guide import SCAM_WARNING, handoff, offer_resume
from dialogues.turn import HUMAN, MENU, N_, Turn, ask_village, choose_topic, menu, menu_rows, stuck_no_flow
from kernel import effects as fx
from kernel.commune import Hours, Session, place_name
from kernel.messages import Button
from nlu.types import Parse

WEEKDAYS = (N_("Thứ Hai"), N_("Thứ Ba"), N_("Thứ Tư"), N_("Thứ Năm"), N_("Thứ Sáu"), N_("Thứ Bảy"),
            N_("Chủ nhật"))


def greet(t: Turn, parse: Parse) -> None:
    t.say(t._("Xin chào! Tôi là Trợ lý số của xã {commune}. Tôi hướng dẫn từng bước về VNeID, "
              "dịch vụ công, thanh toán điện tử và cách tránh lừa đảo. Bạn cần giúp việc gì?",
              commune=t.ctx.commune.name) + "\n" +
          t._("Tôi là chương trình tự động, không phải người thật. Tôi không bao giờ hỏi mật khẩu hay mã OTP "
              "của bạn. Muốn gặp người thật, bấm “Gặp người hỗ trợ” để tổ công nghệ số của thôn giúp."),
          *menu_rows(t), (t.button("Gặp người hỗ trợ", HUMAN),))


def thank(t: Turn, parse: Parse) -> None:
    t.say(t._("Không có gì ạ. Khi cần, bạn cứ nhắn cho tôi."), (t.button("Xem danh mục", MENU),))


def goodbye(t: Turn, parse: Parse) -> None:
    t.say(t._("Tạm biệt bạn! Chúc bạn một ngày tốt lành."))


def bot_challenge(t: Turn, parse: Parse) -> None:
    t.say(t._("Tôi là trợ lý tự động (chatbot), không phải người thật. Nếu cần, tôi có thể chuyển bạn "
              "tới tổ công nghệ số của thôn."), (t.button("Gặp người hỗ trợ", HUMAN), t.button("Xem danh mục", MENU)))


def cancel_no_flow(t: Turn, parse: Parse) -> None:
    t.state = replace(t.state, awaiting=None)
    menu_and_paused(t)


def menu_and_paused(t: Turn) -> None:
    """The menu, and the guide left half done (if any) to go back to."""
    menu(t)
    paused.offer(t, with_menu=False)


# --- language ----------------------------------------------------------------

def change_language(t: Turn, parse: Parse) -> None:
    entity = parse.entity("language")
    if entity is None or entity.value not in t.ctx.catalogs.languages:
        language_menu(t)
        return
    set_language(t, entity.value)


def set_language(t: Turn, language: str) -> None:
    if language not in t.ctx.catalogs.languages:
        language = t.ctx.catalogs.default
    t.effects.append(fx.SetLanguage(language))
    t.ctx = replace(t.ctx, resident=replace(t.ctx.resident, language=language))
    t._ = t.ctx.catalogs.get(language)
    t.say(t._("Đã chuyển sang tiếng Việt."), *menu_rows(t))


def language_menu(t: Turn) -> None:
    t.say(t._("Chọn ngôn ngữ / Choose a language:"),
          (Button("Tiếng Việt", "lang:vi"), Button("English", "lang:en")))


# --- announcements -----------------------------------------------------------

def subscribe(t: Turn, parse: Parse | None = None) -> None:
    if t.ctx.resident.village is None:
        t.state = replace(t.state, awaiting="village_for_subscribe")
        ask_village(t)
        return
    ask_consent(t)


def ask_consent(t: Turn) -> None:
    # Says what is really kept: the village and language for the announcements, and (for everyone) the
    # redacted messages that "Xem thông tin của tôi" lists.
    t.say(t._("Bạn sẽ nhận thông báo của xã và thôn mình. Để gửi đúng, trợ lý lưu thôn và ngôn ngữ của bạn; "
              "mọi thứ trợ lý lưu, kể cả tin nhắn đã che số và mã, bạn xem hoặc xoá trong “Xem thông tin của tôi”. "
              "Bạn có thể huỷ bất cứ lúc nào, bạn đồng ý chứ?"),
          (t.button("Đồng ý", "sub:yes"), t.button("Không", "sub:no")))


def consent(t: Turn, yes: bool) -> None:
    village = t.ctx.resident.village
    if yes and village:
        t.effects.append(fx.Subscribe(village))
        t.say(t._("Đã đăng ký nhận thông báo. Muốn dừng, bạn bấm “Huỷ nhận thông báo” hoặc nhắn “huỷ đăng ký”."),
              (t.button("Huỷ nhận thông báo", "unsub"), t.button("Xem danh mục", MENU)))
    elif yes:
        t.state = replace(t.state, awaiting="village_for_subscribe")
        ask_village(t)
    else:
        t.say(t._("Vâng, tôi không đăng ký cho bạn."), (t.button("Xem danh mục", MENU),))


def unsubscribe(t: Turn, parse: Parse | None = None) -> None:
    if not t.ctx.resident.subscribed:
        # Nothing to stop (and a misread "stop" in a guide must not look like it did something).
        t.say(t._("Bạn hiện không nhận thông báo của xã, nên không có gì để huỷ."),
              (t.button("Đăng ký nhận thông báo", "intent:subscribe"), t.button("Xem danh mục", MENU)))
        return
    t.effects.append(fx.Unsubscribe())
    t.say(t._("Đã huỷ, bạn sẽ không nhận thông báo nữa. Muốn nhận lại, bạn nhắn “đăng ký nhận tin”."),
          (t.button("Xem danh mục", MENU),))


def village_given(t: Turn, flow: Flow | None, code: str) -> None:
    awaiting = t.state.awaiting
    t.state = replace(t.state, awaiting=None)
    t.effects.append(fx.SetVillage(code))
    t.ctx = replace(t.ctx, resident=replace(t.ctx.resident, village=code))
    if awaiting == "village_for_subscribe":
        ask_consent(t)
    elif awaiting == "village_for_handoff":
        handoff(t, flow, "asked")
    elif awaiting in ANSWERS_NEEDING_VILLAGE:
        ANSWERS[awaiting](t, Parse("", awaiting, 1.0))
        offer_resume(t, flow)
    else:
        village = t.ctx.commune.village(code)
        t.say(t._("Đã ghi nhận: {place}.", place=place_name(t._, village) if village else code),
              (t.button("Xem danh mục", MENU),))


# --- community: the village team, mobile service points, classes -------------

def contact_team(t: Turn, parse: Parse) -> None:
    team = t.ctx.commune.teams.serving(t.ctx.resident.village)
    if team is None:
        t.say(t._("Tổ công nghệ số cộng đồng ở mỗi thôn giúp bà con cài và dùng VNeID, dịch vụ công và "
                  "thanh toán điện tử. Tôi có thể chuyển bạn tới tổ của thôn mình."),
              (t.button("Gặp người hỗ trợ", HUMAN),))
        return
    where = team.text("contact", t.language) or t._("hỏi trưởng thôn")
    text = t._("Tổ công nghệ số của bạn: {name}. Gặp trực tiếp: {where}. Hoặc bấm nút để tôi chuyển lời "
               "nhắn tới tổ.", name=team.text("name", t.language), where=where)
    hours = _hours(t, team.hours) if team.hours_known else ""
    if hours:
        text += "\n" + t._("Giờ hỗ trợ: {hours}", hours=hours)
    rows = [(t.button("Gặp người hỗ trợ", HUMAN),)]
    if t.ctx.resident.village is None:
        rows.append((t.button("Chọn thôn của tôi", "ask:contact_support_team"),))
    t.say(text, *rows)


def _hours(t: Turn, hours: Hours) -> str:
    days = sorted(hours.days)
    if not days:
        return ""
    first, last = days[0], days[-1]
    if len(days) == 7:
        span = t._("mọi ngày")
    elif days == list(range(first, last + 1)) and len(days) > 2:
        span = t._(WEEKDAYS[first]) + "–" + t._(WEEKDAYS[last])
    else:
        span = ", ".join(t._(WEEKDAYS[d]) for d in days)
    return f"{hours.start:%H:%M}–{hours.end:%H:%M}, {span}"


def _asked_place(t: Turn, parse: Parse) -> str | None:
    """The place named in the question ("lịch xe lưu động ở thôn Đông Lỗ"), else the resident's village."""
    entity = parse.entity("village")
    named = t.ctx.commune.find_village(entity.value) if entity else None
    return named.code if named else t.ctx.resident.village


def _upcoming(t: Turn, sessions: tuple[Session, ...], place: str | None) -> tuple[list[Session], bool]:
    """Sessions from today on (the commune's date); the place's own first. Returns (sessions, only_for_place)."""
    today = t.ctx.today
    future = [s for s in sessions if today is None or s.day >= today]
    if place:
        codes = t.ctx.commune.codes(place)  # a visit for a former commune serves its thôn too
        mine = [s for s in future if s.serves(*codes)]
        if mine:
            return mine, True
    return future, False


def _line(t: Turn, s: Session, with_topic: bool) -> str:
    when = t._("{weekday} {day}, {start}–{end}", weekday=t._(WEEKDAYS[s.day.weekday()]),
               day=s.day.strftime("%d/%m"), start=s.start, end=s.end)
    line = f"• {when}: {s.text('place', t.language)}"
    topic = s.text("topic", t.language)
    return line + (f" ({topic})" if with_topic and topic else "")


def _place(t: Turn, code: str) -> str:
    village = t.ctx.commune.village(code)
    return place_name(t._, village) if village else code


def _where_to_ask(t: Turn, place: str | None) -> str:
    """Whom to ask about dates the commune has not published: the place's team from teams.yml (brief §6.1:
    the village team or the commune service point)."""
    team = t.ctx.commune.teams.serving(place) if place else None
    if team is None:
        return t._("Hỏi tổ công nghệ số của thôn hoặc Điểm phục vụ hành chính công của xã.")
    where = team.text("contact", t.language)
    name = team.text("name", t.language)
    return (t._("Hỏi {team} ({where}).", team=name, where=where) if where
            else t._("Hỏi {team}.", team=name))


def schedule(t: Turn, parse: Parse) -> None:
    place = _asked_place(t, parse)
    visits, mine = _upcoming(t, t.ctx.commune.schedule, place)
    rows = [(t.button("Đăng ký nhận thông báo", "intent:subscribe"),)]
    if place is None:
        rows.insert(0, (t.button("Chọn thôn của tôi", "ask:mobile_service_schedule"),))
    if not visits:
        # No confirmed date (brief §6.3: the schedule is to confirm): say so, whom to ask, and the portal.
        head = (t._("Xã chưa công bố lịch điểm dịch vụ công lưu động cho {place}.", place=_place(t, place))
                if place else t._("Xã chưa công bố lịch điểm dịch vụ công lưu động."))
        t.say(head + " " + _where_to_ask(t, place) + " " +
              t._("Bạn vẫn có thể nộp hồ sơ trực tuyến trên dichvucong.hanoi.gov.vn. Đăng ký nhận thông báo để "
                  "được báo khi xã có lịch."), *rows)
        return
    if mine:
        head = (t._("Lịch điểm dịch vụ công lưu động cho thôn của bạn:") if place == t.ctx.resident.village
                else t._("Lịch điểm dịch vụ công lưu động cho {place}:", place=_place(t, place or "")))
    elif place:
        head = t._("Chưa có lịch cho {place}. Lịch điểm dịch vụ công lưu động ở nơi khác:", place=_place(t, place))
    else:
        head = t._("Lịch điểm dịch vụ công lưu động:")
    lines = [_line(t, v, with_topic=False) for v in visits[:5]]
    t.say(head + "\n" + "\n".join(lines) + "\n" + t._("Mang theo thẻ căn cước và điện thoại của bạn."), *rows)


def classes(t: Turn, parse: Parse) -> None:
    place = _asked_place(t, parse)
    upcoming, _mine = _upcoming(t, t.ctx.commune.classes, place)
    if not upcoming:
        t.say(t._("Xã chưa công bố lịch lớp “Bình dân học vụ số”.") + " " + _where_to_ask(t, place),
              (t.button("Gặp người hỗ trợ", HUMAN),))
        return
    lines = [_line(t, c, with_topic=True) for c in upcoming[:5]]
    t.say(t._("Lớp kỹ năng số “Bình dân học vụ số”:") + "\n" + "\n".join(lines),
          (t.button("Liên hệ tổ công nghệ số", "intent:contact_support_team"), t.button("Xem danh mục", MENU)))


def ask_village_for(t: Turn, answer: str) -> None:
    """"Chọn thôn của tôi" under an answer that depends on the village: ask, then answer again."""
    if answer in ANSWERS_NEEDING_VILLAGE:
        t.state = replace(t.state, awaiting=answer)
    ask_village(t)


ANSWERS: dict[str, Callable[[Turn, Parse], None]] = {
    "greet": greet, "help": lambda t, p: menu_and_paused(t), "thank": thank, "goodbye": goodbye,
    "bot_challenge": bot_challenge, "affirm": lambda t, p: choose_topic(t), "deny": lambda t, p: choose_topic(t),
    "stuck": lambda t, p: stuck_no_flow(t), "cancel": cancel_no_flow,
    "human_handoff": lambda t, p: handoff(t, None, "asked"), "change_language": change_language,
    "subscribe": subscribe, "unsubscribe": unsubscribe, "contact_support_team": contact_team,
    "mobile_service_schedule": schedule, "digital_skills_class": classes,
    "my_data": lambda t, p: t.effects.append(fx.ShowMyData()),
}

# Brief source ids of every answer message above that states a number (checked by `python -m dialogues
# validate`; commune data such as dates and hours comes from the commune's own files, not from here).
ANSWER_SOURCES: dict[str, tuple[str, ...]] = {
    SCAM_WARNING: ("S5", "S32"),
}

# Answers that differ by village: after "Chọn thôn của tôi" the village is saved and the answer shown again.
ANSWERS_NEEDING_VILLAGE = ("contact_support_team", "mobile_service_schedule")
