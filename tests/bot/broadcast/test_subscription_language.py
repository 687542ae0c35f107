"""A resident who subscribed in English gets the English text of an announcement that has both (issue 17)."""

from __future__ import annotations

from bot.app import Services
from bot.broadcast.compose import announcement
from bot.broadcast.models import Broadcast
from kernel.messages import Incoming, ResidentKey
from kernel.settings import Settings
from tests.fakes.driver import assistant


async def test_the_language_of_the_subscription_is_kept_for_announcements(settings: Settings) -> None:
    services: Services
    async with assistant(settings) as services:
        who = ResidentKey("telegram", "5501")
        for payload in ("intent:subscribe", "village:minh-duc", "sub:yes"):
            # Never chose a language: the conversation is in English because Telegram says so.
            result = await services.pipeline.handle(Incoming(who, payload=payload, platform_language="en-GB"))
        assert any("unsub" in [b.payload for row in r.buttons for b in row] for r in result.replies)
        resident = await services.store.find(who)
        assert resident is not None and resident.subscribed and resident.language == "en"
        both = Broadcast(id=1, topic="lich", text_vi="Thông báo lịch tiêm", text_en="Vaccination schedule")
        reply = announcement(both, services.catalogs, resident.language)
        assert "Vaccination schedule" in reply.text and "Thông báo lịch" not in reply.text
        # A resident who subscribed in Vietnamese keeps getting Vietnamese.
        vi = ResidentKey("telegram", "5502")
        for payload in ("intent:subscribe", "village:minh-duc", "sub:yes"):
            await services.pipeline.handle(Incoming(vi, payload=payload, platform_language="vi"))
        other = await services.store.find(vi)
        assert other is not None and other.language == "vi"
        assert "Thông báo lịch tiêm" in announcement(both, services.catalogs, other.language).text
