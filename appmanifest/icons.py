"""The app's two icons, drawn in code: a 192×192 full-colour icon and a 32×32 white-on-transparent outline.

The motif is two interlocking rings (two parties in a relationship). The outline icon must contain only white
and transparency (Teams' rule), so it is built as an alpha mask drawn at 8× and downsampled, then applied to
pure white: every visible pixel is exactly white, edges are anti-aliased through alpha only.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

COLOR_SIZE = 192
OUTLINE_SIZE = 32
ACCENT = (58, 91, 160)  # #3A5BA0, the manifest's accentColor
_SUPER = 8


def _rings_mask(size: int, *, margin: float, width: float) -> Image.Image:
    """An ``L`` mask of two interlocking rings filling a ``size`` square, anti-aliased by supersampling."""
    big = size * _SUPER
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    r = big * (0.5 - margin) * 0.62
    cy = big / 2
    stroke = max(1, round(big * width))
    for cx in (big * 0.5 - r * 0.55, big * 0.5 + r * 0.55):
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=255, width=stroke)
    return mask.resize((size, size), Image.Resampling.LANCZOS)


def color_icon() -> bytes:
    """192×192 PNG: white rings on the accent colour, full bleed (Teams rounds the corners itself)."""
    image = Image.new("RGB", (COLOR_SIZE, COLOR_SIZE), ACCENT)
    image.paste((255, 255, 255), (0, 0), _rings_mask(COLOR_SIZE, margin=0.14, width=0.055))
    return _png(image)


def outline_icon() -> bytes:
    """32×32 PNG: white rings on a transparent background (no padding: Teams adds its own)."""
    image = Image.new("RGBA", (OUTLINE_SIZE, OUTLINE_SIZE), (255, 255, 255, 0))
    image.putalpha(_rings_mask(OUTLINE_SIZE, margin=0.02, width=0.09))
    return _png(image)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
