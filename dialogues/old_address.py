"""Old addresses: which commune an old (pre-1-July-2025) commune, ward or district now belongs to.

Residents still say "Hòa Lâm cũ" or "xã Hoa Viên, huyện Ứng Hòa". Ứng Hòa's own units come from the brief
(§1: the eight former units of xã Ứng Hòa, the three neighbouring communes) with their source ids. Anything
else is looked up in the national old-to-new mapping that the `underthesea` package ships as data
(address/data/mapping.json, July 2025). Only that file is read, lazily on the first question: importing
underthesea itself would load its NLP pipeline (whose classifiers download models at run time).
"""

from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

# Brief §1: old unit -> (new commune, source ids, to confirm). The brief asks to verify the eight names
# against the Resolution, and Hòa Lâm's joining Trầm Lộng in January 2025.
_LOCAL: dict[str, tuple[str, tuple[str, ...], bool]] = {
    **dict.fromkeys(("Đại Cường", "Đại Hùng", "Đông Lỗ", "Đồng Tân", "Kim Đường", "Minh Đức", "Trầm Lộng",
                     "Trung Tú", "Hòa Lâm"), ("Xã Ứng Hòa", ("S37a", "S37d"), True)),
    **dict.fromkeys(("Hoa Viên", "Quảng Phú Cầu", "Trường Thịnh", "Liên Bạt"), ("Xã Ứng Thiên", ("S37c",), False)),
    **dict.fromkeys(("Thái Hòa", "Hòa Phú", "Phù Lưu", "Bình Lưu Quang"), ("Xã Hòa Xá", ("S37c",), False)),
    "Vân Đình": ("Xã Vân Đình", ("S37c",), False),
}
UNG_HOA_UNITS = ("Đại Cường", "Đại Hùng", "Đông Lỗ", "Đồng Tân", "Kim Đường", "Minh Đức", "Trầm Lộng", "Trung Tú")
_PREFIXES = ("thi tran ", "phuong ", "xa ", "tt ", "p ", "x ")


@dataclass(frozen=True)
class NewUnit:
    """Where an old unit went: its old name (and district), the new unit and province, and why we know."""

    old: str
    old_district: str
    new: str
    province: str
    source: tuple[str, ...]  # brief source ids, or ("underthesea",) for the national mapping
    to_confirm: bool = False  # the brief says verify: the answer must say so


def fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def _bare(name: str) -> str:
    folded = fold(name)
    for prefix in _PREFIXES:
        if folded.startswith(prefix):
            return folded[len(prefix):]
    return folded


def mapping_path() -> Path | None:
    """underthesea's mapping file, found without importing (running) the package."""
    spec = importlib.util.find_spec("underthesea")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "address" / "data" / "mapping.json"
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _national() -> dict[str, list[dict[str, Any]]]:
    """Old ward name (folded, without "xã"/"phường") -> its mapping records; read once, on first use."""
    path = mapping_path()
    if path is None:
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    index: dict[str, list[dict[str, Any]]] = {}
    for record in data["ward_mapping"]:
        index.setdefault(_bare(record["old_ward"]), []).append(record)
    return index


def _phrases(folded: str, longest: int = 4) -> list[str]:
    """Runs of two to `longest` words, longest first: one syllable ("hồ", "i") names no unit in a sentence."""
    words = folded.split()
    return [" ".join(words[i:i + n]) for n in range(longest, 1, -1) for i in range(len(words) - n + 1)]


def lookup(question: str) -> NewUnit | None:
    """The new unit of the old commune or ward named in a question, or None when none is recognised."""
    folded = fold(question)
    padded = f" {folded} "
    index = _national()
    for name in sorted(_LOCAL, key=len, reverse=True):  # the commune's own units first...
        if f" {fold(name)} " in padded:
            elsewhere = _best(index.get(fold(name), []), padded) if index.get(fold(name)) else None
            if elsewhere is not None and elsewhere["old_district_key"] != "huyenunghoa" and _names_district(
                    elsewhere, padded):  # ...unless the question names another district ("Thái Hòa, Ba Vì")
                return _unit(elsewhere)
            new, source, to_confirm = _LOCAL[name]
            return NewUnit(name, "Huyện Ứng Hòa", new, "Thành phố Hà Nội", source, to_confirm)
    for phrase in _phrases(folded):
        records = index.get(phrase)
        if records:
            return _unit(_best(records, padded))
    return None


def _names_district(r: dict[str, Any], padded: str) -> bool:
    return f" {fold(re.sub(r'^(Quận|Huyện|Thị xã|Thành phố) ', '', r['old_district']))} " in padded


def _best(records: list[dict[str, Any]], padded: str) -> dict[str, Any]:
    """Among old units of the same name, the one whose district or province the question names (else Hà Nội)."""
    def score(r: dict[str, Any]) -> tuple[bool, bool, bool]:
        province = f" {fold(re.sub(r'^(Thành phố|Tỉnh) ', '', r['old_province']))} "
        return (_names_district(r, padded), province in padded, r["old_province_key"] == "thanhphohanoi")
    return max(records, key=score)


def _unit(r: dict[str, Any]) -> NewUnit:
    return NewUnit(r["old_ward"], r["old_district"], r["new_ward"], r["new_province"], ("underthesea",))
