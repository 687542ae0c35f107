"""Draws the chat page's home-screen icons (static/icon-192.png, icon-512.png) with Pillow:
`python -m integrations.web.icons`. The PNGs are committed; Pillow is needed only to redraw them."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
GREEN, WHITE = (10, 125, 69), (255, 255, 255)


def draw(size: int, path: Path) -> None:
    """A speech bubble on the page's green, with room for Android's round mask."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), GREEN)
    d = ImageDraw.Draw(img)
    u = size / 16
    d.rounded_rectangle((3 * u, 4 * u, 13 * u, 11 * u), radius=2 * u, fill=WHITE)
    d.polygon([(5 * u, 10.5 * u), (5 * u, 13.5 * u), (8 * u, 10.5 * u)], fill=WHITE)
    for x in (5.5, 8, 10.5):  # three dots: someone is answering
        d.ellipse(((x - 0.7) * u, 6.8 * u, (x + 0.7) * u, 8.2 * u), fill=GREEN)
    img.quantize(colors=8).save(path, optimize=True)


def main() -> None:
    for size in (192, 512):
        draw(size, STATIC / f"icon-{size}.png")


if __name__ == "__main__":
    main()
