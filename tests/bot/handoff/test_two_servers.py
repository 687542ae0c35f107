"""Two servers on one PostgreSQL database deliver the hand-off outbox together: no case card twice, and
the team group's limit kept by both together (issue 17, items 14 and 17)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Services, telegram_channel
from bot.handoff.models import Outbox
from kernel.messages import Incoming, ResidentKey
from kernel.settings import Settings, replace
from nlu.interpreter import EmbeddedInterpreter
from tests.fakes.commune import COMMUNE_CHAT, TEAM_CHAT, write_commune
from tests.fakes.pacing import TELEGRAM
from tests.fakes.services import build_services
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.slow  # two servers, a group's pace
CASES = 12
PER_MINUTE = 120.0  # the group's pace for this test: one message every 0.5 s


async def test_two_servers_post_each_card_once_and_keep_the_groups_pace(
        settings: Settings, postgres_url: str, interpreter: EmbeddedInterpreter, tmp_path: Path,
        fake_telegram: FakeTelegram) -> None:
    fake = fake_telegram
    fake.add_group(TEAM_CHAT, "Tổ CNS Đại Cường", forum=False)  # a plain group: the cards are replies
    fake.add_group(COMMUNE_CHAT, "Tổ CNS xã Ứng Hòa")
    commune = write_commune(tmp_path / "c")
    servers: list[Services] = []
    channels = []
    for _ in range(2):
        services = await build_services(replace(settings, database_url=postgres_url, commune_dir=commune),
                               interpreter=interpreter)
        channel = telegram_channel(services, replace(TELEGRAM, token=fake.token, api_url=fake.base_url,
                                                     group_per_minute=PER_MINUTE, poll_timeout=1))
        await channel.app.initialize()  # sends only: the fake has one update queue, not two pollers
        services.outbox.poll_seconds = 0.2
        # A short lease: a row leased and then waiting for the group's pace would outlive it and be taken
        # (and posted) again by the other server, as 3 of 24 cards were before.
        services.outbox.lease = timedelta(seconds=2)
        servers.append(services)
        channels.append(channel)
    try:
        for n in range(CASES):  # residents ask for help on the first server: cards for the same group
            who = ResidentKey("web", f"r{n}")
            await servers[0].pipeline.handle(Incoming(who, payload="human"))
            await servers[0].pipeline.handle(Incoming(who, payload="village:dai-cuong"))
        for services, channel in zip(servers, channels, strict=True):
            services.attach([channel])
            await services.outbox.start()
        async with asyncio.timeout(60):
            while True:
                async with servers[0].store.session() as s:
                    pending = (await s.execute(select(Outbox.id).where(Outbox.audience == "team",
                                                                       Outbox.status == "pending"))).first()
                if pending is None:
                    break
                await asyncio.sleep(0.2)
        await fake.wait_idle(quiet=0.5)
    finally:
        for services, channel in zip(servers, channels, strict=True):
            await services.outbox.stop()
            await channel.app.shutdown()
            await services.close()
    cards = [m for m in fake.sent_to(TEAM_CHAT) if m.data and m.data[0].startswith("esc:claim:")]
    ids = [m.data[0] for m in cards]
    assert len(ids) == CASES and len(set(ids)) == CASES, ids  # every card once
    # When the group received them: both servers together kept one pace (each alone would keep its own, and
    # together they would post twice as fast). Single gaps vary with each send's own delay after its slot.
    times = sorted(fake._per_group[TEAM_CHAT].times)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == CASES, times
    assert (times[-1] - times[0]) / (CASES - 1) > 0.9 * 60.0 / PER_MINUTE, gaps
