"""A resident's side of a Zalo conversation: the channel in an aiohttp app, driven through the fake Zalo."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.replies import ReplyOutbox
from integrations.zalo.channel import ZaloChannel
from integrations.zalo.format import PAYLOAD_MARK
from kernel.settings import ZaloSettings
from tests.fakes.pacing import ZALO_TOKEN_GRACE
from tests.fakes.zalo_api import FakeZalo

Client = TestClient[web.Request, web.Application]

WEBHOOK = "/zalo/webhook"
TOKEN_KEY = "q0M3mG4o7x0n2nqZ8bW4Yv5b3F9c8y2sJdQe6lqvG1A="  # a Fernet key (ZALO_TOKEN_KEY) for the tests


def oa_settings(fake: FakeZalo, **overrides: object) -> ZaloSettings:
    base = ZaloSettings(mode="oa", app_id=fake.app_id, oa_secret_key=fake.oa_secret_key, app_secret=fake.app_secret,
                        access_token="at-0", refresh_token="rt-0", api_url=fake.url,  # type: ignore[attr-defined]
                        oauth_url=fake.url,  # type: ignore[attr-defined]
                        token_grace_seconds=ZALO_TOKEN_GRACE, token_key=TOKEN_KEY)
    return replace(base, **overrides)  # type: ignore[arg-type]


def bot_settings(fake: FakeZalo, **overrides: object) -> ZaloSettings:
    """The Zalo Bot API mode against the fake, with a webhook secret and a public webhook address."""
    base = ZaloSettings(mode="bot", bot_token=fake.bot_token, webhook_secret=fake.bot_secret,
                        api_url=fake.url,  # type: ignore[attr-defined]
                        webhook_url="https://assistant.example/zalo/webhook")
    return replace(base, **overrides)  # type: ignore[arg-type]


class Harness:
    """The assistant's web app with the Zalo channel, and a resident's side of the conversation."""

    def __init__(self, fake: FakeZalo, channel: ZaloChannel, client: Client,
                 replies: ReplyOutbox | None = None) -> None:
        """`replies`: the services' reply outbox when Zalo is a registered sender (its replies are sent
        after the webhook's answer, from a task of their own): each event then waits for them too."""
        self.fake, self.channel, self.client, self.replies = fake, channel, client, replies

    async def event(self, body: dict[str, object], **kw: str | None) -> int:
        status, _ = await self.fake.deliver(self.client.session, str(self.client.make_url(WEBHOOK)), body, **kw)
        await self.channel.drain()
        if self.replies is not None:
            await self.replies.drain()
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
