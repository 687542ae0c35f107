"""Attachments reach the core as their kind only; the core answers politely and stores nothing."""

from __future__ import annotations

import pytest

from bot.app import Services
from bot.storage.residents import Residents
from kernel.messages import Incoming, ResidentKey


async def test_contact_is_answered_in_the_saved_language_and_leaves_no_row(services: Services) -> None:
    who = ResidentKey("telegram", "501")
    result = await services.pipeline.handle(Incoming(who, attachment="contact", message_id="tg:1"))
    [reply] = result.replies
    assert "không lưu lại" in reply.text
    assert await services.store.find(who) is None  # no resident row, no message log

    await services.pipeline.handle(Incoming(who, payload="lang:en"))
    assert await Residents(services.store).language(who) == "en"
    english = await services.pipeline.handle(Incoming(who, attachment="location"))
    assert english.replies[0].text == services.catalogs.get("en")(
        "Cảm ơn bạn. Trợ lý không cần số điện thoại hay vị trí của bạn và không lưu lại. "
        "Bạn cứ nhắn câu hỏi bằng chữ nhé.")


async def test_media_gets_the_text_only_answer_of_its_channel(services: Services) -> None:
    telegram = await services.pipeline.handle(Incoming(ResidentKey("telegram", "502"), attachment="media",
                                                       platform_language="en"))
    assert telegram.replies[0].text == services.catalogs.get("en")(
        "Trợ lý chỉ đọc được tin nhắn chữ. Bạn nhắn câu hỏi bằng chữ hoặc chọn chủ đề nhé.")
    zalo = await services.pipeline.handle(Incoming(ResidentKey("zalo", "502"), attachment="contact"))
    assert "chỉ đọc được tin nhắn chữ" in zalo.replies[0].text


def test_an_incoming_has_exactly_one_thing_of_a_known_kind() -> None:
    who = ResidentKey("web", "u")
    with pytest.raises(ValueError):
        Incoming(who, text="a", attachment="media")
    with pytest.raises(ValueError):
        Incoming(who, attachment="pdf")


async def test_forgetting_is_flagged_to_the_channel(services: Services) -> None:
    who = ResidentKey("zalo", "503")
    first = await services.pipeline.handle(Incoming(who, text="xin chào"))
    assert not first.forgotten
    result = await services.pipeline.handle(Incoming(who, payload="forget:yes"))
    assert result.forgotten and await services.store.find(who) is None
