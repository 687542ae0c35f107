"""Typed answers (issue 16): on every channel a number answers the numbered buttons of the last reply, the
same as pressing the button; a number with no such button is read as text. Through the real pipeline."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Services
from bot.pipeline import CHOICES_KEPT
from bot.storage.db import Conversation as StoredConversation
from kernel.text import chosen_number
from tests.fakes.driver import Conversation, payloads, texts


def test_a_typed_number_is_read_in_the_usual_spellings() -> None:
    assert [chosen_number(t) for t in ("1", "2.", " 3) ", "số 4", "so 5", "12", "2 con", "100", "")] == \
        [1, 2, 3, 4, 5, 12, None, None, None]


async def test_a_number_presses_the_button_of_the_last_reply(services: Services) -> None:
    talk = Conversation(services, "typed-1")
    await talk.press("flow:vneid_install")
    assert talk.state == ("vneid_install", 1)
    await talk.say("1")  # "Xong rồi"
    assert talk.state == ("vneid_install", 2)
    replies = await talk.say("2.")  # "Không được"
    assert talk.state == ("vneid_install", 2) and "Cách khắc phục" in texts(replies)
    replies = await talk.say("số 2")  # "Vẫn không được"
    assert "retry" in payloads(replies)


async def test_a_number_picks_from_the_menu_and_works_on_telegram_too(services: Services) -> None:
    talk = Conversation(services, "typed-menu", channel="telegram")
    menu = await talk.press("menu")
    fourth = [b for r in menu for b in r.flat_buttons()][3]
    replies = await talk.say("4")
    assert fourth.payload.startswith("topic:") and replies[0].text.startswith(fourth.label)


async def test_a_number_beyond_the_buttons_is_text(services: Services) -> None:
    talk = Conversation(services, "typed-9")
    await talk.press("flow:vneid_install")
    replies = await talk.say("9")
    assert talk.state == ("vneid_install", 1) and "Bước 2/" not in texts(replies)


async def test_a_number_a_day_after_the_buttons_is_text(services: Services) -> None:
    talk = Conversation(services, "typed-late")
    await talk.press("flow:vneid_install")
    resident = await services.store.find(talk.who)
    assert resident is not None
    async with services.store.writing() as s:
        conversation = await s.get(StoredConversation, resident.id)
        assert conversation is not None
        conversation.updated_at = conversation.updated_at - CHOICES_KEPT - timedelta(minutes=1)
    await talk.say("1")
    assert talk.state == ("vneid_install", 1)
