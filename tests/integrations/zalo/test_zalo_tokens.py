"""The Zalo OA's tokens and sending: refresh (once, across processes and restarts), quota errors, limits."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import Services, zalo_sender
from bot.storage.zalo import ZaloToken
from kernel.messages import Button, Reply
from kernel.ports import DeliveryError
from tests.fakes.zalo import Harness, oa_settings
from tests.fakes.zalo_api import FakeZalo


async def test_an_expired_token_is_refreshed_and_the_message_delivered_once(
        harness: Harness, services: Services) -> None:
    fake, user = harness.fake, "8100000003"
    await harness.say(user, "xin chào")
    assert fake.oauth_calls == 0
    fake.expire_access_tokens()
    texts = await harness.say(user, "cài vneid")
    assert len(texts) >= 1 and texts[-1].startswith("Bước 1/")
    assert fake.oauth_calls == 1
    assert [s.text for s in fake.to(user)].count(texts[-1]) == 1
    async with services.store.session() as s:
        row = await s.get(ZaloToken, "oa")
        assert row is not None and row.refresh_token == fake.refresh_token and row.access_token in fake.valid_access


async def test_refreshed_tokens_survive_a_restart(services: Services, fake: FakeZalo) -> None:
    settings = oa_settings(fake)
    first = zalo_sender(services, settings)
    await first.start()
    fake.expire_access_tokens()
    await first.send("8100000004", [Reply("một")])
    await first.close()
    assert fake.oauth_calls == 1 and fake.refresh_token != "rt-0"
    # Restarted with the same (now spent) tokens in the environment: the saved ones are used.
    second = zalo_sender(services, settings)
    await second.start()
    await second.send("8100000004", [Reply("hai")])
    await second.close()
    assert fake.oauth_calls == 1
    assert [s.text for s in fake.to("8100000004")] == ["một", "hai"]


async def test_new_tokens_in_the_environment_replace_the_saved_ones(services: Services, fake: FakeZalo) -> None:
    first = zalo_sender(services, oa_settings(fake))
    await first.start()
    await first.close()
    fake.valid_access = {"at-new"}
    second = zalo_sender(services, oa_settings(fake, access_token="at-new", refresh_token="rt-new"))
    await second.start()
    await second.send("8100000005", [Reply("xin chào")])
    await second.close()
    assert len(fake.to("8100000005")) == 1 and fake.oauth_calls == 0


async def test_a_token_near_expiry_is_refreshed_before_sending(services: Services, fake: FakeZalo) -> None:
    sender = zalo_sender(services, oa_settings(fake, refresh_margin_seconds=30 * 3600))
    await sender.start()
    await sender.send("8100000006", [Reply("xin chào")])
    await sender.close()
    assert fake.oauth_calls == 1 and fake.send_calls == 1  # refreshed first, so no refused send


async def test_a_spent_refresh_token_is_a_delivery_error_not_a_crash(services: Services, fake: FakeZalo) -> None:
    fake.refresh_token = "rt-someone-else"
    sender = zalo_sender(services, oa_settings(fake))
    await sender.start()
    fake.expire_access_tokens()
    with pytest.raises(DeliveryError) as err:
        await sender.send("8100000007", [Reply("xin chào")])
    await sender.close()
    assert not err.value.permanent and err.value.retry_after
    assert "-14014" in str(err.value) and fake.sent == []


@pytest.mark.parametrize("code, permanent, retry_after", [(-32, False, 60.0), (-211, False, 3600.0),
                                                          (-230, True, None)])
async def test_quota_and_window_errors(services: Services, fake: FakeZalo, code: int, permanent: bool,
                                       retry_after: float | None) -> None:
    sender = zalo_sender(services, oa_settings(fake))
    await sender.start()
    fake.forced_errors = [code]
    with pytest.raises(DeliveryError) as err:
        await sender.send("8100000008", [Reply("thông báo")])
    await sender.close()
    assert err.value.permanent is permanent and err.value.retry_after == retry_after
    assert fake.sent == []


async def test_the_sender_keeps_zalo_limits(services: Services, fake: FakeZalo) -> None:
    sender = zalo_sender(services, oa_settings(fake))
    await sender.start()
    long_text = ("Đoạn văn dài. " * 200).strip()  # about 2,800 characters
    await sender.send("8100000009", [Reply(long_text, ((Button("Xong rồi", "done"),),))])
    await sender.close()
    sent = fake.to("8100000009")
    assert len(sent) == 2 and all(len(s.text) <= 2000 for s in sent)
    assert sent[0].buttons == [] and [b["title"] for b in sent[1].buttons] == ["Xong rồi"]
    assert " ".join(s.text for s in sent).split() == long_text.split()


async def test_concurrent_senders_refresh_once(services: Services, fake: FakeZalo) -> None:
    sender = zalo_sender(services, oa_settings(fake))
    await sender.start()
    fake.expire_access_tokens()
    users = [f"82000000{i:02d}" for i in range(8)]
    await asyncio.gather(*(sender.send(u, [Reply("thông báo")]) for u in users))
    await sender.close()
    assert fake.oauth_calls == 1
    assert sorted(s.user_id for s in fake.sent) == users


async def test_a_refused_refresh_is_not_retried_for_every_waiting_message(services: Services, fake: FakeZalo) -> None:
    fake.refresh_token = "rt-someone-else"
    sender = zalo_sender(services, oa_settings(fake))
    await sender.start()
    fake.expire_access_tokens()
    for user in ("8300000001", "8300000002", "8300000003"):
        with pytest.raises(DeliveryError):
            await sender.send(user, [Reply("thông báo")])
    await sender.close()
    assert fake.oauth_calls == 1 and fake.sent == []


async def test_two_processes_sharing_the_tokens_both_keep_sending(services: Services, fake: FakeZalo) -> None:
    """The server and a broadcast worker each hold a sender on the same database: when the token
    expires both may try the single-use refresh token; the loser takes the winner's saved tokens."""
    server = zalo_sender(services, oa_settings(fake))
    worker = zalo_sender(services, oa_settings(fake))
    await server.start()
    await worker.start()
    fake.expire_access_tokens()
    await asyncio.gather(server.send("8400000001", [Reply("trả lời")]), worker.send("8400000002", [Reply("thông báo")]))
    await asyncio.gather(server.send("8400000001", [Reply("tiếp")]), worker.send("8400000002", [Reply("tiếp")]))
    await server.close()
    await worker.close()
    assert sorted((s.user_id, s.text) for s in fake.sent) == [
        ("8400000001", "tiếp"), ("8400000001", "trả lời"), ("8400000002", "thông báo"), ("8400000002", "tiếp")]
    assert 1 <= fake.oauth_calls <= 2, fake.oauth_calls
    async with services.store.session() as s:
        row = await s.get(ZaloToken, "oa")
        assert row is not None and row.refresh_token == fake.refresh_token and row.access_token in fake.valid_access
