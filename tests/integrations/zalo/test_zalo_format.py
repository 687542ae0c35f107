"""Replies as Zalo messages (length and button limits, numbered fallback) and the Zalo settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.zalo.format import (
    PAYLOAD_MARK,
    button_payload,
    buttons_fit,
    chosen_number,
    render,
)
from kernel.messages import Button, Reply
from kernel.settings import ROOT, ConfigError, load_settings


def test_buttons_within_limits_stay_buttons() -> None:
    reply = Reply("Bước 1/4", ((Button("Xong rồi", "done"), Button("Không được", "stuck")),
                               (Button("Gặp người hỗ trợ", "human"), Button("Thôi", "cancel"))))
    out = render([reply])
    assert out.numbered == []
    assert [m.text for m in out.messages] == ["Bước 1/4"]
    assert out.messages[0].buttons == (("Xong rồi", "done"), ("Không được", "stuck"),
                                       ("Gặp người hỗ trợ", "human"), ("Thôi", "cancel"))


def test_too_many_or_too_long_buttons_become_numbers_across_the_batch() -> None:
    villages = tuple((Button(f"Thôn {i}", f"village:v{i}"),) for i in range(1, 7))
    long_label = ((Button("Chữ " * 40, "topic:long"),),)
    out = render([Reply("Bạn ở thôn nào?", villages), Reply("Hoặc chủ đề:", long_label)])
    assert out.numbered == [f"village:v{i}" for i in range(1, 7)] + ["topic:long"]
    assert all(m.buttons == () for m in out.messages)
    assert "1. Thôn 1" in out.messages[0].text and "6. Thôn 6" in out.messages[0].text
    assert out.messages[1].text.startswith("Hoặc chủ đề:") and "\n\n7. Chữ" in out.messages[1].text
    out.add_hint("Trả lời bằng số.")
    assert out.messages[-1].text.endswith("\nTrả lời bằng số.")


def test_without_buttons_everything_is_numbered() -> None:
    out = render([Reply("Bước 1/4", ((Button("Xong rồi", "done"),),))], buttons_allowed=False)
    assert out.numbered == ["done"] and out.messages[0].text == "Bước 1/4\n\n1. Xong rồi"


def test_limits_and_parsing_of_what_comes_back() -> None:
    assert buttons_fit([("a", "b")] * 5) and not buttons_fit([("a", "b")] * 6) and not buttons_fit([])
    assert not buttons_fit([("a", "x" * 1000)])
    assert button_payload(f" {PAYLOAD_MARK}flow:vneid_install ") == "flow:vneid_install"
    assert button_payload(PAYLOAD_MARK) is None and button_payload("xong rồi") is None
    assert [chosen_number(t) for t in ("2", " 3. ", "4)", "12", "2 con", "100", "")] == [2, 3, 4, 12, None, None, None]


def test_zalo_settings_from_the_environment() -> None:
    assert not load_settings(ROOT / "config.yml", env={}).zalo.enabled
    env = {"ZALO_APP_ID": "4242", "ZALO_OA_SECRET_KEY": "oa", "ZALO_APP_SECRET": "app",
           "ZALO_ACCESS_TOKEN": "at", "ZALO_REFRESH_TOKEN": "rt", "ZALO_API_URL": "http://127.0.0.1:1/",
           "ZALO_OAUTH_URL": "http://127.0.0.1:2"}
    z = load_settings(ROOT / "config.yml", env=env).zalo
    assert z.enabled and z.mode == "oa" and z.base_url == "http://127.0.0.1:1"
    assert (z.app_id, z.oa_secret_key, z.app_secret) == ("4242", "oa", "app")
    assert (z.access_token, z.refresh_token) == ("at", "rt")
    assert z.oauth_url == "http://127.0.0.1:2" and z.webhook_path == "/zalo/webhook"
    bot = load_settings(ROOT / "config.yml", env={"ZALO_MODE": "bot", "ZALO_BOT_TOKEN": "1:x",
                                                   "ZALO_WEBHOOK_SECRET": "s" * 16}).zalo
    assert bot.enabled and bot.base_url == "https://bot-api.zaloplatforms.com"


def test_bad_zalo_settings_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="zalo.mode"):
        load_settings(ROOT / "config.yml", env={"ZALO_MODE": "sms"})
    with pytest.raises(ConfigError, match="ZALO_WEBHOOK_SECRET"):
        load_settings(ROOT / "config.yml", env={"ZALO_MODE": "bot", "ZALO_BOT_TOKEN": "1:x",
                                                "ZALO_WEBHOOK_URL": "https://assistant.example/zalo/webhook"})
    polling = load_settings(ROOT / "config.yml", env={"ZALO_MODE": "bot", "ZALO_BOT_TOKEN": "1:x"}).zalo
    assert polling.enabled and polling.webhook_url == "" and polling.webhook_secret is None
    bad = tmp_path / "config.yml"
    bad.write_text("zalo:\n  button_type: oa.open.url\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="button_type"):
        load_settings(bad, env={})
