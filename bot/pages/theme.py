"""A page's colour as a readable accent: WCAG contrast, a text-safe shade, the text to put on it.

A host picks any "#rrggbb" for a page (``scheduling_pages.colour``). The visitor pages use the
accent as link and text colour on light backgrounds and as the background of buttons with white
text, so :func:`accent_theme` derives what keeps both readable (contrast at least
:data:`MIN_CONTRAST`, WCAG 2 AA for normal text):

* ``--accent``: the colour itself when it is dark enough, else the same hue darkened until it
  is (so every existing use of ``var(--accent)`` stays readable, white button text included);
* ``--accent-raw``: the colour exactly as picked, for decoration (the host's initials circle);
* ``--on-accent-raw``: white, dark ink or black, whichever reads on the raw colour.

:func:`theme_css` is the small style sheet ``/meetings-theme/<hex>.css`` answers with (see
:mod:`bot.handlers.brand`); CSP forbids inline styles, so the colour arrives as a sheet.
"""

from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass

MIN_CONTRAST = 4.5
PAGE_BACKGROUND = "#f7f8fb"  # the lightest background accent text sits on (slotbot.css --bg; cards are #fff)
DARK_TEXT = "#1d2330"  # slotbot.css --ink
LIGHT_TEXT = "#ffffff"
BLACK = "#000000"

HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def parse_hex(text: str) -> str | None:
    """``text`` as a lower-case ``#rrggbb`` (the ``#`` optional), or None when it is not one."""
    match = HEX.match(text.strip())
    return None if match is None else "#" + match.group(1).lower()


def _channels(colour: str) -> tuple[float, float, float]:
    value = colour.lstrip("#")
    red, green, blue = (int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return red, green, blue


def _hex(red: float, green: float, blue: float) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in (red, green, blue))


def luminance(colour: str) -> float:
    """The WCAG 2 relative luminance of ``#rrggbb`` (0: black, 1: white)."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in _channels(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """The WCAG 2 contrast ratio of two colours (1 to 21)."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_on(colour: str) -> str:
    """The text colour for ``colour``: white when it reads (contrast >= :data:`MIN_CONTRAST`), else
    the page's dark ink when that reads, else black. When white does not reach 4.5 the colour's
    luminance is above 0.18, so black reaches more than 4.6: some choice always reads."""
    for candidate in (LIGHT_TEXT, DARK_TEXT):
        if contrast(colour, candidate) >= MIN_CONTRAST:
            return candidate
    return BLACK


def readable_shade(colour: str, background: str = PAGE_BACKGROUND) -> str:
    """``colour`` when it reads on ``background`` (contrast >= :data:`MIN_CONTRAST`), else the same
    hue and saturation with the lightness lowered just enough that it does."""
    if contrast(colour, background) >= MIN_CONTRAST:
        return colour
    hue, lightness, saturation = colorsys.rgb_to_hls(*_channels(colour))
    low, high = 0.0, lightness  # lightness 0 is black, which always reads on a light background
    for _ in range(24):  # bisect to well below one step of 1/255
        middle = (low + high) / 2
        if contrast(_hex(*colorsys.hls_to_rgb(hue, middle, saturation)), background) >= MIN_CONTRAST:
            low = middle
        else:
            high = middle
    return _hex(*colorsys.hls_to_rgb(hue, low, saturation))


@dataclass(frozen=True, slots=True)
class AccentTheme:
    """The colours a page's accent becomes (see the module doc)."""

    accent: str
    raw: str
    on_raw: str


def accent_theme(colour: str) -> AccentTheme:
    """The readable theme of a ``#rrggbb`` page colour."""
    return AccentTheme(accent=readable_shade(colour), raw=colour, on_raw=text_on(colour))


def theme_css(colour: str) -> str:
    """The style sheet that makes ``colour`` a page's accent."""
    theme = accent_theme(colour)
    return (f":root{{--accent:{theme.accent};--accent-raw:{theme.raw};"
            f"--on-accent-raw:{theme.on_raw}}}\n")
