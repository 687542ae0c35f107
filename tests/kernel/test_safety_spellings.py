"""Passwords in any phrasing and the spellings of private numbers residents really type (issues 16 and 17),
and the filter's cost on crafted input: linear, under a millisecond for any message the channels accept."""

from __future__ import annotations

import gc
import random
import re
import time

import pytest

from kernel.safety import screen


@pytest.mark.parametrize("text, secret", [
    ("mật khẩu vneid của tôi là Lan@1960x mà không đăng nhập được", "Lan@1960x"),
    ("mk vneid cua toi la hoa12345", "hoa12345"),
    ("mat khau ngan hang Matkhau@2024", "Matkhau@2024"),
    ("pass 1234 nhé cháu", "1234"),
    ("pass cua app la Abcd!999", "Abcd!999"),
    ("my password is Sunflower88!", "Sunflower88!"),
    ("password is hoalanvang", "hoalanvang"),
    ("Mật khẩu: BaNoi1950", "BaNoi1950"),
    ("mk:abc123 nhé", "abc123"),
    ("MATKHAU=Xuan_2023 đó", "Xuan_2023"),
    ("mật mã thẻ atm là 7788 cháu ạ", "7788"),
    ("mã pin momo của bà là 5566", "5566"),
    ("tôi đổi mật khẩu mới là NguyenVanA rồi mà vẫn không vào được", "NguyenVanA"),
    ("passcode 123456", "123456"),
])
def test_passwords_are_redacted_whole_and_warned_about(text: str, secret: str) -> None:
    result = screen(text)
    assert "[secret]" in result.text or "[otp]" in result.text, result.text
    for piece in (secret, secret.rstrip("!"), secret[:-1]):
        assert piece not in result.text, result.text
    assert result.shared_secret


@pytest.mark.parametrize("text, kind, needle", [
    ("cccd001203004568", "id_number", "001203004568"),
    ("sdt0912345679", "phone_number", "0912345679"),
    ("OTP482914", "otp_code", "482914"),
    ("gọi cho tôi (091) 234 5674", "phone_number", "234 5674"),
    ("số tôi 0912\u00a0345\u00a0678", "phone_number", "345"),
    ("cccd 001\u202f203\u202f004\u202f568", "id_number", "004"),
    ("mã về máy là 48 29 15", "otp_code", "48 29 15"),
    ("so dien thoai 091\u200b234\u200b5678", "phone_number", "5678"),
    ("căn cước ００１２０３００４５６８", "id_number", "００１"),
    ("ma otp: 482 914", "otp_code", "482 914"),
])
def test_common_spellings_of_private_numbers(text: str, kind: str, needle: str) -> None:
    result = screen(text)
    assert kind in result.found, result
    assert needle not in result.text, result.text


@pytest.mark.parametrize("text", [
    "quên mật khẩu vneid thì làm sao",
    "đổi mật khẩu ngân hàng Vietcombank thế nào",
    "mat khau la gi vay",
    "my password is wrong",
    "pin điện thoại yếu quá",
    "gọi 1900 0368 bấm phím 4",
    "nộp 200 000 đồng phí lý lịch tư pháp",
    "Tôi ở thôn 3, năm 2024 nộp 200.000 đồng, bước 2",
    "mật khẩu phải có 8 đến 20 ký tự à",
    "bị lừa mất 50 triệu rồi",
])
def test_ordinary_messages_keep_their_words(text: str) -> None:
    result = screen(text)
    assert result.text == text
    assert not result.shared_secret


def _crafted(rng: random.Random) -> str:
    """Messages built to make a backtracking matcher slow: keywords, separators and digits in long runs."""
    pieces = ["pin", "mk", "pass", "mật khẩu", "mat khau", "OTP", "là", ":", "=", "(", ")", "+", "1", "12", "123",
              "1234", "0912", "a", "Ab1", "@", "-", ".", " ", "  ", "\u00a0", "\u200b", "İ", "ễ", "x" * 50]
    shape = rng.randrange(4)
    size = rng.randrange(100, 4097)
    if shape == 0:  # a keyword then a long run of one separator ("pin" + 4,000 spaces)
        text = rng.choice(pieces[:5]) + rng.choice([" ", ".", "-", "1 ", "1-", "(", "\u00a0", ":"]) * size
    elif shape == 1:  # one piece repeated
        text = rng.choice(pieces) * (size // 3 + 1)
    elif shape == 2:  # a random soup
        text = "".join(rng.choice(pieces) for _ in range(size // 3))
    else:  # two pieces alternating
        a, b = rng.choice(pieces), rng.choice(pieces)
        text = (a + b) * (size // max(1, len(a + b)) + 1)
    return text[:4096]


@pytest.mark.slow  # load: 10,000 crafted messages
def test_ten_thousand_crafted_messages_each_under_a_millisecond() -> None:
    rng = random.Random(16017)
    worst, worst_text = 0.0, ""
    gc.collect()
    gc.disable()  # a collection of the whole suite's heap is not the filter's cost
    try:
        worst, worst_text = _worst(rng)
    finally:
        gc.enable()
    assert worst < 0.001, f"{worst * 1000:.2f} ms for {worst_text[:60]!r}… ({len(worst_text)} characters)"


def _cost(text: str, attempts: int) -> float:
    """CPU time of this thread for one screening, best of `attempts`: the filter's own cost, not the load."""
    best = 1.0
    for _ in range(attempts):
        start = time.thread_time()
        screen(text)
        best = min(best, time.thread_time() - start)
        if best < 0.0005:
            break
    return best


def _worst(rng: random.Random) -> tuple[float, str]:
    worst, worst_text = 0.0, ""
    for _ in range(10_000):
        text = _crafted(rng)
        cost = _cost(text, 5)
        if cost > 0.0008:  # close to the limit: on a busy machine measure again, after giving up the CPU
            time.sleep(0.01)
            cost = min(cost, _cost(text, 20))
        if cost > worst:
            worst, worst_text = cost, text
    return worst, worst_text


def test_no_long_digit_run_survives_random_input() -> None:
    """Property over random text: whatever the spelling, nine digits or more in a row (IDs, phones) never reach
    storage, and what is stored holds nothing the filter would still call an ID or a phone number."""
    rng = random.Random(7)
    alphabet = "0123456789 .-()+:=abcXYZ@#đễ\u00a0\u202fmkpassOTPlà０５"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 120)))
        out = screen(text).text
        assert re.search(r"\d{9,}", out) is None, (text, out)
        assert not screen(out).found & {"id_number", "phone_number"}, (text, out)
