"""A resident's side of a Zalo conversation: the channel in an aiohttp app, driven through the fake Zalo."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web
from aiohttp.test_utils import TestClient

from integrations.zalo.channel import ZaloChannel
from integrations.zalo.format import PAYLOAD_MARK
from kernel.settings import ZaloSettings
from tests.fakes.pacing import ZALO_TOKEN_GRACE
from tests.fakes.zalo_api import FakeZalo

Client = TestClient[web.Request, web.Application]

WEBHOOK = "/zalo/webhook"


def oa_settings(fake: FakeZalo, **overrides: object) -> ZaloSettings:
    base = ZaloSettings(mode="oa", app_id=fake.app_id, oa_secret_key=fake.oa_secret_key, app_secret=fake.app_secret,
                        access_token="at-0", refresh_token="rt-0", api_url=fake.url,  # type: ignore[attr-defined]
                        oauth_url=fake.url,  # type: ignore[attr-defined]
                        token_grace_seconds=ZALO_TOKEN_GRACE)
    return replace(base, **overrides)  # type: ignore[arg-type]


class Harness:
    """The assistant's web app with the Zalo channel, and a resident's side of the conversation."""

    def __init__(self, fake: FakeZalo, channel: ZaloChannel, client: Client) -> None:
        self.fake, self.channel, self.client = fake, channel, client

    async def event(self, body: dict[str, object], **kw: str | None) -> int:
        status, _ = await self.fake.deliver(self.client.session, str(self.client.make_url(WEBHOOK)), body, **kw)
        await self.channel.drain()
        return status

    async def say(self, user: str, text: str) -> list[str]:
        before = len(self.fake.to(user))
        assert await self.event(self.fake.text_event(user, text)) == 200
        return [s.text for s in self.fake.to(user)[before:]]

    async def press(self, user: str, payload: str) -> list[str]:
        """Press a button the resident was shown last (Zalo sends its payload back as a text event)."""
        shown = [b["payload"] for b in self.fake.to(user)[-1].buttons]
        assert PAYLOAD_MARK + payload in shown, (payload, shown)
        return await self.say(user, PAYLOAD_MARK + payload)


def number_of(text: str, label: str) -> str:
    """The number in front of `label` in a numbered list ("3. Đông Lỗ")."""
    for line in text.splitlines():
        number, _, rest = line.partition(". ")
        if number.isdigit() and rest.strip() == label:
            return number
    raise AssertionError(f"{label!r} is not offered in {text!r}")
