"""What the guides say, checked against the brief (issue 15): plain steps, facts with their source id,
jargon explained on first use, no invented commune data, and each point of the review as a case."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import Services
from dialogues import content
from dialogues.guide import SCAM_WARNING
from dialogues.validate import (
    check_answer_sources,
    check_content,
    load_catalogs,
    validate,
)
from kernel.settings import ROOT, Settings
from nlu.intents import TASKS, VARIANT_TASKS
from tests.fakes.driver import Conversation, assistant, payloads, presses_to, texts
from tests.fakes.services import project_library

LIBRARY = project_library()
CATALOGS = load_catalogs(ROOT / "locales", ("vi", "en"))
BRIEF = Path("/work/shared/domain/brief.md")


@pytest_asyncio.fixture
async def guides(settings: Settings) -> AsyncIterator[Services]:
    async with assistant(settings) as services:
        yield services


def _shown(flow_id: str, language: str) -> list[tuple[str, str]]:
    """(where, text) for everything a guide shows, in the language's words."""
    flow, catalog = LIBRARY.flows[flow_id], CATALOGS[language]
    out = [("title", flow.title), ("intro", flow.intro or ""), ("done", flow.done)]
    for s in flow.steps:
        out += [(s.id, s.text), (f"{s.id} troubleshooting", s.troubleshoot or "")]
    return [(where, catalog.get(text, text)) for where, text in out if text]


# --- the walk over every guide, in both languages -------------------------------------------------

@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_guide_is_plain_sourced_and_explains_its_words(language: str) -> None:
    problems = check_content(LIBRARY, {language: CATALOGS[language]})
    assert not problems, "\n".join(map(str, problems[:10]))
    for flow in LIBRARY.flows.values():
        assert flow.sources, flow.id
        for step in flow.steps:
            assert step.sources, f"{flow.id}/{step.id} has no source id"  # every step, not only numbers
        for where, text in _shown(flow.id, language):
            assert content.sentences(text) <= 3, (flow.id, where, text)


def test_the_checks_catch_each_kind_of_problem(tmp_path: Path) -> None:
    flows, locales = tmp_path / "flows", tmp_path / "locales"
    shutil.copytree(ROOT / "dialogues/flows", flows)
    shutil.copytree(ROOT / "locales", locales)
    path = flows / "vneid_activation_code.yml"
    text = path.read_text(encoding="utf-8")
    # A phone number whose source is dropped, and a fourth sentence.
    text = text.replace("    source: [S12]\n", "")
    text = text.replace("Kiểm tra sóng điện thoại và hộp tin nhắn. Xem cả mục tin nhắn rác và tin nhắn bị chặn.",
                        "Kiểm tra sóng. Xem hộp tin nhắn. Xem tin nhắn rác. Xem tin nhắn bị chặn.")
    path.write_text(text, encoding="utf-8")
    # NFC named before its explanation, and "Xong rồi" used to skip a step.
    path = flows / "vneid_nfc_problem.yml"
    text = path.read_text(encoding="utf-8").replace(
        "Trên máy Android, vào Cài đặt, tìm NFC (chức năng đọc chip khi áp thẻ vào lưng điện thoại) và bật lên.",
        "Bật NFC trong Cài đặt. Máy đã bật sẵn thì bấm “Xong rồi”.")
    path.write_text(text, encoding="utf-8")
    joined = "\n".join(str(p) for p in validate(flows, locales, ("vi", "en"), 600))
    assert ("step 'police' troubleshooting (vi): states a number, fee, hour or phone number without a source id"
            in joined)
    assert "step 'signal' (vi): 4 sentences, more than 3" in joined
    assert "step 'nfc_on' (vi): uses 'NFC' before explaining it" in joined
    assert "uses “Xong rồi” to skip a step" in joined
    assert "not translated in the 'en' catalog" in joined  # the changed texts need English too


def test_a_choice_path_must_explain_a_word_on_every_way_in(tmp_path: Path) -> None:
    """The passcode path of the forgotten-code guide skips the step that explains the ID number."""
    flow = LIBRARY.flows["vneid_forgot_passcode"]
    terms = content.load_glossary()
    vi = CATALOGS["vi"]
    assert content.check_glossary(flow, {flow.steps[0].id}, terms, "vi", lambda t: vi.get(t, t), vi[SCAM_WARNING]) == []
    # Without the scam warning's glosses, "passcode" in the first step is unexplained.
    found = content.check_glossary(flow, {flow.steps[0].id}, terms, "vi", lambda t: vi.get(t, t), "")
    assert any("passcode" in message for _, message in found)


def test_answer_messages_with_numbers_need_a_source(tmp_path: Path) -> None:
    assert check_answer_sources() == []
    (tmp_path / "extra.py").write_text('N_("Gọi 1900 0000 để được giúp.")\nN_("Không có số nào ở đây.")\n',
                                       encoding="utf-8")
    problems = [str(p) for p in check_answer_sources(tmp_path)]
    assert len(problems) == 1 and "1900 0000" in problems[0]


def test_source_ids_are_the_briefs() -> None:
    used = {i for f in LIBRARY.flows.values() for i in (*f.sources, *(x for s in f.steps for x in s.sources))}
    assert used <= content.BRIEF_IDS
    if BRIEF.exists():  # the shared brief is beside the checkout on the team's machines
        brief = BRIEF.read_text(encoding="utf-8")
        for source in content.BRIEF_IDS - {"GK"}:
            assert re.search(rf"\b{source}\b", brief), source


# --- the review's points, through the real pipeline -----------------------------------------------

async def test_a_victim_who_paid_but_installed_nothing_reaches_the_call_to_the_bank(guides: Services) -> None:
    conv = Conversation(guides, "paid-only")
    replies = await conv.press("flow:report_scam")
    assert "Bạn làm đúng khi hỏi lại trước" not in texts(replies)
    assert {"go:flow:scam_victim", "go:hang_up"} <= set(payloads(replies))
    replies = await conv.press("go:flow:scam_victim")  # "Tôi đã làm theo"
    assert conv.state == ("scam_victim", 1) and "chế độ máy bay" in replies[-1].text
    replies = await conv.press("go:call_bank")  # "Tôi chỉ chuyển tiền, không cài gì"
    assert conv.state == ("scam_victim", 2)
    assert "gọi ngay tổng đài ngân hàng" in replies[-1].text and "điện thoại khác" in replies[-1].text
    # Then the police, 156/5656 with the SMS format, and a person: in the brief's order (§5.3–5.4).
    said = []
    for _ in range(4):
        said.append((await conv.press("done"))[-1].text)
    assert "công an xã" in said[0]
    assert "156" in said[1] and "5656" in said[1] and "LD <số điện thoại> <nội dung>" in said[1]
    assert "Gặp người hỗ trợ" in said[3] and "human" in payloads(await conv.press("stuck"))


async def test_the_schedule_answer_says_plainly_that_no_dates_are_confirmed(guides: Services) -> None:
    for language, expected in (("vi", "Xã chưa công bố lịch điểm dịch vụ công lưu động"),
                               ("en", "The commune has not published a schedule")):
        conv = Conversation(guides, f"sched-{language}", language=language)
        text = texts(await conv.press("intent:mobile_service_schedule"))
        assert expected in text and "dichvucong.hanoi.gov.vn" in text
        assert not re.search(r"\d{1,2}/\d{1,2}|\d{1,2}:\d{2}", text)  # no invented day or hour
        text = texts(await conv.press("intent:digital_skills_class"))
        assert not re.search(r"\d{1,2}/\d{1,2}|\d{1,2}:\d{2}", text) and "miễn phí" not in text
    conv = Conversation(guides, "sched-vi-2")
    assert "Điểm phục vụ hành chính công của xã" in texts(await conv.press("intent:mobile_service_schedule"))


async def test_after_a_borrowed_phone_the_guide_says_to_unlink_it(guides: Services) -> None:
    conv = Conversation(guides, "borrow")
    nfc = guides.library.flows["vneid_nfc_problem"]
    await conv.press("flow:vneid_nfc_problem")
    for payload in presses_to(nfc, "borrow"):
        replies = await conv.press(payload)
    assert "mượn điện thoại có NFC" in replies[-1].text
    replies = await conv.press("done")
    assert "Cá nhân → Quản lý thiết bị → Hủy liên kết" in replies[-1].text
    # A phone without NFC is told about the QR code on the card.
    assert "mã QR trên thẻ căn cước" in CATALOGS["vi"][nfc.step("qr").text]
    change = guides.library.flows["vneid_change_device"]
    assert "Hủy liên kết máy cũ hoặc máy đã mượn" in change.step("unlink").text


async def test_submit_first_then_pay_inside_the_portal(guides: Services) -> None:
    for flow_id, submit, pay in (("portal_submit", "submit", "pay"), ("pay_public_fee", "submit_first", "pay_button")):
        flow = guides.library.flows[flow_id]
        assert flow.index(submit) < flow.index(pay), flow_id
        before = " ".join(s.text for s in flow.steps[:flow.index(submit)])
        assert "trả" not in before and "thanh toán" not in before, flow_id
    conv = Conversation(guides, "pay")
    replies = await conv.press("flow:pay_public_fee")
    assert "Chỉ trả phí ở bước thanh toán của chính cổng dịch vụ công" in replies[0].text
    assert replies[-1].text.startswith("Bước 1/5: Nộp hồ sơ trước")
    replies = await conv.press("done")
    assert "Sau khi nộp" in replies[-1].text


async def test_a_lost_or_stolen_phone_starts_with_locking_the_account(guides: Services) -> None:
    conv = Conversation(guides, "stolen")
    replies = await conv.press("flow:vneid_change_device")
    lost = next(b for b in replies[-1].flat_buttons() if b.label == "Máy bị mất hoặc bị trộm")
    replies = await conv.press(lost.payload)
    assert conv.state == ("vneid_change_device", 2) and replies[-1].text.startswith("Bước 2/7: Khoá ngay tài khoản")
    replies = await conv.press("stuck")
    assert "1900 0368 (bấm phím 4)" in replies[-1].text


def test_the_reviewed_wording_and_facts() -> None:
    vi, en = CATALOGS["vi"], CATALOGS["en"]
    every = {fid: " ".join(t for _, t in _shown(fid, "vi")) for fid in LIBRARY.flows}
    everything = " ".join(every.values())
    # Places as the brief names them; nothing unsourced stated as fact.
    for wrong in ("trung tâm phục vụ hành chính công", "113", "tạm vắng", "Trên iPhone không cần bật"):
        assert wrong not in everything, wrong
    assert "số định danh và mật khẩu" not in every["portal_login"]  # the QR login only (§3.1)
    # The warning names the passcode and bank PIN, and English tells password and passcode apart.
    assert "passcode" in vi[SCAM_WARNING] and "PIN" in vi[SCAM_WARNING]
    assert "password" in en[SCAM_WARNING] and "passcode" in en[SCAM_WARNING]
    # The facts the review found missing, where a resident needs them.
    needed = {
        "vneid_change_device": ["1900 0368 (bấm phím 4)", "Khoá ngay"],
        "vneid_forgot_passcode": ["1900 0368 (bấm phím 4)", "bị khoá"],
        "judicial_record": ["200.000 đồng", "10 ngày làm việc", "miễn lệ phí"],
        "birth_registration": ["3 ngày làm việc", "5 ngày"],
        "vneid_register": ["2 câu hỏi bảo mật", "máy tính tại vneid.gov.vn"],
        "epay_setup": ["hết hạn", "chứng minh nhân dân cũ"],
        "pay_public_fee": ["hết hạn", "bạn tự mở"],
        "report_scam": ["5656", "LD <số điện thoại> <nội dung>"],
        "guest_stay": ["Bấm Lưu, rồi bấm Gửi yêu cầu."],
        "pay_utility_bill": ["EVNHANOI", "Tiện ích → Điện lực → mã khách hàng", "tự trích tiền"],
        "portal_submit": ["bưu điện", "miễn phí"],
        "vneid_install": ["nguồn không xác định"],
        "pay_qr": ["bạn tự mở"],
    }
    for fid, facts in needed.items():
        for fact in facts:
            assert fact in every[fid], (fid, fact)
    # English: the hospital's paper and the resulting certificate are different things.
    birth = LIBRARY.flows["birth_registration"]
    assert "birth notice" in en[birth.step("prepare").text] and "birth certificate" in en[birth.intro or ""]
    assert "tidy" not in en[LIBRARY.flows["ihanoi_feedback"].done]


def test_the_new_guides_are_named_as_agreed_short_and_in_the_menu() -> None:
    listed = {f for tp in LIBRARY.topics for f in tp.flows}
    for name in VARIANT_TASKS:
        flow = LIBRARY.flows[name]
        assert 3 <= len(flow.steps) <= 6, name
        assert name in listed and name not in TASKS
    victim = [s.id for s in LIBRARY.flows["scam_victim"].steps]
    assert victim == ["offline", "call_bank", "police", "report", "passwords", "person"]
