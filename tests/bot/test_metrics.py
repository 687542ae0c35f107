"""GET /metrics: turns by channel and outcome, latency, NLU confidence, cases, queues, deliveries and 429s."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, select

from bot.broadcast.models import Broadcast, Delivery
from bot.metrics import Metrics, attach_metrics
from bot.storage.db import Resident
from integrations.zalo.api import RateLimited
from kernel.deliveries import DeliveryCount
from kernel.messages import Reply
from kernel.settings import Settings
from nlu.interpreter import EmbeddedInterpreter
from tests.fakes.broadcast import add_residents
from tests.fakes.commune import write_commune
from tests.fakes.net import free_port
from tests.fakes.services import build_services
from tests.fakes.web_client import WebChat, client_session
from tests.fakes.zalo import oa_settings
from tests.fakes.zalo_api import FakeZalo

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition by (name, sorted labels)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def scrape(web: WebChat) -> Samples:
    async with web.http.get(f"{web.base}/metrics") as r:
        assert r.status == 200 and r.content_type == "text/plain"
        return samples(await r.text())


@pytest.mark.slow
async def test_a_scrape_counts_turns_cases_queues_and_deliveries(settings: Settings, interpreter: EmbeddedInterpreter,
                                                                 aiohttp_server: object, tmp_path: Path) -> None:
    from bot.server import serve

    fake = FakeZalo()
    zalo_server = await aiohttp_server(fake.app())  # type: ignore[operator]
    fake.url = str(zalo_server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    port = free_port()
    commune = write_commune(tmp_path / "commune")  # the village's team has a Telegram group (not running here)
    services = await build_services(replace(settings, web=replace(settings.web, port=port), zalo=oa_settings(fake),
                                   commune_dir=commune), interpreter=interpreter)
    await add_residents(services.store, 2, channel="zalo", subscribed=True)
    stop = asyncio.Event()
    server = asyncio.create_task(serve(services, stop))
    try:
        async with client_session() as http:
            web = WebChat(http, f"http://127.0.0.1:{port}")
            async with asyncio.timeout(20):  # the server listens once its channels' senders are attached
                while True:
                    try:
                        before = await scrape(web)
                        break
                    except aiohttp.ClientConnectorError:
                        await asyncio.sleep(0.05)
            assert services.senders.get("zalo") is not None
            assert not any(name == "assistant_turns_total" and value for (name, _), value in before.items())

            await web.chat("an", text="làm sao cài ứng dụng VNeID")
            stale = await web.chat("an", payload="done", at="00000000")  # a button of an earlier position
            assert stale.get("stale") is True
            await web.chat("binh", payload="human")
            await web.chat("binh", payload="village:dai-cuong")  # a case for the village's team
            page = await web.chat("cam", text="xin chào", id="m-1", ack="")  # as the page: kept until acknowledged
            async with services.store.writing() as s:  # an announcement queued for the two Zalo residents
                ids = (await s.execute(select(Resident.id).where(Resident.channel == "zalo"))).scalars().all()
                now = time.time()
                broadcast = (await s.execute(insert(Broadcast).values(
                    author="staff", topic="general", text_vi="Thông báo", text_en=None, villages=[], buttons=[],
                    status="done", due_at=now + 3600, created_at=now).returning(Broadcast.id))).scalar_one()
                await s.execute(insert(Delivery), [{"broadcast_id": broadcast, "resident_id": i, "channel": "zalo",
                                                    "status": "pending", "available_at": now + 3600} for i in ids])
            zalo = services.senders.get("zalo")
            assert zalo is not None
            await zalo.send("1000", [Reply("Xin chào")])
            fake.forced_errors.append(-32)  # Zalo's rate limit
            with pytest.raises(RateLimited):
                await zalo.send("1001", [Reply("Xin chào")])

            after = await scrape(web)
    finally:
        stop.set()
        await server
        await services.close()

    def turns(outcome: str) -> float:
        return after.get(("assistant_turns_total", (("channel", "web"), ("outcome", outcome))), 0.0)

    assert turns("answered") == 4 and turns("stale") == 1 and turns("error") == 0
    assert after[("assistant_turn_seconds_count", (("channel", "web"),))] == 5
    assert after[("assistant_turn_seconds_sum", (("channel", "web"),))] > 0
    assert after[("assistant_nlu_confidence_count", ())] >= 1  # one typed message parsed
    assert after[("assistant_handoff_cases", (("status", "open"),))] == 1
    assert after[("assistant_outbox_pending", (("audience", "team"),))] >= 1  # no Telegram group: it waits
    assert after[("assistant_outbox_pending", (("audience", "web_reply"),))] == len(page["replies"])
    assert ("assistant_outbox_pending", (("audience", "reply"),)) not in after  # no push channel's backlog
    assert after[("assistant_broadcast_queue", (("channel", "zalo"),))] == 2
    assert after[("assistant_deliveries_total", (("platform", "zalo"), ("result", "delivered")))] == 1
    assert after[("assistant_deliveries_total", (("platform", "zalo"), ("result", "failed")))] == 1
    assert after[("assistant_rate_limited_total", (("platform", "zalo"),))] == 1


class _Channel:
    def __init__(self, count: DeliveryCount) -> None:
        self.sender = self
        self.deliveries = count


def test_deliveries_are_read_from_the_senders_at_each_scrape() -> None:
    from aiohttp import web

    count = DeliveryCount("telegram")
    metrics = Metrics()
    attach_metrics(web.Application(), metrics, store=None, channels=[_Channel(count)])  # type: ignore[arg-type]
    count.delivered, count.rate_limited = 5, 2
    first = samples(metrics.exposition().decode())
    count.delivered += 1
    second = samples(metrics.exposition().decode())
    key = ("assistant_deliveries_total", (("platform", "telegram"), ("result", "delivered")))
    assert first[key] == 5 and second[key] == 6
    assert first[("assistant_rate_limited_total", (("platform", "telegram"),))] == 2
