"""Whether anyone can see a case at the web desk: an enabled account of one of its teams, or commune staff
and admins (who see every case). With neither (and no Telegram group), the resident is not told that a
person will answer."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff.models import ADMIN, STAFF, StaffAccount


async def desk_watches(s: AsyncSession, team_ids: Iterable[str]) -> bool:
    """True when an enabled desk account sees cases of these teams (accounts are few: read them all)."""
    wanted = {t for t in team_ids if t}
    rows = await s.execute(select(StaffAccount.role, StaffAccount.teams).where(StaffAccount.disabled.is_(False)))
    return any(role in (STAFF, ADMIN) or wanted & set(teams or ()) for role, teams in rows)
