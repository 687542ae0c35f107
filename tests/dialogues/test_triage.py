"""Safety triage (issue 16): scams reported or quoted go to the scam help before anything else, victims get
the urgent steps first, a wrong transfer gets the bank, the genuine VNeID SMS is not a scam. The engine is
pure, so parses are given to it directly (the NLU's reading is set to what would mislead it)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from dialogues.engine import Context, Pressed, Resident, Said, advance
from dialogues.flows import FlowError, load_library
from dialogues.guide import SCAM_WARNING
from dialogues.knowledge import load_knowledge
from dialogues.state import DialogueState
from dialogues.triage import (
    GENUINE,
    NOT_YET,
    SCAM,
    SUSPECTED,
    VICTIM,
    WRONG_TRANSFER,
    load_rules,
    situation,
)
from dialogues.turn import Outcome
from kernel.commune import load_commune
from kernel.i18n import Catalogs
from kernel.safety import screen
from kernel.settings import ROOT, Settings
from nlu.types import Parse
from tests.fakes.services import project_library

RULES = load_rules(ROOT / "dialogues/triage.yml")
KNOWLEDGE = load_knowledge(ROOT / "dialogues/knowledge")
SAFETY = {"report_scam": {SCAM, SUSPECTED, NOT_YET, VICTIM}, "scam_victim": {VICTIM},
          "wrong_transfer": {WRONG_TRANSFER}}


def _ctx(settings: Settings, today: date | None = None) -> Context:
    return Context(library=project_library(),
                   catalogs=Catalogs(settings.locales_dir, settings.languages, settings.default_language),
                   commune=load_commune(settings.commune_dir), resident=Resident("vi"), today=today)


def _said(text: str, intent: str = "out_of_scope", confidence: float = 0.9) -> Said:
    """What the resident typed as the pipeline hands it on (redacted), with the NLU's reading."""
    return Said(Parse(screen(text).text, intent, confidence, ((intent, confidence), ("greet", 0.01))))


def _text(out: Outcome) -> str:
    return "\n".join(r.text for r in out.replies)


def _where(out: Outcome) -> tuple[str | None, str | None]:
    return out.state.flow, out.state.step


# --- the patterns alone ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("có tin nhắn từ VNeID bảo tôi gọi số 0987654321 để kích hoạt tài khoản, có phải thật không", SCAM),
    ("co nguoi goi bao tai khoan muc 2 bi loi can dong bo", SCAM),
    ("EVN thong bao: quy khach no tien dien thang 11, se bi cat dien trong hom nay. Thanh toan ngay tai "
     "http://evn-hanoi.vip/tt de tranh bi cat", SCAM),
    ("công an gọi bảo cập nhật vneid, bảo tôi bấm vào link họ gửi qua zalo", SCAM),
    ("someone called saying he is from the police and asked me to read him the code that came by SMS", SCAM),
    ("có người gọi bảo tôi trúng thưởng, muốn nhận thì chuyển trước 500 nghìn phí, chưa chuyển đâu", NOT_YET),
    ("bi lua mat 50 trieu roi", VICTIM),
    ("toi da cai app ho gui roi", VICTIM),
    ("lỡ đọc mã OTP cho nó rồi, giờ làm sao", VICTIM),
    ("chet r bi lua mat tien r, no lay het tien trong tk ngan hang", VICTIM),
    ("I was scammed, I installed the app they sent me and my bank account is empty", VICTIM),
    ("hôm qua có đứa gọi bảo tôi trúng xe SH, phải nộp 2 triệu phí, tôi nộp rồi", VICTIM),  # paid: acted
    ("me vua doc ma cho thang goi dien roi", VICTIM),
    ("I gave the code to the man on the phone, what now", VICTIM),
    ("My mother got a call from someone saying he is a police officer, he told her to install an app to update "
     "her ID, she has not installed it yet", NOT_YET),
    ("ad oi co ng nhan tin bao e trung thuong iphone, bat chuyen 500k phi ship, e ck r", VICTIM),
    ("tôi chuyển nhầm 2 triệu cho người lạ", WRONG_TRANSFER),
    # Someone "sent it by mistake" and wants it back: the fake wrong transfer, a scam (brief §5.1 pattern).
    ("có người gọi bảo chuyển nhầm tiền vào tài khoản tôi, đòi tôi chuyển trả lại cho họ", SCAM),
    ("ck nham 500k sang stk la r lam sao lay lai dc", WRONG_TRANSFER),
    ("ck nham 2tr cho ng la r lam sao bjo", WRONG_TRANSFER),  # the own transfer is not a demand for money
    ("I sent money to the wrong account by mistake, how do I get it back", WRONG_TRANSFER),
])
def test_the_patterns_alone_find_the_situation(text: str, expected: str) -> None:
    # Whatever the NLU says (here: not sure of anything), the patterns decide.
    assert situation(RULES.signals(screen(text).text), "out_of_scope", confident=False) == expected


@pytest.mark.parametrize("text", [
    "làm sao để cài ứng dụng VNeID",
    "không nhận được tin nhắn mã OTP kích hoạt",
    "đợi mã xác nhận mãi",
    "đổi mật khẩu vneid",
    "làm khai sinh có mất tiền không",
    "tự động trừ tiền điện hàng tháng",
    "thôi chết, tôi bấm nhầm",
    "Chào cháu, bác năm nay 72 tuổi rồi, con trai bác ở Hà Nội mua cho cái điện thoại mới, nó bảo bác phải cài "
    "cái ứng dụng VNeID để sau này làm giấy tờ, mà bác không biết cài ở đâu, cháu chỉ bác với",
    "Bác có cái tài khoản định danh mức 2 làm ở công an xã từ năm ngoái, giờ mở ra nó đòi mã 6 số mà bác quên "
    "mất rồi, thử mấy lần không được, giờ phải làm thế nào hả cháu",
    "Tôi muốn trả tiền hàng bằng cách quét mã QR trên điện thoại mà sợ chuyển nhầm",
    "ngân hàng nhắn tin bảo cập nhật sinh trắc học mới chuyển tiền được",
    "tôi nhận tin nhắn từ VNeID: Cuc Canh sat QLHC ve TTXH thong bao: Ho so dang ky tai khoan dinh danh dien "
    "tu cua cong dan da duoc phe duyet. Giờ làm gì tiếp?",
])
def test_ordinary_questions_are_not_safety_matters(text: str) -> None:
    assert situation(RULES.signals(screen(text).text), "out_of_scope", confident=False) is None


def test_the_genuine_approval_sms_taken_for_a_scam_gets_the_genuine_sms_answer() -> None:
    text = "tin nhan ho so dang ky tai khoan dinh danh dien tu da duoc phe duyet la that hay gia"
    assert situation(RULES.signals(text), "report_scam", confident=True) == GENUINE
    # ...but a quoted "approval" that asks to call a number is a scam after all.
    fake = "VNeID: ho so cua ban da duoc phe duyet, goi ngay so 0987654321 de kich hoat"
    assert situation(RULES.signals(screen(fake).text), "vneid_activation_code", confident=True) == SCAM


def _training_examples() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted((ROOT / "nlu/data").glob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in item:
                lines = [line[2:] for line in str(item["examples"]).splitlines() if line.startswith("- ")]
                out.setdefault(item["intent"], []).extend(
                    screen(_unmark(line)).text for line in lines)
    return out


def _about_scams(intent: str) -> bool:
    entry = KNOWLEDGE.get(intent) if intent.startswith("faq_") else None
    return entry is not None and "report_scam" in entry.flows


def _unmark(line: str) -> str:
    """"[0912345678](phone_number)" -> "0912345678" (the training data marks entities)."""
    import re
    return re.sub(r"\[([^\]]*)\](\([a-z_]+\)|\{[^}]*\})", r"\1", line)


def test_over_every_training_example_the_triage_sends_nothing_else_to_the_scam_help() -> None:
    """Every NLU example, read as the NLU reads it (confidently): safety examples reach their help,
    no other example (thousands of them: guides, facts, small talk) is taken by the triage."""
    wrong, missed = [], []
    examples = _training_examples()
    for intent, texts in examples.items():
        for text in texts:
            found = situation(RULES.signals(text), intent, confident=True)
            answer = RULES.answer_for(text, found)
            if answer is not None and (answer == intent or not _about_scams(intent)):  # as the engine does
                if answer != intent:
                    wrong.append((intent, answer, text))  # a question rule would override the NLU's reading
                continue  # a question first
            if intent in SAFETY and found not in SAFETY[intent]:
                missed.append((intent, found, text))
            elif intent not in SAFETY and found is not None:
                wrong.append((intent, found, text))
    assert sum(len(v) for v in examples.values()) > 3000
    assert not wrong, wrong[:5]
    assert not missed, missed[:5]


def test_the_held_out_messages_are_triaged_only_when_they_are_safety_matters() -> None:
    """nlu/eval/heldout.jsonl, written without the training data: nothing else reaches the scam help,
    whether the NLU reads it right or is not sure at all."""
    import json
    wrong = []
    for line in (ROOT / "nlu/eval/heldout.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        text, intent = screen(item["text"]).text, item["intent"]
        if intent in SAFETY:
            assert situation(RULES.signals(text), intent, confident=True) in SAFETY[intent], item["text"]
            continue
        taken = situation(RULES.signals(text), intent, confident=True)
        alone = situation(RULES.signals(text), "out_of_scope", confident=False)
        if taken is not None or alone in (SCAM, VICTIM, WRONG_TRANSFER, NOT_YET):
            wrong.append((intent, taken, alone, item["text"]))
    assert not wrong, wrong[:5]


def test_the_patterns_alone_find_most_victims_and_every_wrong_transfer() -> None:
    """Without the NLU's help: victims and wrong transfers are recognised by the patterns (the NLU only
    adds to them), and a victim is never taken for a mere question."""
    examples = _training_examples()
    for intent, at_least in (("scam_victim", 1.0), ("wrong_transfer", 1.0), ("report_scam", 0.7)):
        found = [situation(RULES.signals(t), "out_of_scope", confident=False) for t in examples[intent]]
        share = sum(f in SAFETY[intent] for f in found) / len(found)
        assert share >= at_least, (intent, share)


# --- through the engine ---------------------------------------------------------------------------

def test_a_quoted_scam_sms_goes_to_the_scam_help_not_to_the_guide_it_names(settings: Settings) -> None:
    out = advance(_ctx(settings), DialogueState(), _said(
        "có tin nhắn từ VNeID bảo tôi gọi số 0987654321 để kích hoạt tài khoản, có phải thật không",
        "vneid_activation_code"))
    assert _where(out) == ("report_scam", "acted")
    text = _text(out)
    assert "Đây là lừa đảo" in text and "vneid.gov.vn" in text  # plainly, and what the genuine one says
    assert "Bạn đã làm theo lời họ chưa" in out.replies[-1].text
    assert SCAM_WARNING not in text  # the opening fits the report, not the generic warning


def test_in_the_middle_of_a_guide_a_scam_call_takes_over(settings: Settings) -> None:
    ctx = _ctx(settings)
    state = advance(ctx, DialogueState(), Pressed("flow:pay_utility_bill")).state
    assert state.flow == "pay_utility_bill"
    out = advance(ctx, state, _said("đang làm thì có người gọi bảo là nhân viên điện lực, đọc mã OTP cho họ để "
                                    "hoàn tiền", "pay_utility_bill"))
    assert out.state.flow == "report_scam" and "OTP" in _text(out)


def test_a_victim_gets_the_urgent_steps_first_without_a_lecture(settings: Settings) -> None:
    out = advance(_ctx(settings), DialogueState(), _said("bi lua mat 50 trieu roi", "report_scam"))
    assert _where(out) == ("scam_victim", "offline")
    text = _text(out)
    assert "Bạn làm đúng khi hỏi lại trước" not in text and "chế độ máy bay" in text
    assert SCAM_WARNING not in text


def test_not_yet_says_plainly_it_is_a_scam_and_how_to_check(settings: Settings) -> None:
    out = advance(_ctx(settings), DialogueState(), _said(
        "có người gọi bảo tôi trúng thưởng, muốn nhận thì chuyển trước 500 nghìn phí, chưa chuyển đâu"))
    assert _where(out) == ("report_scam", "hang_up")
    text = _text(out)
    assert "Đây là lừa đảo, bạn đừng làm theo" in text and "công an xã" in text and "máy bay" not in text


def test_the_question_whether_they_acted_is_answered_by_typing(settings: Settings) -> None:
    ctx = _ctx(settings)
    asked = advance(ctx, DialogueState(), _said("công an gọi bảo cập nhật vneid", "report_scam")).state
    assert (asked.flow, asked.step) == ("report_scam", "acted")
    assert _where(advance(ctx, asked, _said("chưa", "deny"))) == ("report_scam", "hang_up")
    assert _where(advance(ctx, asked, _said("rồi", "affirm"))) == ("scam_victim", "offline")
    assert _where(advance(ctx, asked, _said("chưa làm gì cả", "out_of_scope"))) == ("report_scam", "hang_up")
    assert _where(advance(ctx, asked, _said("tôi chuyển tiền rồi", "pay_qr"))) == ("scam_victim", "offline")
    told = advance(ctx, asked, _said("tôi đã cài cái ứng dụng họ gửi rồi, giờ tài khoản ngân hàng mất hết tiền",
                                     "vneid_install"))
    assert _where(told) == ("scam_victim", "offline")


def test_a_victim_stays_on_the_urgent_steps(settings: Settings) -> None:
    ctx = _ctx(settings)
    state = advance(ctx, DialogueState(), _said("toi da cai app ho gui roi", "scam_victim")).state
    again = advance(ctx, state, _said("có người gọi bảo cập nhật vneid qua link", "report_scam"))
    assert _where(again) == ("scam_victim", "offline")


def test_done_in_a_payment_guide_is_not_a_scam(settings: Settings) -> None:
    ctx = _ctx(settings)
    state = advance(ctx, DialogueState(), Pressed("flow:pay_qr")).state
    out = advance(ctx, state, _said("tôi đã chuyển rồi", "affirm", 0.85))
    assert out.state.flow == "pay_qr" and out.state.step != state.step


def test_a_wrong_transfer_gets_the_bank_first(settings: Settings) -> None:
    out = advance(_ctx(settings), DialogueState(), _said("tôi chuyển nhầm 2 triệu cho người lạ", "pay_qr"))
    assert _where(out) == ("wrong_transfer", "call_bank") and "ngân hàng" in out.replies[-1].text


def test_the_scam_warning_comes_once_a_conversation(settings: Settings) -> None:
    ctx = _ctx(settings, today=date(2026, 12, 7))
    first = advance(ctx, DialogueState(), Pressed("flow:vneid_install"))
    assert SCAM_WARNING in _text(first)
    stopped = advance(ctx, first.state, Pressed("cancel")).state
    second = advance(ctx, stopped, Pressed("flow:pay_utility_bill"))
    assert ctx.library.flows["pay_utility_bill"].scam_warning and SCAM_WARNING not in _text(second)
    next_day = _ctx(settings, today=date(2026, 12, 8))
    stopped = advance(next_day, second.state, Pressed("cancel")).state
    assert SCAM_WARNING in _text(advance(next_day, stopped, Pressed("flow:vneid_install")))


def test_questions_about_scams_get_their_answer_not_the_scam_help(settings: Settings) -> None:
    ctx = _ctx(settings)
    out = advance(ctx, DialogueState(), _said("so nao de bao cuoc goi lua dao", "report_scam", 0.43))
    assert out.state.flow is None and "156" in _text(out) and "5656" in _text(out)
    # The NLU took it for another fact: the question's own words decide.
    out = advance(ctx, DialogueState(), _said("công an có hướng dẫn kích hoạt vneid qua điện thoại không",
                                              "faq_activate_on_computer", 0.64))
    assert out.state.flow is None and "không bao giờ qua điện thoại" in _text(out)
    # The NLU already found a fact about scams: it is kept.
    out = advance(ctx, DialogueState(), _said("What is the police number to report fraud?", "faq_police_hotline"))
    assert "069.234.8560" in _text(out)


def test_a_broken_triage_file_stops_start_up_naming_it(settings: Settings, tmp_path: Path) -> None:
    import shutil
    shutil.copytree(settings.flows_dir, tmp_path / "flows")
    (tmp_path / "triage.yml").write_text("victim: ['(unclosed']\n", encoding="utf-8")
    with pytest.raises(FlowError, match="triage.yml"):
        load_library(tmp_path / "flows")
