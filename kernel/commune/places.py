"""The commune's places (villages.yml): former communes (xã cũ) and their villages (thôn)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kernel.commune.check import CommuneError, items, mapping, text, texts

FILE = "villages.yml"


@dataclass(frozen=True)
class Village:
    """A place a resident can say they live in: a former commune (xã cũ) or a thôn.

    Residents' saved codes and deep links (`?start=dai-cuong`) name either kind.
    """

    code: str
    name: str
    aliases: tuple[str, ...] = ()
    former_unit: bool = False  # a former commune (xã cũ) merged into this one in July 2025
    unit: str | None = None  # a thôn's former commune, by code
    unit_name: str = ""

    @property
    def label(self) -> str:
        """The name as residents say it: "thôn X, xã cũ Y", or "xã cũ Y" when no thôn is known."""
        if self.former_unit:
            return f"xã cũ {self.name}"
        return f"thôn {self.name}, xã cũ {self.unit_name}" if self.unit_name else f"thôn {self.name}"

    @property
    def codes(self) -> tuple[str, ...]:
        """Its own code and its former commune's: what a team or a visit may be listed under."""
        return (self.code, self.unit) if self.unit else (self.code,)


def place_name(tr: Callable[..., str], village: Village) -> str:
    """Village.label in the resident's language (tr: the resident's translator)."""
    if village.former_unit:
        return tr("xã cũ {unit}", unit=village.name)
    if village.unit_name:
        return tr("thôn {village}, xã cũ {unit}", village=village.name, unit=village.unit_name)
    return tr("thôn {village}", village=village.name)


@dataclass(frozen=True)
class Places:
    code: str
    name: str
    city: str
    villages: tuple[Village, ...]  # former communes, each followed by its thôn


def _place(raw: Any, where: str, **extra: Any) -> Village:
    keys = ("code", "name", "aliases", "villages") if extra.get("former_unit") else ("code", "name", "aliases")
    m = mapping(raw, where, keys)
    return Village(code=text(m.get("code"), f"{where}.code", required=True),
                   name=text(m.get("name"), f"{where}.name", required=True),
                   aliases=texts(m.get("aliases"), f"{where}.aliases"), **extra)


def parse_places(raw: Any, default_code: str) -> Places:
    """villages.yml as typed places; raises CommuneError naming the key."""
    top = mapping(raw, FILE, ("commune", "former_units", "villages"))
    info = mapping(top.get("commune"), f"{FILE}: commune", ("code", "name", "city"))
    out: list[Village] = []
    for i, u in enumerate(items(top.get("former_units"), f"{FILE}: former_units")):
        where = f"{FILE}: former_units[{i}]"
        unit = _place(u, where, former_unit=True)
        out.append(unit)
        for j, v in enumerate(items(u.get("villages"), f"{where}.villages")):
            out.append(_place(v, f"{where}.villages[{j}]", unit=unit.code, unit_name=unit.name))
    # Thôn not (yet) placed under a former commune: the file's older shape.
    out += [_place(v, f"{FILE}: villages[{i}]") for i, v in enumerate(items(top.get("villages"), f"{FILE}: villages"))]
    if not out:
        raise CommuneError(f"{FILE}: no places configured (former_units or villages)")
    seen: set[str] = set()
    for v in out:
        if v.code in seen:
            raise CommuneError(f"{FILE}: code {v.code!r} is used twice")
        seen.add(v.code)
    return Places(code=text(info.get("code"), f"{FILE}: commune.code") or default_code,
                  name=text(info.get("name"), f"{FILE}: commune.name") or default_code,
                  city=text(info.get("city"), f"{FILE}: commune.city"), villages=tuple(out))
