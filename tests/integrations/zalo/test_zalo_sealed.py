"""The Zalo OA's tokens at rest: sealed with ZALO_TOKEN_KEY (Fernet), plain rows from before migrated,
a missing or wrong key refused with a message naming what to set (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from bot.app import Services, zalo_sender
from bot.storage.zalo import SEALED, ZaloStore, ZaloToken
from kernel.config_read import ConfigError
from tests.fakes.zalo import TOKEN_KEY, oa_settings


async def _raw(services: Services) -> tuple[str, str]:
    async with services.store.session() as s:
        row = (await s.execute(text("SELECT access_token, refresh_token FROM zalo_tokens"))).one()
    return row[0], row[1]


async def test_tokens_are_sealed_at_rest_and_read_back(services: Services) -> None:
    store = ZaloStore(services.store, TOKEN_KEY)
    seeded = await store.seed("at-secret-0001", "rt-secret-0001")
    assert (seeded.access_token, seeded.refresh_token) == ("at-secret-0001", "rt-secret-0001")
    access, refresh = await _raw(services)
    assert access.startswith(SEALED) and refresh.startswith(SEALED)
    assert "secret" not in access + refresh
    # A refresh replaces them (compare-and-set on the spent refresh token), sealed again.
    from integrations.zalo.memory import Tokens

    assert await store.save("rt-secret-0001", Tokens("at-secret-0002", "rt-secret-0002", None))
    assert not await store.save("rt-secret-0001", Tokens("at-lost", "rt-lost", None))  # spent already
    loaded = await ZaloStore(services.store, TOKEN_KEY).load()
    assert loaded is not None and (loaded.access_token, loaded.refresh_token) == ("at-secret-0002", "rt-secret-0002")
    assert "secret" not in "".join(await _raw(services))


async def test_plain_tokens_from_before_are_sealed_at_start(services: Services) -> None:
    store = ZaloStore(services.store, TOKEN_KEY)
    await store.seed("at-env", "rt-env")
    # As an earlier version left them: in clear, with the same environment digest.
    async with services.store.writing() as s:
        row = await s.get(ZaloToken, "oa")
        assert row is not None
        row.access_token, row.refresh_token = "at-plain-old", "rt-plain-old"
    tokens = await store.seed("at-env", "rt-env")  # the environment did not change: the saved ones win
    assert (tokens.access_token, tokens.refresh_token) == ("at-plain-old", "rt-plain-old")
    access, refresh = await _raw(services)
    assert access.startswith(SEALED) and refresh.startswith(SEALED) and "plain" not in access + refresh


async def test_a_missing_or_wrong_key_stops_start_up_with_what_to_set(services: Services) -> None:
    class Fake:  # only the settings' fields matter here: no request is made before the refusal
        app_id, oa_secret_key, app_secret, url = "1", "2", "3", "http://127.0.0.1:9"

    with pytest.raises(ConfigError, match="ZALO_TOKEN_KEY"):
        zalo_sender(services, oa_settings(Fake(), token_key=None))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="ZALO_TOKEN_KEY"):
        zalo_sender(services, oa_settings(Fake(), token_key="not a key"))  # type: ignore[arg-type]
    await ZaloStore(services.store, TOKEN_KEY).seed("at-x", "rt-x")
    with pytest.raises(ConfigError, match="another key"):
        await ZaloStore(services.store, Fernet.generate_key().decode()).load()
