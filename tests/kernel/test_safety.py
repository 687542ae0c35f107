"""The safety filter redacts citizen ID numbers, phone numbers, one-time codes and passcodes."""

import pytest

from kernel.safety import screen


@pytest.mark.parametrize("text, secret, kind", [
    ("số cccd của tôi là 001203004567", "001203004567", "id_number"),
    ("cccd 001 203 004 567 nhé", "001 203 004 567", "id_number"),
    ("sdt em 0912345678", "0912345678", "phone_number"),
    ("goi cho toi 0912.345.678", "0912.345.678", "phone_number"),
    ("my number is +84 912 345 678", "+84 912 345 678", "phone_number"),
    ("ma otp la 482913", "482913", "otp_code"),
    ("OTP: 4829", "4829", "otp_code"),
    ("mã kích hoạt 55821", "55821", "otp_code"),
    ("482913", "482913", "otp_code"),
])
def test_private_numbers_are_redacted(text: str, secret: str, kind: str) -> None:
    result = screen(text)
    assert secret not in result.text
    assert kind in result.found
    for digit_run in ("001203004567", "0912345678", "482913", "4829", "55821"):
        assert digit_run not in result.text.replace(" ", "").replace(".", "")


def test_passcode_after_a_keyword_is_redacted_and_flagged() -> None:
    result = screen("mật khẩu của tôi là Abc@1234 đó")
    assert "Abc@1234" not in result.text
    assert result.shared_secret


def test_ordinary_numbers_are_kept() -> None:
    text = "Tôi ở thôn 3, năm 2024 nộp 200.000 đồng, bước 2"
    result = screen(text)
    assert result.text == text
    assert result.found == frozenset()
    assert not result.shared_secret


def test_phone_number_is_not_a_secret_to_warn_about() -> None:
    result = screen("sđt 0987654321")
    assert "phone_number" in result.found
    assert not result.shared_secret


def test_decomposed_unicode_is_normalised_before_matching() -> None:
    import unicodedata

    text = unicodedata.normalize("NFD", "mã OTP là 123456")
    result = screen(text)
    assert "123456" not in result.text
    assert result.shared_secret
