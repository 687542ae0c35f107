"""Staff accounts: the CLI, argon2 hashes, sessions that end with the account or its password."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from aiohttp import web
from argon2 import profiles
from sqlalchemy import select

from bot.__main__ import main
from bot.app import Services
from bot.staff.accounts import StaffAccounts, StaffError
from bot.staff.desk import attach_desk
from bot.staff.models import StaffAccount, StaffSession
from kernel.settings import ROOT, ConfigError, WebSettings, load_settings

PASSWORD = "đúng-mật-khẩu-42"


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str,
         stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["staff", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_cli_adds_lists_resets_and_disables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}")
    assert _cli(monkeypatch, capsys, "list") == (0, "", "")  # no default account
    code, out, _ = _cli(monkeypatch, capsys, "add", "lan", "--team", "dai-cuong", "--role", "member",
                        "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "added lan" in out and PASSWORD not in out
    with sqlite3.connect(tmp_path / "desk.db") as db:  # the project's config: argon2's own default parameters
        (digest,) = db.execute("SELECT password_hash FROM staff_accounts WHERE username = 'lan'").fetchone()
    assert digest.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    # Not a terminal and no --password-stdin: a password is generated and shown once.
    code, out, _ = _cli(monkeypatch, capsys, "add", "hoa", "--team", "commune,dai-cuong", "--role", "staff")
    assert code == 0 and "password (shown once): " in out
    assert len(out.rsplit(": ", 1)[1].strip()) >= 16
    code, out, err = _cli(monkeypatch, capsys, "add", "lan", "--team", "commune", "--role", "admin",
                          "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 1 and "exists" in err
    code, _, err = _cli(monkeypatch, capsys, "add", "x", "--team", "no-such-team", "--role", "member",
                        "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 1 and "no-such-team" in err
    code, _, err = _cli(monkeypatch, capsys, "add", "y", "--team", "commune", "--role", "member",
                        "--password-stdin", stdin="short\n")
    assert code == 1 and "password" in err
    assert _cli(monkeypatch, capsys, "list")[1].splitlines() == [
        "hoa\tstaff\tcommune,dai-cuong", "lan\tmember\tdai-cuong"]
    code, out, _ = _cli(monkeypatch, capsys, "reset-password", "lan")
    assert code == 0 and "password (shown once): " in out
    assert _cli(monkeypatch, capsys, "disable", "lan")[0] == 0
    assert "lan\tmember\tdai-cuong (disabled)" in _cli(monkeypatch, capsys, "list")[1]
    code, _, err = _cli(monkeypatch, capsys, "disable", "nobody")
    assert code == 1 and "nobody" in err


async def test_only_an_argon2_hash_is_stored_and_the_right_password_logs_in(accounts: StaffAccounts) -> None:
    await accounts.add("lan", "member", ["dai-cuong"], PASSWORD)
    async with accounts.store.session() as s:
        row = (await s.scalars(select(StaffAccount))).one()
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    assert await accounts.login("lan", "sai-mat-khau-99") is None
    assert await accounts.login("nobody", PASSWORD) is None
    token = await accounts.login("lan", PASSWORD)
    assert token is not None
    user = await accounts.session(token)
    assert user is not None and (user.username, user.role, user.teams) == ("lan", "member", ("dai-cuong",))
    assert len(user.csrf) >= 40
    async with accounts.store.session() as s:
        stored = (await s.scalars(select(StaffSession.token_hash))).all()
    assert token not in stored and len(stored) == 1  # only a hash of the token
    assert await accounts.session("made-up-token") is None


async def test_disable_and_reset_end_every_session(accounts: StaffAccounts) -> None:
    await accounts.add("lan", "member", ["dai-cuong"], PASSWORD)
    first, second = await accounts.login("lan", PASSWORD), await accounts.login("lan", PASSWORD)
    assert first and second and await accounts.session(first) is not None
    await accounts.reset_password("lan", "mật-khẩu-mới-2026")
    assert await accounts.session(first) is None and await accounts.session(second) is None
    assert await accounts.login("lan", PASSWORD) is None
    third = await accounts.login("lan", "mật-khẩu-mới-2026")
    assert third is not None
    await accounts.disable("lan")
    assert await accounts.session(third) is None
    assert await accounts.login("lan", "mật-khẩu-mới-2026") is None
    await accounts.logout("anything")  # ending an unknown session is no error


async def test_bad_names_and_roles_are_refused(accounts: StaffAccounts) -> None:
    for name, role, teams in [("lan ha", "member", ["x"]), ("lan", "boss", ["x"]), ("lan", "member", [])]:
        with pytest.raises(StaffError):
            await accounts.add(name, role, teams, PASSWORD)
    assert await accounts.list() == []


def test_production_hashes_with_argon2s_default_and_a_bad_profile_is_refused(tmp_path: Path) -> None:
    assert load_settings(ROOT / "config.yml", env={}).web.password_profile == WebSettings().password_profile \
        == "RFC_9106_LOW_MEMORY"
    bad = tmp_path / "config.yml"
    bad.write_text("web:\n  password_profile: none\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="web.password_profile"):
        load_settings(bad, env={})


async def test_the_desk_hashes_with_the_configured_profile(services: Services) -> None:
    accounts = attach_desk(web.Application(), services)
    assert services.settings.web.password_profile == "CHEAPEST"  # the tests' settings (tests/fakes/pacing.py)
    assert (accounts.hasher.memory_cost, accounts.hasher.time_cost) == (profiles.CHEAPEST.memory_cost,
                                                                        profiles.CHEAPEST.time_cost)
