"""A database outage: the web chat answers 503 (no 500, no traceback to the client) and recovers by itself."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from bot.storage.residents import Residents
from integrations.web.chat import make_web_app
from integrations.web.limits import WebLimits
from kernel.settings import replace
from tests.fakes.services import build_services
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.web_client import WebChat


async def test_an_outage_answers_503_and_recovers(aiohttp_client, settings, interpreter, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    url = make_url(postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    services = await build_services(replace(settings, database_url=url.set(port=proxy.port).render_as_string(False)),
                           interpreter=interpreter)
    try:
        client = await aiohttp_client(make_web_app(services.pipeline, services.store, Residents(services.store),
                                                   WebLimits.off(), services.mailboxes))
        web = WebChat(client)
        assert (await web.chat("a", text="làm sao cài VNeID"))["state"]["step"] == 1
        await proxy.cut()
        for request in (web.post("a", payload="done"), web.post("new", text="xin chào"), web.poll("a")):
            status, body = await request
            assert status == 503, body
            assert "unavailable" in body["error"] and "Traceback" not in body["error"]
        r = await client.get("/healthz")
        assert r.status == 503
        await proxy.restore()
        assert (await web.chat("a", payload="done"))["state"]["step"] == 2  # nothing of the outage applied
        assert (await client.get("/healthz")).status == 200
    finally:
        await services.close()
        await proxy.stop()
