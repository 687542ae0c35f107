"""Guides keep their place (issue 16): yes/no words only as answers, another task pauses the guide, "làm tiếp"
and "Làm tiếp" bring it back at its step, "Thôi" keeps it, and the troubleshooting ladder never forces a
person. The engine is pure: parses are given to it directly."""

from __future__ import annotations

import pytest

from dialogues.engine import Context, Pressed, Resident, Said, advance
from dialogues.state import DialogueState
from dialogues.turn import Outcome
from dialogues.wording import asks, mispressed, yes_no_question
from kernel import effects as fx
from kernel.commune import load_commune
from kernel.i18n import Catalogs
from kernel.settings import Settings
from nlu.types import Parse
from tests.fakes.services import project_library


@pytest.fixture
def ctx(settings: Settings) -> Context:
    return Context(library=project_library(),
                   catalogs=Catalogs(settings.locales_dir, settings.languages, settings.default_language),
                   commune=load_commune(settings.commune_dir), resident=Resident("vi", "dai-cuong"))


def said(intent: str, text: str = "…") -> Said:
    return Said(Parse(text, intent, 0.9, ((intent, 0.9),)))


def payloads(out: Outcome) -> list[str]:
    return [b.payload for r in out.replies for b in r.flat_buttons()]


def labels(out: Outcome) -> list[str]:
    return [b.label for r in out.replies for b in r.flat_buttons()]


def at(ctx: Context, flow: str, presses: int = 0) -> DialogueState:
    state = advance(ctx, DialogueState(), Pressed(f"flow:{flow}")).state
    for _ in range(presses):
        state = advance(ctx, state, Pressed("done")).state
    return state


@pytest.mark.parametrize(("text", "question"), [
    ("có phải tải ở CH Play không?", True), ("khong co the chip thi co lam duoc khong?", True),
    ("có cần mang sổ hộ khẩu không", True), ("do I need to bring the book?", True),
    ("không", False), ("chưa", False), ("không được", False), ("vẫn không được", False), ("xong rồi", False),
    ("có", False), ("ok", False), ("it does not work", False),
])
def test_yes_no_questions_are_told_from_answers(text: str, question: bool) -> None:
    assert yes_no_question(text) is question


def test_a_mispress_and_a_question_mark() -> None:
    assert mispressed("thôi chết, tôi bấm nhầm") and mispressed("thoi chet toi bam nham")
    assert not mispressed("thôi") and not mispressed("thôi, không làm nữa")
    assert asks("xong rồi?") and not asks("xong rồi")


def test_a_yes_word_asked_as_a_question_keeps_the_step(ctx: Context) -> None:
    state = at(ctx, "vneid_install", 1)
    out = advance(ctx, state, said("affirm", "xong rồi à?"))
    assert (out.state.flow, out.state.step) == (state.flow, state.step)
    assert out.replies[-1].text.startswith("Bước 2/")
    assert advance(ctx, state, said("affirm", "xong rồi")).state.step != state.step


def test_a_yes_no_question_about_another_task_offers_it_and_keeps_the_step(ctx: Context) -> None:
    state = at(ctx, "vneid_register")
    out = advance(ctx, state, said("vneid_nfc_problem", "khong co the chip thi co lam duoc khong?"))
    assert (out.state.flow, out.state.step) == (state.flow, state.step)
    assert "flow:vneid_nfc_problem" in payloads(out) and "resume" in payloads(out)


def test_another_task_pauses_the_guide_and_is_offered_back_when_the_new_one_ends(ctx: Context) -> None:
    state = at(ctx, "vneid_install", 1)
    out = advance(ctx, state, said("pay_qr", "trả tiền bằng mã QR thế nào"))
    assert out.state.flow == "pay_qr" and out.state.paused == ("vneid_install/search",)
    state = out.state
    for _ in ctx.library.flows["pay_qr"].steps:
        out = advance(ctx, state, Pressed("done"))
        state = out.state
    assert state.flow is None and "resume:vneid_install" in payloads(out)
    assert any("Bước 2/4" in label for label in labels(out))
    back = advance(ctx, state, Pressed("resume:vneid_install"))
    assert (back.state.flow, back.state.step, back.state.paused) == ("vneid_install", "search", ())
    assert back.replies[-1].text.startswith("Bước 2/4")


def test_saying_lam_tiep_after_another_task_offers_both_or_resumes(ctx: Context) -> None:
    state = advance(ctx, at(ctx, "vneid_install", 1), said("pay_utility_bill")).state
    both = advance(ctx, state, said("resume_guide", "quay lại bước đang làm"))
    assert {"resume", "resume:vneid_install"} <= set(payloads(both)) and both.state == state
    alone = advance(ctx, advance(ctx, state, Pressed("cancel")).state, said("resume_guide", "làm tiếp"))
    assert alone.state.flow == "pay_utility_bill"  # the most recent first: the one just stopped


def test_asking_for_a_paused_guide_again_resumes_it_at_its_step(ctx: Context) -> None:
    state = advance(ctx, at(ctx, "vneid_integrate_docs", 1), said("birth_registration")).state
    out = advance(ctx, state, said("vneid_integrate_docs", "tiếp tục việc tích hợp bằng lái"))
    assert out.state.flow == "vneid_integrate_docs" and out.state.step == state.paused[0].partition("/")[2]
    assert out.state.paused == (f"birth_registration/{state.step}",)  # the one left for it waits in turn
    again = advance(ctx, out.state, Pressed("restart:vneid_integrate_docs"))
    assert again.state.step == ctx.library.flows["vneid_integrate_docs"].steps[0].id


def test_cancel_keeps_the_guide_and_lam_tiep_brings_it_back(ctx: Context) -> None:
    state = at(ctx, "judicial_record", 2)
    stopped = advance(ctx, state, said("cancel", "thôi"))
    assert stopped.state.flow is None and "resume" in payloads(stopped)
    assert "Làm tiếp" in labels(stopped)
    for event in (Pressed("resume"), said("resume_guide", "làm tiếp")):
        back = advance(ctx, stopped.state, event)
        assert (back.state.flow, back.state.step) == (state.flow, state.step)
        assert back.replies[-1].text.startswith("Bước 3/")


def test_a_mispress_exclamation_stops_nothing(ctx: Context) -> None:
    state = at(ctx, "vneid_register", 1)
    out = advance(ctx, state, said("cancel", "thôi chết, tôi bấm nhầm"))
    assert (out.state.flow, out.state.step) == (state.flow, state.step)
    assert not any(isinstance(e, fx.Track) and e.kind == "cancel" for e in out.effects)


def test_lam_tiep_after_a_side_answer_is_the_same_step_not_done(ctx: Context) -> None:
    state = at(ctx, "vneid_install", 1)
    side = advance(ctx, state, said("digital_skills_class"))
    out = advance(ctx, side.state, said("resume_guide", "làm tiếp"))
    assert out.state.step == state.step and out.replies[-1].text.startswith("Bước 2/4")


def test_nothing_to_resume_says_so(ctx: Context) -> None:
    out = advance(ctx, DialogueState(), said("resume_guide", "tiếp tục"))
    assert "không có hướng dẫn nào đang làm dở" in out.replies[0].text and out.state.flow is None


def test_the_ladder_gives_each_fix_then_offers_a_person_without_forcing(ctx: Context) -> None:
    flow = ctx.library.flows["vneid_install"]
    state = at(ctx, "vneid_install")
    fixes = flow.steps[0].fixes
    assert fixes
    for n, fix in enumerate(fixes):
        out = advance(ctx, state, Pressed("stuck"))
        state = out.state
        assert ctx.catalogs.get("vi")(fix) in out.replies[-1].text, n
        assert "stuck" in payloads(out)
    out = advance(ctx, state, Pressed("stuck"))
    assert not any(isinstance(e, fx.Handoff) for e in out.effects)
    assert {"retry", "human:stuck"} <= set(payloads(out)) and "Thử tiếp" in labels(out)
    assert (out.state.flow, out.state.step) == ("vneid_install", flow.steps[0].id)
    again = advance(ctx, out.state, Pressed("retry"))
    assert again.state.stuck == 0 and again.replies[-1].text.startswith("Bước 1/4")
    person = advance(ctx, out.state, Pressed("human:stuck"))
    assert [e.reason for e in person.effects if isinstance(e, fx.Handoff)] == ["stuck"]


def test_a_step_with_more_fixes_shows_the_second_before_a_person(ctx: Context) -> None:
    flow, step = next((f, s) for f in ctx.library.flows.values() for s in f.steps if len(s.fixes) > 1)
    state = DialogueState().at(flow.id, step.id)
    first = advance(ctx, state, Pressed("stuck"))
    second = advance(ctx, first.state, Pressed("stuck"))
    assert second.replies[-1].text.startswith("Thử cách khác:")
    assert "retry" not in payloads(second)


@pytest.mark.parametrize(("text", "step"), [
    ("vneid báo tài khoản đã bị khoá, gọi đâu để mở", "locked"), ("my VNeID account is locked", "locked"),
    ("tôi quên passcode vneid", "pc_start"), ("quen mat khau vneid", "pw_start"),
    ("lấy lại tài khoản vneid", "which"),
])
def test_a_request_naming_its_situation_starts_at_its_step(ctx: Context, text: str, step: str) -> None:
    out = advance(ctx, DialogueState(), said("vneid_forgot_passcode", text))
    assert (out.state.flow, out.state.step) == ("vneid_forgot_passcode", step)


def test_asking_what_is_kept_shows_the_residents_data(ctx: Context) -> None:
    state = at(ctx, "pay_qr")
    out = advance(ctx, state, said("my_data", "xem thông tin của tôi"))
    assert any(isinstance(e, fx.ShowMyData) for e in out.effects) and out.state.step == state.step


def test_the_menu_also_offers_the_guide_left_half_done(ctx: Context) -> None:
    stopped = advance(ctx, at(ctx, "pay_utility_bill", 1), said("cancel", "thôi")).state
    for event in (said("help", "menu"), said("cancel", "quay lại")):
        out = advance(ctx, stopped, event)
        assert "topic:vneid" in payloads(out) and "resume:pay_utility_bill" in payloads(out)
    assert "resume:pay_utility_bill" not in payloads(advance(ctx, DialogueState(), said("help", "menu")))


def test_an_unplaced_question_mid_guide_is_taken_as_about_the_step(ctx: Context) -> None:
    state = at(ctx, "vneid_install", 1)
    question = Said(Parse("is it the app from the Ministry of Public Security?", "faq_security_questions", 0.3,
                          (("faq_security_questions", 0.3), ("stuck", 0.25))))
    out = advance(ctx, state, question)
    assert out.state.step == state.step and out.replies[-1].text.startswith("Bước 2/4")
    assert not any(p.startswith("intent:") for p in payloads(out))
    # Asked again and again, the clarifying question and then a person come as usual.
    again = advance(ctx, advance(ctx, out.state, question).state, question)
    assert "human" in payloads(again)
