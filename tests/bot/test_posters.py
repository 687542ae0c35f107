"""`python -m bot posters`: A4 PDFs whose QR codes decode back to each village's links (rendered as a printer would
render them, then read with zxing-cpp), Vietnamese text that survives in the PDF, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp

from bot.__main__ import main
from bot.posters import PosterError, find_fonts

CHANNELS = ["--telegram-bot", "@TroLySoUngHoaBot", "--zalo-oa", "1234567890123", "--web-url",
            "https://trolyso.example.vn/"]
A4_POINTS = (595.28, 841.89)


def _read(path: Path) -> tuple[set[str], str, tuple[float, float]]:
    """The QR codes' texts on the page rendered at 100 dpi, the page's text, its size in points."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        assert len(pdf) == 1
        page = pdf[0]
        image = page.render(scale=100 / 72).to_pil()
        codes = {r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode}
        return codes, page.get_textpage().get_text_range(), page.get_size()
    finally:
        pdf.close()


def test_each_villages_poster_carries_its_links_as_qr_codes(tmp_path: Path) -> None:
    out = tmp_path / "posters"
    assert main(["posters", *CHANNELS, "--out", str(out), "--village", "dai-cuong", "--village", "dong-lo"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["poster-dai-cuong.pdf", "poster-dong-lo.pdf"]
    for code, place, team in (("dai-cuong", "xã cũ Đại Cường", "Tổ công nghệ số Đại Cường"),
                              ("dong-lo", "xã cũ Đông Lỗ", "Tổ công nghệ số xã Ứng Hòa")):
        codes, text, size = _read(out / f"poster-{code}.pdf")
        assert codes == {f"https://t.me/TroLySoUngHoaBot?start={code}", "https://zalo.me/1234567890123",
                         "https://trolyso.example.vn/"}
        assert size == pytest.approx(A4_POINTS, abs=0.5)
        assert "TRỢ LÝ SỐ" in text and place in text and team in text  # the font has the Vietnamese letters
        assert "không bao giờ hỏi mật khẩu hay mã OTP" in text


def test_every_place_by_default_and_only_the_channels_given(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "all"
    assert main(["posters", "--telegram-bot", "TroLySoUngHoaBot", "--out", str(out)]) == 0
    assert len(list(out.iterdir())) == 8  # the eight former communes in villages.yml
    assert "--zalo-oa, --web-url" in capsys.readouterr().err
    codes, _text, _size = _read(out / "poster-trung-tu.pdf")
    assert codes == {"https://t.me/TroLySoUngHoaBot?start=trung-tu"}


@pytest.mark.parametrize(("args", "says"), [
    ([], "give at least one channel"),
    (["--telegram-bot", "bad name!"], "--telegram-bot must be the bot's username"),
    (["--zalo-oa", "javascript:alert(1)"], "--zalo-oa must be"),
    (["--web-url", "trolyso"], "--web-url must be"),
    ([*CHANNELS, "--village", "nowhere"], "unknown village code(s): nowhere"),
    ([*CHANNELS, "--font", __file__], "not a TrueType font with every Vietnamese letter"),
])
def test_refusals_say_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                 says: str) -> None:
    assert main(["posters", *args, "--out", str(tmp_path / "none")]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "none").exists() or not list((tmp_path / "none").iterdir())


def test_without_a_vietnamese_font_it_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(PosterError, match="apt-get install fonts-dejavu-core"):
        find_fonts(candidates=[(str(tmp_path / "missing.ttf"), str(tmp_path / "missing-Bold.ttf"))])
    fonts = find_fonts()  # the machine has one (make test installs fonts-dejavu-core)
    assert fonts.regular.suffix == ".ttf" and fonts.bold.is_file()
