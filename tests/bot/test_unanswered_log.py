"""The message log marks what the assistant could not answer (for the dashboard): `out_of_scope` for a message
outside its scope, `low_confidence` when it asked which topic was meant; an understood message keeps its
intent."""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.db import Message
from kernel.settings import Settings
from nlu.types import Parse
from tests.fakes.driver import Conversation, assistant

READINGS = {
    "đổi ảnh đại diện zalo": Parse("đổi ảnh đại diện zalo", "out_of_scope", 0.93, (("out_of_scope", 0.93),)),
    "cái đó làm sao": Parse("cái đó làm sao", "vneid_install", 0.31, (("vneid_install", 0.31), ("pay_qr", 0.29))),
    "cài vneid": Parse("cài vneid", "vneid_install", 0.97, (("vneid_install", 0.97), ("pay_qr", 0.01))),
}


class Readings:
    """The NLU port answering fixed readings (what each message means is the test's premise)."""

    async def parse(self, text: str) -> Parse:
        return READINGS[text]


async def test_unanswered_messages_are_logged_as_such(settings: Settings) -> None:
    async with assistant(settings, Readings()) as services:
        conv = Conversation(services, "hoi")
        for text in READINGS:
            await conv.say(text)
        async with services.store.session() as s:
            rows = (await s.execute(select(Message.text, Message.intent).where(Message.direction == "in")
                                    .order_by(Message.id))).all()
    assert [tuple(r) for r in rows] == [("đổi ảnh đại diện zalo", "out_of_scope"),
                                       ("cái đó làm sao", "low_confidence"), ("cài vneid", "vneid_install")]
