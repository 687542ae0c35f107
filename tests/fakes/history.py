"""A known history of residents and analytics events, for the dashboard's tests (figures worked out by hand).

Times are written in the commune's time zone (Asia/Ho_Chi_Minh, UTC+7) and stored in UTC, as the assistant
stores them; several sit near midnight, where a day in UTC and a day in the commune differ.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.storage.db import AnalyticsEvent, Resident
from bot.storage.store import Store

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
FLOW = "vneid_install"  # steps: open_store, search, install, open_app


def local(text: str) -> datetime:
    """'2026-12-01 00:30' in the commune's time zone, as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


# name -> (channel, village)
RESIDENTS = {
    "an": ("telegram", "dai-cuong"), "binh": ("zalo", "dong-lo"), "chi": ("web", "dai-cuong"),
    "dung": ("telegram", "dai-cuong"), "em": ("web", None), "giang": ("telegram", "kim-duong"),
}

# (resident, local time, kind, flow, step)
EVENTS: list[tuple[str, str, str, str | None, str | None]] = [
    # an: starts twice on 1 December just after midnight (30 November in UTC), stuck twice, completes.
    ("an", "2026-12-01 00:30", "flow_start", FLOW, "open_store"),
    ("an", "2026-12-01 00:40", "flow_start", FLOW, "open_store"),
    ("an", "2026-12-01 00:41", "step", FLOW, "search"),
    ("an", "2026-12-01 00:42", "stuck", FLOW, "search"),
    ("an", "2026-12-01 00:43", "stuck", FLOW, "search"),
    ("an", "2026-12-01 00:44", "step", FLOW, "install"),
    ("an", "2026-12-01 00:45", "step", FLOW, "open_app"),
    ("an", "2026-12-01 00:46", "complete", FLOW, "open_app"),
    # binh: stuck at the search, asks for a person.
    ("binh", "2026-12-10 09:00", "flow_start", FLOW, "open_store"),
    ("binh", "2026-12-10 09:01", "step", FLOW, "search"),
    ("binh", "2026-12-10 09:02", "stuck", FLOW, "search"),
    ("binh", "2026-12-10 09:03", "handoff", FLOW, "search"),
    # chi: starts on the last evening of December (still 31 December in UTC too), stops at step 1.
    ("chi", "2026-12-31 23:30", "flow_start", FLOW, "open_store"),
    # dung: 1 January just after midnight (still 31 December in UTC): outside December.
    ("dung", "2027-01-01 00:10", "flow_start", FLOW, "open_store"),
    ("dung", "2027-01-01 00:11", "step", FLOW, "search"),
    # em: 30 November just before midnight: outside December; then another guide in December.
    ("em", "2026-11-30 23:50", "flow_start", FLOW, "open_store"),
    ("em", "2026-12-05 10:00", "flow_start", "pay_qr", None),
    # giang: in December, cancels at step 2.
    ("giang", "2026-12-20 15:00", "flow_start", FLOW, "open_store"),
    ("giang", "2026-12-20 15:01", "step", FLOW, "search"),
    ("giang", "2026-12-20 15:02", "cancel", FLOW, "search"),
    # Not funnel events: never counted in it.
    ("giang", "2026-12-20 15:03", "misunderstood", FLOW, "search"),
    ("binh", "2026-12-10 09:04", "handoff_open", FLOW, "search"),
]

# GET /staff/api/funnel?flow=vneid_install&from=2026-12-01&to=2026-12-31 (an, binh, chi, giang)
DECEMBER = {"flow": FLOW, "started": 4,
            "steps": [{"step": 1, "reached": 4, "stuck": 0}, {"step": 2, "reached": 3, "stuck": 2},
                      {"step": 3, "reached": 1, "stuck": 0}, {"step": 4, "reached": 1, "stuck": 0}],
            "handoff": 1, "completed": 1}
# ... &village=dai-cuong (an, chi)
DECEMBER_DAI_CUONG = {"flow": FLOW, "started": 2,
                      "steps": [{"step": 1, "reached": 2, "stuck": 0}, {"step": 2, "reached": 1, "stuck": 1},
                                {"step": 3, "reached": 1, "stuck": 0}, {"step": 4, "reached": 1, "stuck": 0}],
                      "handoff": 0, "completed": 1}


async def seed_history(store: Store) -> dict[str, int]:
    """Write RESIDENTS and EVENTS; returns the residents' ids by name."""
    ids: dict[str, int] = {}
    async with store.writing() as s:
        for name, (channel, village) in RESIDENTS.items():
            row = Resident(channel=channel, platform_id=f"seed-{name}", village=village,
                           created_at=local("2026-11-01 08:00"))
            s.add(row)
            await s.flush()
            ids[name] = row.id
        for name, when, kind, flow, step in EVENTS:
            s.add(AnalyticsEvent(resident_id=ids[name], kind=kind, flow=flow, step=step, created_at=local(when)))
    return ids
