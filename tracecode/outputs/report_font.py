"""The report's own font: Noto Sans CJK SC (SIL Open Font License 1.1, shipped by the
``manimgx-fonts-cjk`` package), cut with fontTools to the characters the page uses and embedded as
a data: URL, so that a browser on a server with no CJK font installed still draws the Chinese."""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from pathlib import Path

FAMILY = "TracecodeCJK"
_FACE_SC = 2  # the collection's faces: JP, KR, SC, TC, HK


@lru_cache(maxsize=1)
def font_path() -> Path | None:
    """The Noto Sans CJK collection, or None when the package is not installed."""
    try:
        import manimgx_fonts_cjk
    except ImportError:
        return None
    path = Path(manimgx_fonts_cjk.__file__).parent / "NotoSansCJK-VF.otf.ttc"
    return path if path.exists() else None


def subset_font(text: str) -> bytes | None:
    """The SC face holding only the glyphs of ``text`` (and the printable ASCII), as OpenType
    bytes; None without the font or fontTools."""
    path = font_path()
    if path is None:
        return None
    try:
        from fontTools import subset
        from fontTools.ttLib import TTCollection
    except ImportError:
        return None
    font = TTCollection(str(path)).fonts[_FACE_SC]
    options = subset.Options()
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(text) | {chr(c) for c in range(0x20, 0x7F)})))
    subsetter.subset(font)
    out = io.BytesIO()
    font.recalcTimestamp = False  # the font's own date, not now: one page of one month is one set of bytes
    font.save(out)
    return out.getvalue()


def font_face_css(text: str) -> str:
    """An ``@font-face`` rule for :data:`FAMILY` with the glyphs of ``text``, or "" when the
    font is not available (the page then uses the system's fonts)."""
    data = subset_font(text)
    if data is None:
        return ""
    url = "data:font/otf;base64," + base64.b64encode(data).decode("ascii")
    # the embedded font alone: Chromium with no system font draws nothing when a missing local
    # family stands in the list beside it, and the font holds every character of the page
    return (f'@font-face{{font-family:"{FAMILY}";src:url({url}) format("opentype");font-weight:100 900}}'
            f'body,.code{{font-family:"{FAMILY}"}}')
