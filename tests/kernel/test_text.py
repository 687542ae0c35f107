"""The one fold and the one split_text every channel and matcher uses."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from kernel.commune import load_commune
from kernel.settings import ROOT
from kernel.text import fold, fold_words, split_text

# Text as residents and guides write it: Vietnamese letters, digits, spaces, line and paragraph breaks.
WORDS = st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậđèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụ"
                         "ừửữứựỳỷỹýỵ0123456789 \n", max_size=3000)


def test_fold_keeps_one_character_per_character() -> None:
    sample = "".join(chr(c) for c in range(0, 0x3000) if unicodedata.category(chr(c)) != "Cs")
    sample = unicodedata.normalize("NFC", sample)
    assert len(fold(sample)) == len(sample)
    assert fold("Đăng KÝ Định Danh") == "dang ky dinh danh"
    assert fold("số\u200bđiện thoại") == "so dien thoai"  # a zero-width character becomes a space


def test_fold_words_compares_names_however_they_were_typed() -> None:
    decomposed = unicodedata.normalize("NFD", "Thôn  Đông Lỗ\n")
    assert fold_words(decomposed) == fold_words("thon dong lo") == "thon dong lo"
    found = load_commune(ROOT / "communes/ung-hoa").find_village(f"tôi ở {decomposed.strip()} ạ")
    assert found is not None and found.name == "Đông Lỗ"


def test_short_text_is_one_piece_without_the_outer_spaces() -> None:
    assert split_text("  Bước 1/4: mở CH Play.  ", 2000) == ["Bước 1/4: mở CH Play."]
    assert split_text("", 2000) == [] and split_text(" \n\n ", 2000) == []
    assert split_text("ngắn", 4096) == ["ngắn"]


def test_long_text_is_cut_at_paragraphs_then_lines_then_words() -> None:
    paragraphs = "\n\n".join(f"Đoạn {i}: " + "chữ " * 150 for i in range(6))  # ~3,700 characters
    pieces = split_text(paragraphs, 2000)
    assert len(pieces) == 2 and all(len(p) <= 2000 for p in pieces)
    assert pieces[1].startswith("Đoạn")  # between paragraphs, not inside one
    lines = "\n".join(["Bước 1: " + " ".join(["mở ứng dụng"] * 30)] * 40)  # ~15,000 characters
    pieces = split_text(lines, 4096)
    assert len(pieces) == 4 and all(p.endswith("ứng dụng") for p in pieces)  # at line ends
    assert "\n".join(pieces) == lines  # nothing lost but the line breaks cut at


def test_a_break_early_in_the_window_is_not_used() -> None:
    # One paragraph break near the start and none later: cutting there would send a 10-character
    # message; the cut goes at the last space of the second half instead.
    text = "Mở đầu ngắn\n\n" + "chữ " * 600
    first, *_ = split_text(text, 2000)
    assert len(first) >= 1000 and first.startswith("Mở đầu ngắn\n\nchữ")


def test_text_without_breaks_is_cut_at_the_limit() -> None:
    assert [len(p) for p in split_text("x" * 4500, 2000)] == [2000, 2000, 500]
    assert split_text("x" * 5000, 4096) == ["x" * 4096, "x" * 904]


@given(WORDS, st.integers(min_value=1, max_value=700))
def test_pieces_fit_are_never_empty_and_keep_every_word(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert all(p == p.strip() for p in pieces)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")
    # Every piece but the last is at least half full (no trickle of tiny messages).
    assert all(len(p) >= limit // 2 for p in pieces[:-1])
