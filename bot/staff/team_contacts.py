"""The village teams' contacts in teams.yml (contact, phone, place, hours) as the browser edits them, checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kernel.commune import DAYS, FILES, CommuneError, load_places
from kernel.commune.check import clock
from kernel.i18n import Translator
from kernel.yamlfile import load_yaml

FILE = "teams.yml"
TEXTS = ("contact", "contact_en", "place", "place_en")
FIELDS = ("id", *TEXTS, "phone", "hours")
MAX_TEXT = 200
MAX_PHONE = 20


class ContactsRefused(ValueError):
    """The contacts are not saved (teams.yml unchanged); the message names the team and what is wrong."""


def _load(directory: Path) -> dict[str, Any]:
    try:
        raw = load_yaml((directory / FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContactsRefused(f"{FILE}: {exc}") from None
    return raw if isinstance(raw, dict) else {}


def _hours(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    start, end = raw.get("start", "00:00"), raw.get("end", "23:59")
    try:
        start, end = clock(start, "start").strftime("%H:%M"), clock(end, "end").strftime("%H:%M")
    except CommuneError:
        pass  # shown as written; the assistant keeps the file's last good version
    return {"days": [str(d).lower()[:3] for d in raw.get("days") or DAYS], "start": str(start), "end": str(end)}


def read_teams(directory: Path) -> list[dict[str, Any]]:
    """Each team's id, name and contacts as teams.yml has them (hours None when not given)."""
    teams = _load(directory).get("teams") or []
    return [{"id": str(t.get("id")), "name": str(t.get("name") or t.get("id")),
             **{k: str(t.get(k) or "") for k in (*TEXTS, "phone")}, "hours": _hours(t.get("hours"))}
            for t in teams if isinstance(t, dict)]


def _phone(value: str, team: str, tr: Translator) -> str:
    import phonenumbers  # only when staff edit the contacts: 60 ms and 3 MB at every start otherwise

    try:
        valid = len(value) <= MAX_PHONE and phonenumbers.is_valid_number(phonenumbers.parse(value, "VN"))
    except phonenumbers.NumberParseException:
        valid = False
    if not valid:  # the number itself is not repeated back: nothing typed is echoed into logs or answers
        raise ContactsRefused(tr("{team}: số điện thoại không đúng dạng số Việt Nam (ví dụ 024 3123 4567 hoặc "
                                 "0912 345 678).", team=team))
    return value


def _new_hours(raw: Any, team: str, tr: Translator) -> dict[str, Any] | None:
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, dict) or set(raw) - {"days", "start", "end"}:
        raise ContactsRefused(tr("{team}: giờ làm việc gồm các ngày, giờ bắt đầu và giờ kết thúc.", team=team))
    days = raw.get("days")
    if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
        raise ContactsRefused(tr("{team}: hãy chọn ít nhất một ngày làm việc.", team=team))
    try:
        start, end = clock(raw.get("start"), "start"), clock(raw.get("end"), "end")
    except CommuneError:
        raise ContactsRefused(tr("{team}: giờ phải viết dạng HH:MM, ví dụ 07:30.", team=team)) from None
    if end <= start:
        raise ContactsRefused(tr("{team}: giờ kết thúc phải sau giờ bắt đầu.", team=team))
    return {"days": [d for d in DAYS if d in days], "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}


def _apply(team: dict[str, Any], entry: Any, tr: Translator) -> bool:
    """The browser's fields written into the team's mapping; True when something changed."""
    name = str(team.get("name") or team.get("id"))
    if not isinstance(entry, dict) or set(entry) - set(FIELDS):
        raise ContactsRefused(tr("{team}: chỉ sửa được liên hệ, địa điểm, điện thoại và giờ làm việc.", team=name))
    before = dict(team)
    for key in (*TEXTS, "phone"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise ContactsRefused(tr("{team}: mỗi ô là chữ.", team=name))
        value = (value or "").strip()
        if len(value) > MAX_TEXT:
            raise ContactsRefused(tr("{team}: mỗi ô dài tối đa {n} ký tự.", team=name, n=MAX_TEXT))
        if key == "phone" and value:
            value = _phone(value, name, tr)
        if value:
            team[key] = value
        else:
            team.pop(key, None)
    hours = _new_hours(entry.get("hours"), name, tr)
    if hours is None:
        team.pop("hours", None)
    else:
        team["hours"] = hours
    return team != before


def updated_teams(directory: Path, entries: Any, tr: Translator) -> tuple[str, int]:
    """teams.yml's new text (without its leading comments) with the entries' contacts, and how many teams changed.
    Only contacts, phone, place and hours change; teams not sent stay as they are. ContactsRefused otherwise."""
    if not isinstance(entries, list) or not entries:
        raise ContactsRefused(tr("Gửi danh sách liên hệ của các tổ."))
    raw = _load(directory)
    teams = {str(t.get("id")): t for t in raw.get("teams") or [] if isinstance(t, dict)}
    changed = 0
    for entry in entries:
        team_id = str(entry.get("id")) if isinstance(entry, dict) else ""
        if team_id not in teams:
            raise ContactsRefused(tr("Không có tổ “{team}” trong teams.yml.", team=team_id[:40]))
        changed += _apply(teams[team_id], entry, tr)
    body = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, default_flow_style=None, width=120)
    try:  # exactly what the assistant will read
        FILES[FILE](load_yaml(body), load_places(directory))
    except CommuneError as exc:
        raise ContactsRefused(str(exc)) from None
    return body, changed
