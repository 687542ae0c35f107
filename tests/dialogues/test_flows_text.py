"""Guides driven by what residents type, through the real NLU model and the pipeline the web chat uses."""

from __future__ import annotations

import pytest

from bot.app import Services
from tests.fakes.driver import NO_GUIDE, Conversation, payloads, texts

STARTS = [
    ("vi", "hướng dẫn cài vneid", "vneid_install"),
    ("vi", "quét chip căn cước không được", "vneid_nfc_problem"),
    ("vi", "khong nhan duoc ma kich hoat", "vneid_activation_code"),
    ("vi", "đăng ký khai sinh cho con", "birth_registration"),
    ("vi", "co nguoi goi xung cong an bao cai app", "report_scam"),
    ("en", "how do I pay my electricity bill", "pay_utility_bill"),
]


@pytest.mark.parametrize(("language", "text", "flow"), STARTS)
async def test_a_typed_request_starts_its_guide(services: Services, language: str, text: str, flow: str) -> None:
    conv = Conversation(services, f"start-{flow}", language=language)
    replies = await conv.say(text)
    assert conv.state == (flow, 1)
    tr = services.catalogs.get(language)
    assert replies[-1].text.startswith(tr("Bước {n}/{total}", n=1, total=len(services.library.flows[flow].steps)))


async def test_typed_done_stuck_side_question_resume_and_cancel(services: Services) -> None:
    conv = Conversation(services, "typed-vi")
    await conv.say("hướng dẫn cài vneid")
    await conv.say("xong rồi")
    assert conv.state == ("vneid_install", 2)
    replies = await conv.say("không được")
    assert replies[-1].text.startswith("Cách khắc phục:\nBộ Công an chỉ có một ứng dụng VNeID.")
    replies = await conv.say("lich dich vu cong luu dong")
    assert "Xã chưa công bố lịch điểm dịch vụ công lưu động" in texts(replies)  # the shipped files have none
    assert "resume" in payloads(replies) and conv.state == ("vneid_install", 2)
    replies = await conv.press("resume")
    assert replies[-1].text.startswith("Bước 2/4")
    replies = await conv.say("thôi")
    assert "Đã dừng hướng dẫn" in texts(replies) and conv.state == NO_GUIDE


async def test_typed_in_english(services: Services) -> None:
    conv = Conversation(services, "typed-en", language="en")
    await conv.say("how do I pay my electricity bill")
    await conv.say("done")
    assert conv.state == ("pay_utility_bill", 2)
    replies = await conv.say("it does not work")
    assert replies[-1].text.startswith("How to fix it:\nWithout a bank app, pay on the EVNHANOI customer website")
    replies = await conv.say("I want to talk to a person")
    assert "Which village do you live in?" in texts(replies)
    replies = await conv.say("Kim Đường")
    assert "Request number 1, Kim Đường (former commune), is noted for" in texts(replies)  # the commune's team
