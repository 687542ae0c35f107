"""ID numbers, phone numbers and one-time codes never reach the database, byte for byte."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from kernel.messages import Incoming, ResidentKey
from kernel.settings import Settings, replace
from nlu.interpreter import EmbeddedInterpreter
from tests.fakes.services import build_services

ID_NUMBER = "001203004567"
PHONE = "0912345678"
OTP = "482913"
MESSAGES = [
    f"số căn cước của tôi là {ID_NUMBER}, cài vneid thế nào",
    f"sdt cua toi la {PHONE} ma khong nhan duoc ma",
    f"ma otp la {OTP} day, giup toi voi",
    "cccd 001 203 004 567, số điện thoại 0912.345.678",
]


def _needles() -> list[bytes]:
    forms = [ID_NUMBER, PHONE, OTP, "001 203 004 567", "0912.345.678"]
    out = []
    for f in forms:
        out += [f.encode("utf-8"), f.encode("utf-16-le")]
    return out


async def test_private_numbers_are_not_in_the_raw_sqlite_file(settings: Settings, interpreter: EmbeddedInterpreter,
                                                             tmp_path: Path) -> None:
    db = tmp_path / "privacy.db"
    services = await build_services(replace(settings, database_url=f"sqlite+aiosqlite:///{db}"),
                                    interpreter=interpreter)
    who = ResidentKey("web", "privacy")
    warned = False
    try:
        for message in MESSAGES:
            result = await services.pipeline.handle(Incoming(who, text=message))
            assert result.replies
            warned |= any("OTP" in r.text for r in result.replies)
            for reply in result.replies:
                assert OTP not in reply.text and ID_NUMBER not in reply.text
    finally:
        await services.close()
    assert warned, "a resident who typed an OTP must be warned never to share it"
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("privacy.db"))
    assert b"[id]" in raw and b"[phone]" in raw and b"[otp]" in raw  # the log really was written
    for needle in _needles():
        assert needle not in raw, f"{needle!r} found in the database file"


async def test_private_numbers_are_not_stored_in_postgresql(settings: Settings, postgres_url: str,
                                                            interpreter: EmbeddedInterpreter) -> None:
    services = await build_services(replace(settings, database_url=postgres_url), interpreter=interpreter)
    try:
        for message in MESSAGES:
            await services.pipeline.handle(Incoming(ResidentKey("web", "privacy-pg"), text=message))
        async with services.engine.connect() as conn:
            tables = ["residents", "conversations", "messages", "analytics_events"]
            dump = ""
            for table in tables:
                rows = (await conn.execute(text(f"SELECT row_to_json(t)::text FROM {table} t"))).scalars().all()
                dump += "\n".join(rows)
    finally:
        await services.close()
    assert "[otp]" in dump
    for needle in (ID_NUMBER, PHONE, OTP, "001 203 004 567", "0912.345.678"):
        assert needle not in dump
