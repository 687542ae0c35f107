"""Language from the message (issue 16) through the real pipeline and model: a resident who writes English
gets English from that message on, until they choose or write otherwise; short messages change nothing."""

from __future__ import annotations

from kernel.messages import Incoming
from kernel.settings import Settings
from tests.fakes.driver import Conversation, assistant


async def test_english_from_the_message_on_until_the_resident_chooses(settings: Settings, interpreter) -> None:  # type: ignore[no-untyped-def]
    async with assistant(settings, interpreter) as services:
        conv = Conversation(services, "writes-english")
        replies = await conv.say("hello, I need help installing VNeID")
        assert conv.last is not None and conv.last.state.language == "en"
        assert conv.state[0] == "vneid_install" and "Step 1/" in replies[-1].text
        replies = await conv.press("done")
        assert "Step 2/" in replies[-1].text  # a button press keeps it
        await conv.say("ok")
        assert conv.last.state.language == "en"  # too short to change anything
        await conv.say("tôi muốn dùng tiếng Việt")
        assert conv.last.state.language == "vi"
        await conv.press("lang:en")
        replies = await conv.say("Đại Cường")  # a name typed in reply keeps the choice
        assert conv.last.state.language == "en"


async def test_vietnamese_typed_on_an_english_phone_gets_vietnamese(settings: Settings, interpreter) -> None:  # type: ignore[no-untyped-def]
    async with assistant(settings, interpreter) as services:
        conv = Conversation(services, "english-phone")
        who = conv.who
        first = await services.pipeline.handle(Incoming(who, payload="intent:greet", platform_language="en-US"))
        assert first.state.language == "en"  # the phone's language until the resident shows theirs
        said = await services.pipeline.handle(Incoming(who, text="cho toi hoi cach cai vneid voi",
                                                       platform_language="en-US"))
        assert said.state.language == "vi" and "Bước 1/" in said.replies[-1].text
        again = await services.pipeline.handle(Incoming(who, payload="done", platform_language="en-US"))
        assert again.state.language == "vi"  # saved: it holds over the phone's language
