"""`python -m bot posters`: a printable A4 poster (PDF) per village, with QR codes for the assistant's channels.

Each poster names the village, says in large type what the assistant helps with, and carries a QR code for
each channel given: the Telegram deep link with the village's code (`?start=<code>`: the resident's village is
noted at once), the commune's Zalo Official Account and the web chat. QR codes are drawn as vector squares
(segno's matrix, error correction Q) so they print sharp at any size. The text needs a TrueType font with
Vietnamese letters (DejaVu Sans, Liberation Sans...): found on the machine, or given with --font.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integrations.web.page import N_
from integrations.web.posters_api import PosterRefused
from kernel.commune import Commune, CommuneSource, Village, load_commune, place_name
from kernel.i18n import Catalogs, Translator
from kernel.settings import ROOT, load_settings

Runner = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]

# Where Debian (fonts-dejavu-core, fonts-liberation), other Linux systems and macOS keep fonts with Vietnamese.
FONT_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
    ("/Library/Fonts/Arial Unicode.ttf", "/Library/Fonts/Arial Unicode.ttf"),
)
VIETNAMESE = "ĂÂĐÊÔƠƯăâđêôơưẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹ"
TELEGRAM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
START_PARAM = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what Telegram accepts after ?start=


class PosterError(Exception):
    """The posters cannot be made as asked; the message says what to do, `field` what was wrong (the web page
    says it in its own words): telegram_bot, zalo_oa, web_url, channels, village or font."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Fonts:
    regular: Path
    bold: Path


@dataclass(frozen=True)
class Channels:
    """Where residents reach the assistant; an empty one is left off the posters."""

    telegram_bot: str = ""  # the bot's username, without @
    zalo_oa: str = ""  # the Official Account's id, or its full https link
    web_url: str = ""  # the web chat's public address

    def links(self, village: str) -> list[tuple[str, str]]:
        """(label, link) of each channel, for one place's poster."""
        out = []
        if self.telegram_bot:
            out.append(("Telegram", f"https://t.me/{self.telegram_bot}?start={village}"))
        if self.zalo_oa:
            out.append(("Zalo", self.zalo_oa if self.zalo_oa.startswith("https://") else
                        f"https://zalo.me/{self.zalo_oa}"))
        if self.web_url:
            out.append(("Web", self.web_url))
        return out


def channels(telegram_bot: str | None, zalo_oa: str | None, web_url: str | None) -> Channels:
    """The channels from the command line, checked."""
    bot = (telegram_bot or "").strip().removeprefix("@")
    if bot and not TELEGRAM_NAME.fullmatch(bot):
        raise PosterError(f"--telegram-bot must be the bot's username (5-32 letters, digits or _), not {bot!r}",
                          "telegram_bot")
    oa = (zalo_oa or "").strip()
    if oa and not (re.fullmatch(r"[0-9]{5,32}", oa) or re.fullmatch(r"https://zalo\.me/[A-Za-z0-9_./-]+", oa)):
        raise PosterError(f"--zalo-oa must be the Official Account's id (digits) or its https://zalo.me/ link, "
                          f"not {oa!r}", "zalo_oa")
    web = (web_url or "").strip()
    if web and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", web):
        raise PosterError(f"--web-url must be the web chat's address, e.g. https://trolyso.example.vn/, not {web!r}",
                          "web_url")
    if not (bot or oa or web):
        raise PosterError("give at least one channel: --telegram-bot, --zalo-oa or --web-url", "channels")
    return Channels(bot, oa, web)


def covers_vietnamese(path: Path) -> bool:
    """Whether the TrueType font has a glyph for every Vietnamese letter."""
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(str(path), lazy=True) as font:
            cmap = font.getBestCmap() or {}
    except (OSError, TTLibError):
        return False
    return all(ord(c) in cmap for c in VIETNAMESE)


def find_fonts(given: str | None = None, candidates: Iterable[tuple[str, str]] = FONT_CANDIDATES) -> Fonts:
    """The font to print with: --font (regular, its bold beside it if there is one), else the first candidate
    on this machine that has every Vietnamese letter. PosterError says how to get one."""
    if given:
        regular = Path(given)
        if not regular.is_file() or not covers_vietnamese(regular):
            raise PosterError(f"--font {given}: not a TrueType font with every Vietnamese letter", "font")
        bold = regular.with_name(regular.stem + "-Bold" + regular.suffix)
        return Fonts(regular, bold if bold.is_file() and covers_vietnamese(bold) else regular)
    for regular_name, bold_name in candidates:
        regular, bold = Path(regular_name), Path(bold_name)
        if regular.is_file() and covers_vietnamese(regular):
            return Fonts(regular, bold if bold.is_file() and covers_vietnamese(bold) else regular)
    raise PosterError("no TrueType font with Vietnamese letters found (looked for DejaVu Sans and Liberation "
                      "Sans); install one (Debian: apt-get install fonts-dejavu-core) or pass --font FILE.ttf", "font")


def _qr(pdf: Any, link: str, x: float, y: float, size: float) -> None:
    """The link's QR code as black squares in a size x size mm box (quiet zone included)."""
    import segno

    code = segno.make_qr(link, error="q", boost_error=False)
    rows = [list(row) for row in code.matrix]
    border = 4
    module = size / (len(rows) + 2 * border)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):  # one rectangle per run of dark modules: a small file, no hairline gaps
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            pdf.rect(x + (border + start) * module, y + (border + r) * module, (c - start) * module, module,
                     style="F")


def _document(fonts: Fonts, title: str) -> Any:
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_margins(15, 15, 15)
    pdf.add_font("poster", "", str(fonts.regular))
    pdf.add_font("poster", "B", str(fonts.bold))
    pdf.set_title(title)
    pdf.set_creator("Trợ lý số (python -m bot posters)")
    return pdf


def poster(commune: Commune, village: Village, links: list[tuple[str, str]], fonts: Fonts,
           tr: Translator) -> bytes:
    """One A4 page for the place, as PDF bytes."""
    pdf = _document(fonts, tr("Trợ lý số xã {commune}: {place}", commune=commune.name,
                              place=place_name(tr, village)))
    _page(pdf, commune, village, links, tr)
    return bytes(pdf.output())


def posters_pdf(commune: Commune, ways: Channels, fonts: Fonts, tr: Translator, codes: Iterable[str] = ()) -> bytes:
    """One PDF with a page per place (all of villages.yml unless codes are given): the dashboard's download."""
    places = _places(commune, codes)
    pdf = _document(fonts, tr("Trợ lý số xã {commune}", commune=commune.name))
    for village in places:
        _page(pdf, commune, village, ways.links(village.code), tr)
    return bytes(pdf.output())


def _page(pdf: Any, commune: Commune, village: Village, links: list[tuple[str, str]], tr: Translator) -> None:
    """The place's poster on a new A4 page of the document."""
    pdf.add_page()
    width = pdf.w - 30

    def text(size: float, line: str, bold: bool = False, height: float | None = None) -> None:
        pdf.set_font("poster", "B" if bold else "", size)
        pdf.multi_cell(width, height or size * 0.5, line, align="C", new_x="LMARGIN", new_y="NEXT")

    text(40, tr("TRỢ LÝ SỐ"), bold=True, height=18)
    text(24, tr("xã {commune}", commune=commune.name), height=12)
    pdf.ln(4)
    pdf.set_fill_color(0, 0, 0)
    pdf.rect(15, pdf.get_y(), width, 0.8, style="F")
    pdf.ln(6)
    text(30, place_name(tr, village), bold=True, height=14)
    pdf.ln(4)
    text(20, tr("Hướng dẫn từng bước: VNeID, dịch vụ công trực tuyến, thanh toán điện tử, "
                "phòng chống lừa đảo."), height=10)
    pdf.ln(6)
    text(20, tr("Quét mã bằng camera điện thoại:"), bold=True, height=10)
    pdf.ln(4)
    gap = 8.0
    size = min(80.0, (width - gap * (len(links) - 1)) / max(len(links), 1))
    left = 15 + (width - size * len(links) - gap * (len(links) - 1)) / 2
    top = pdf.get_y()
    for n, (label, link) in enumerate(links):
        x = left + n * (size + gap)
        pdf.set_xy(x, top)
        pdf.set_font("poster", "B", 22)
        pdf.cell(size, 11, tr("Trang web") if label == "Web" else label, align="C")
        _qr(pdf, link, x, top + 12, size)
        pdf.set_xy(x, top + 13 + size)
        pdf.set_font("poster", "", 9)
        pdf.multi_cell(size, 4.5, link.removeprefix("https://"), align="C")
    pdf.set_xy(15, top + size + 28)
    text(17, tr("Mở camera, hướng vào một mã, bấm vào đường link hiện ra, rồi nhắn câu hỏi của bạn, có dấu hay "
                "không dấu đều được."), height=8.5)
    pdf.ln(5)
    text(18, tr("Trợ lý không bao giờ hỏi mật khẩu hay mã OTP của bạn. Đừng đưa các mã này cho ai."), bold=True,
         height=9)
    pdf.ln(5)
    team = commune.teams.serving(village.code)
    if team is not None:
        where = team.text("contact", tr.language)
        text(18, tr("Cần người giúp trực tiếp: {team}", team=team.text("name", tr.language)) +
             (f" ({where})" if where else "") + ".", height=9)


def _places(commune: Commune, codes: Iterable[str]) -> list[Village]:
    """The places asked for (every place when none is), each fit for a Telegram link; PosterError otherwise."""
    wanted = list(codes)
    unknown = [c for c in wanted if commune.village(c) is None]
    if unknown:
        raise PosterError(f"unknown village code(s): {', '.join(unknown)} (see villages.yml)", "village")
    places = [v for v in (commune.village(c) for c in wanted) if v is not None] if wanted else list(commune.villages)
    for village in places:
        if not START_PARAM.fullmatch(village.code):
            raise PosterError(f"village code {village.code!r} cannot go in a Telegram link (letters, digits, - _)",
                              "village")
    return places


def write_posters(commune: Commune, ways: Channels, fonts: Fonts, tr: Translator, out: Path,
                  codes: Iterable[str] = ()) -> list[Path]:
    """poster-<code>.pdf in `out` for each place (all of villages.yml unless codes are given)."""
    places = _places(commune, codes)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for village in places:
        path = out / f"poster-{village.code}.pdf"
        path.write_bytes(poster(commune, village, ways.links(village.code), fonts, tr))
        written.append(path)
    return written


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> dict[str, Runner]:
    p = sub.add_parser("posters", help="a printable A4 PDF per village with QR codes for the channels")
    p.add_argument("--telegram-bot", metavar="USERNAME", help="the bot's username (the deep link carries the "
                                                                "village code)")
    p.add_argument("--zalo-oa", metavar="ID|URL", help="the commune's Zalo Official Account (its id or link)")
    p.add_argument("--web-url", metavar="URL", help="the web chat's public address")
    p.add_argument("--village", action="append", default=[], metavar="CODE", help="only this place (repeat)")
    p.add_argument("--out", default=str(ROOT / "var/posters"), help="folder for the PDFs (default var/posters)")
    p.add_argument("--font", metavar="FILE.ttf", help="a TrueType font with Vietnamese letters")
    p.add_argument("--language", default=None, help="the posters' language (default: the assistant's)")
    return {"posters": run}


async def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    catalogs = Catalogs(settings.locales_dir, settings.languages, settings.default_language)
    try:
        ways = channels(args.telegram_bot, args.zalo_oa, args.web_url)
        fonts = find_fonts(args.font)
        paths = write_posters(load_commune(settings.commune_dir), ways, fonts, catalogs.get(args.language),
                              Path(args.out), args.village)
    except PosterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    missing = [flag for flag, value in (("--telegram-bot", ways.telegram_bot), ("--zalo-oa", ways.zalo_oa),
                                        ("--web-url", ways.web_url)) if not value]
    if missing:
        print(f"note: no {', '.join(missing)}: those QR codes are left off", file=sys.stderr)
    return 0


# What the dashboard's download says, in the page's language, for each PosterError.field.
REFUSALS = {
    "telegram_bot": N_("Bot Telegram: ghi tên người dùng của bot (5–32 chữ cái, chữ số hoặc dấu _), ví dụ "
                       "TroLySoUngHoaBot."),
    "zalo_oa": N_("Zalo OA: ghi mã số của tài khoản chính thức hoặc đường link https://zalo.me/…"),
    "web_url": N_("Trang web: ghi địa chỉ bắt đầu bằng https://, ví dụ https://trolyso.example.vn/"),
    "channels": N_("Hãy ghi ít nhất một kênh: bot Telegram, Zalo OA hoặc trang web."),
    "village": N_("Không có thôn, xã cũ này."),
    "font": N_("Máy chủ chưa có phông chữ tiếng Việt để in áp phích; người quản trị cài gói fonts-dejavu-core."),
}


class WebPosters:
    """The dashboard's posters button (integrations.web.posters_api): the same posters as the command, one PDF."""

    def __init__(self, commune: CommuneSource, catalogs: Catalogs) -> None:
        self.commune, self.catalogs = commune, catalogs

    async def pdf(self, village: str | None, telegram_bot: str, zalo_oa: str, web_url: str,
                  language: str | None) -> bytes:
        try:
            ways = channels(telegram_bot, zalo_oa, web_url)
            fonts = find_fonts()
            # The posters in the commune's language; drawing eight pages takes a moment: off the event loop.
            return await asyncio.to_thread(posters_pdf, self.commune.current(), ways, fonts, self.catalogs.get(None),
                                           [village] if village else [])
        except PosterError as exc:
            raise PosterRefused(self.catalogs.get(language)(REFUSALS.get(exc.field, REFUSALS["channels"]))) from None
