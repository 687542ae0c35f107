"""Who may send announcements, to which places, and who approves them (staff.yml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.commune.check import CommuneError, integer, items, known_codes, mapping, text, texts

FILE = "staff.yml"


@dataclass(frozen=True)
class StaffMember:
    id: str
    name: str
    telegram_user_id: str | None
    villages: tuple[str, ...] | None  # None = the whole commune
    approver: bool
    web_username: str | None = None  # their account on the web desk (/staff/announce), if any


@dataclass(frozen=True)
class Roles:
    """Who may broadcast where, and who approves."""

    approval_required: bool
    staff: tuple[StaffMember, ...]

    def member(self, staff_id: str) -> StaffMember | None:
        return next((m for m in self.staff if m.id == staff_id), None)

    def by_telegram(self, user_id: str | int) -> StaffMember | None:
        return next((m for m in self.staff if m.telegram_user_id and m.telegram_user_id == str(user_id)), None)

    def by_web(self, username: str) -> StaffMember | None:
        """The member whose `web_username` is this web desk account (the link is written in staff.yml)."""
        return next((m for m in self.staff if m.web_username and m.web_username == username), None)

    def may_send(self, member: StaffMember, villages: list[str]) -> bool:
        """Whether the member may announce to these villages (empty = the whole commune)."""
        if member.villages is None:
            return True
        return bool(villages) and all(v in member.villages for v in villages)

    def needs_approval(self, author: StaffMember) -> bool:
        return self.approval_required and not author.approver

    def approvers(self) -> list[StaffMember]:
        return [m for m in self.staff if m.approver]


NOBODY = Roles(False, ())


def _flag(value: Any, where: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise CommuneError(f"{where} must be true or false, not {value!r}")
    return value


def parse_staff(raw: Any, codes: set[str]) -> Roles:
    """staff.yml as typed roles (no file: nobody may broadcast); raises CommuneError naming the key."""
    top = mapping(raw, FILE, ("approval_required", "staff"))
    members = []
    for i, m in enumerate(items(top.get("staff"), f"{FILE}: staff")):
        where = f"{FILE}: staff[{i}]"
        m = mapping(m, where, ("id", "name", "telegram_user_id", "web_username", "broadcast_to",
                                   "approver"))
        staff_id = text(m.get("id"), f"{where}.id", required=True)
        to = m.get("broadcast_to")
        villages: tuple[str, ...] | None
        if to in (None, "", []):
            villages = ()
        elif to == "all":
            villages = None
        else:
            villages = texts(to if isinstance(to, list) else [to], f"{where}.broadcast_to")
            known_codes(villages, f"{where}.broadcast_to", codes)
        uid = integer(m.get("telegram_user_id"), f"{where}.telegram_user_id", "a Telegram user id (a number)")
        members.append(StaffMember(staff_id, text(m.get("name"), f"{where}.name") or staff_id,
                                   str(uid) if uid is not None else None, villages,
                                   _flag(m.get("approver"), f"{where}.approver"),
                                   text(m.get("web_username"), f"{where}.web_username") or None))
    ids = [m.id for m in members]
    if len(set(ids)) != len(ids):
        raise CommuneError(f"{FILE}: staff: an id is used twice ({ids})")
    web = [m.web_username for m in members if m.web_username]
    if len(set(web)) != len(web):
        raise CommuneError(f"{FILE}: staff: a web_username is used twice ({web})")
    return Roles(_flag(top.get("approval_required"), f"{FILE}: approval_required"), tuple(members))
