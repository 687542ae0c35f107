"""Old addresses (issue 16): the commune's own former units from the brief, others from underthesea's
national mapping (its data file only, read lazily; the package's NLP code is never imported)."""

from __future__ import annotations

import sys

import pytest

from dialogues.old_address import UNG_HOA_UNITS, lookup, mapping_path


@pytest.mark.parametrize("question, old, new", [
    ("Hòa Lâm cũ giờ thuộc xã nào", "Hòa Lâm", "Xã Ứng Hòa"),
    ("xa hoa lam cu gio thuoc xa nao", "Hòa Lâm", "Xã Ứng Hòa"),
    ("xã Hoa Viên cũ", "Hoa Viên", "Xã Ứng Thiên"),
    ("tôi ở Đại Cường cũ, giờ thuộc xã nào", "Đại Cường", "Xã Ứng Hòa"),
    ("truong thinh ung hoa cu bay gio la xa nao", "Trường Thịnh", "Xã Ứng Thiên"),
    ("xã Thái Hòa huyện Ứng Hòa cũ", "Thái Hòa", "Xã Hòa Xá"),
    ("Vân Đình cũ", "Vân Đình", "Xã Vân Đình"),
])
def test_the_communes_own_and_neighbouring_units(question: str, old: str, new: str) -> None:
    unit = lookup(question)
    assert unit is not None and unit.old == old and unit.new == new
    assert unit.source and all(s.startswith("S37") for s in unit.source)


def test_the_eight_former_units_of_ung_hoa_are_to_confirm() -> None:
    assert len(UNG_HOA_UNITS) == 8
    for name in UNG_HOA_UNITS:
        unit = lookup(f"{name} cũ")
        assert unit is not None and unit.new == "Xã Ứng Hòa" and unit.to_confirm


def test_an_old_address_in_another_district_uses_the_national_mapping() -> None:
    assert mapping_path() is not None, "underthesea (requirements.txt) ships the mapping data"
    unit = lookup("Phường Phúc Xá, Quận Ba Đình cũ giờ là phường nào")
    assert unit is not None and unit.new == "Phường Hồng Hà" and unit.province == "Thành phố Hà Nội"
    assert unit.source == ("underthesea",)


def test_the_same_name_in_another_named_district_is_not_taken_for_ung_hoa() -> None:
    unit = lookup("xã Thái Hòa huyện Ba Vì cũ")
    assert unit is not None and unit.old_district == "Huyện Ba Vì" and unit.new != "Xã Hòa Xá"


def test_no_unit_named_gives_none() -> None:
    assert lookup("cách cài vneid") is None
    assert lookup("") is None


def test_underthesea_code_is_never_imported() -> None:
    lookup("Phường Phúc Xá, Quận Ba Đình")
    assert not any(name == "underthesea" or name.startswith("underthesea.") for name in sys.modules)
