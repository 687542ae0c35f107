"""Every guide walked through the pipeline the web chat uses, by button, in both languages:
every step, every troubleshooting branch, completion, cancel, a person, and coming back after a side question."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.app import Services
from bot.handoff.models import Case
from dialogues.guide import SCAM_WARNING
from kernel.i18n import Translator
from kernel.settings import Settings, replace
from tests.fakes.driver import (
    NO_GUIDE,
    Conversation,
    assistant,
    payloads,
    presses_to,
    presses_to_end,
    texts,
)

LANGUAGES = ("vi", "en")


@pytest_asyncio.fixture
async def guides(settings: Settings, database_url: str) -> AsyncIterator[Services]:
    """The real assistant on SQLite and on PostgreSQL, driven by buttons only."""
    async with assistant(replace(settings, database_url=database_url)) as services:
        yield services


async def _resident(services: Services, user: str, language: str, village: str | None = "dai-cuong") -> Conversation:
    conv = Conversation(services, user, language=language)
    if village:
        await conv.press(f"village:{village}")
    return conv


@pytest.mark.slow  # end to end: every step of every guide, both databases
@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_guide_every_step_and_every_troubleshooting(guides: Services, language: str) -> None:
    tr: Translator = guides.catalogs.get(language)
    vi = guides.catalogs.get("vi")
    assert len(guides.library.flows) == 27
    for flow in guides.library.flows.values():
        conv = await _resident(guides, f"walk-{flow.id}-{language}", language)
        total = len(flow.steps)
        for n, step in enumerate(flow.steps, 1):
            # Each step reached from the start of the guide by the buttons a resident would press (after
            # "Thôi" the guide waits at its step: "Làm lại từ đầu" starts it over).
            replies = await conv.press(f"flow:{flow.id}" if n == 1 else f"restart:{flow.id}")
            opening = replies[0].text
            assert opening.startswith(tr(flow.title))
            if flow.intro:
                assert tr(flow.intro) in opening
            # The scam warning opens the first guide that has one, once a conversation (issue 16).
            assert (tr(SCAM_WARNING) in opening) == (flow.scam_warning and n == 1)
            for payload in presses_to(flow, step.id):
                replies = await conv.press(payload)
            shown = replies[-1]
            assert shown.text == tr("Bước {n}/{total}", n=n, total=total) + ": " + tr(step.text), flow.id
            if language != "vi":
                assert tr(step.text) != vi(step.text), f"{flow.id}/{step.id} is not translated"
            assert conv.state == (flow.id, n)
            # Done (or the step's choices), stuck, a person and cancel at every step.
            moves = {f"go:{c.next}" for c in step.choices} or {"done"}
            assert moves | {"stuck", "human", "cancel"} <= set(payloads([shown])), flow.id
            for choice in step.choices:
                assert tr(choice.label) in [b.label for b in shown.flat_buttons()]
            replies = await conv.press("stuck")
            assert step.troubleshoot, f"{flow.id}/{step.id} has no troubleshooting"
            assert replies[-1].text == tr("Cách khắc phục:") + "\n" + tr(step.troubleshoot)
            assert {"done", "stuck", "human", "cancel"} <= set(payloads(replies))
            assert conv.state == (flow.id, n)  # troubleshooting keeps the resident at the step
            await conv.press("cancel")
        await conv.press(f"restart:{flow.id}")
        for payload in presses_to_end(flow):
            replies = await conv.press(payload)
        assert replies[-1].text == "✅ " + tr(flow.done)
        assert conv.state == NO_GUIDE


async def test_a_choice_can_lead_into_another_guide(guides: Services) -> None:
    """"Tôi đã làm theo" in the scam guide opens the victim's urgent steps at their first step."""
    conv = await _resident(guides, "link", "vi")
    await conv.press("flow:report_scam")
    replies = await conv.press("go:flow:scam_victim")
    assert conv.state == ("scam_victim", 1)
    assert replies[0].text.startswith("Đã bị lừa") and replies[-1].text.startswith("Bước 1/6")
    # A level-2 resident with no account yet continues in the registration guide at its activation step.
    await conv.press("flow:vneid_level2")
    for payload in presses_to(guides.library.flows["vneid_level2"], "account"):
        await conv.press(payload)
    replies = await conv.press("go:flow:vneid_register/activate")
    register = guides.library.flows["vneid_register"]
    assert conv.state == ("vneid_register", register.index("activate") + 1)
    assert "Kích hoạt tài khoản" in replies[-1].text


@pytest.mark.parametrize("language", LANGUAGES)
async def test_still_stuck_after_troubleshooting_reaches_the_village_team(guides: Services, language: str) -> None:
    tr = guides.catalogs.get(language)
    conv = await _resident(guides, f"stuck-{language}", language, village=None)
    await conv.press("flow:vneid_nfc_problem")
    await conv.press("done")
    await conv.press("stuck")
    replies = await conv.press("stuck")  # still stuck: a person is offered beside "Thử tiếp", never forced
    assert {"retry", "human:stuck"} <= set(payloads(replies)) and conv.state == ("vneid_nfc_problem", 2)
    replies = await conv.press("human:stuck")  # chosen: the assistant needs the village first
    assert tr("Bạn ở thôn nào? Chọn bên dưới hoặc nhắn tên thôn.") in texts(replies)
    assert "village:dong-lo" in payloads(replies)
    replies = await conv.press("village:dong-lo")
    # Đông Lỗ has no team of its own: the commune's team gets the case. Nobody is on duty at a desk or in a
    # Telegram group, so the resident is told so, with the team's place, and no promise of an answer here.
    async with guides.store.session() as s:
        case = (await s.execute(select(Case))).scalars().one()
    team = guides.commune.current().teams.get("commune")
    assert case.team == "commune" and case.village == "dong-lo" and team is not None
    said = tr("Đã ghi lại yêu cầu số {case} ({place}) cho {team}. Hiện chưa có ai của tổ trực để trả lời bạn tại "
              "đây, nên bạn hãy liên hệ tổ trực tiếp.", case=case.id, place=tr("xã cũ {unit}", unit="Đông Lỗ"),
              team=team.text("name", language))
    place = tr("Gặp tổ tại: {place}", place=team.text("contact", language))
    hotline = tr("Việc về tài khoản VNeID cũng có thể hỏi tổng đài VNeID 1900 0368 (bấm phím 4).")
    assert f"{said}\n{place}\n{hotline}" in texts(replies)  # a VNeID guide: the VNeID hotline too
    resident = await guides.store.find(conv.who)
    assert resident is not None and resident.village == "dong-lo"


async def test_cancel_at_any_step_stops_the_guide(guides: Services) -> None:
    for flow in guides.library.flows.values():
        conv = await _resident(guides, f"cancel-{flow.id}", "vi")
        await conv.press(f"flow:{flow.id}")
        last = len(flow.steps)
        for payload in presses_to(flow, flow.steps[-1].id):
            await conv.press(payload)
        assert conv.state == (flow.id, last)
        replies = await conv.press("cancel")
        assert "Đã dừng hướng dẫn" in texts(replies)
        assert conv.state == NO_GUIDE
        assert "topic:vneid" in payloads(replies)


async def test_a_side_question_mid_guide_then_back_to_the_same_step(guides: Services) -> None:
    conv = await _resident(guides, "side", "vi")
    await conv.press("flow:portal_submit")
    await conv.press("done")
    await conv.press("done")
    assert conv.state == ("portal_submit", 3)
    replies = await conv.press("intent:mobile_service_schedule")
    assert "Xã chưa công bố lịch điểm dịch vụ công lưu động" in texts(replies)  # the shipped files have none
    assert "Bạn đang làm dở hướng dẫn “Nộp hồ sơ trực tuyến”." in texts(replies)
    assert "resume" in payloads(replies)
    replies = await conv.press("resume")
    assert replies[-1].text.startswith("Bước 3/7: Điền tờ khai.")
    assert conv.state == ("portal_submit", 3)
    # A side answer that first asks for the village still comes back to the guide.
    await conv.press("ask:contact_support_team")
    replies = await conv.press("village:dai-hung")
    assert "Tổ công nghệ số xã Ứng Hòa" in texts(replies) and "resume" in payloads(replies)
    assert conv.state == ("portal_submit", 3)
    # Another guide started in the middle replaces the first one.
    await conv.press("flow:pay_qr")
    assert conv.state == ("pay_qr", 1)


async def test_a_person_from_any_guide_step(guides: Services) -> None:
    conv = await _resident(guides, "human", "en")
    await conv.press("flow:epay_setup")
    await conv.press("done")
    replies = await conv.press("human")
    said = texts(replies)
    assert "Request number 1, Đại Cường (former commune)," in said  # a case, whatever is set up
    assert "Nobody from the team is on duty" in said
    assert "will answer" not in said  # no group, no desk account: nobody is promised


async def test_a_stale_button_is_answered_politely_and_changes_nothing(guides: Services) -> None:
    conv = await _resident(guides, "stale", "vi")
    await conv.press("flow:pay_qr")
    for stale in ("go:nowhere", "topic:nope", "village:atlantis", "lang:fr", "sub:maybe", "ask:greet"):
        replies = await conv.press(stale)
        assert "Nút này đã cũ" in texts(replies), stale
        assert conv.state == ("pay_qr", 1)
