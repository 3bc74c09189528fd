"""The report's own font: Noto Sans CJK SC (SIL Open Font License 1.1, shipped by the
``manimgx-fonts-cjk`` package), cut with fontTools to the characters the page uses (its Latin
letters and digits too) and embedded as a WOFF data: URL, so that a browser on a machine with no
font installed at all still draws every word of the page.

Chromium with no system font at all loads a data: URL ``@font-face`` unreliably: the face ends in
status ``error`` (no decode message) in about half the runs, always when the page is drawn at its
load event, and then the page shows no text. A face made from the font's bytes by the FontFace API
is parsed at once, so a small script in the head, run before the body is laid out, adds the same
bytes (read from the stylesheet, not embedded twice) as a FontFace; the ``@font-face`` stays for
browsers without scripts."""

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
    """The SC face holding only the glyphs of ``text`` (and the printable ASCII), as WOFF bytes
    (the OpenType font, zlib-compressed: a third smaller); None without the font or fontTools."""
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
    font.flavor = "woff"
    out = io.BytesIO()
    font.recalcTimestamp = False  # the font's own date, not now: one page of one month is one set of bytes
    font.save(out)
    return out.getvalue()


# Adds the @font-face rule's bytes as a FontFace before the body is laid out (see the module's
# docstring); does nothing where the rule, FontFace or atob is missing.
FONT_SCRIPT = (
    "<script>(function(){if(!window.FontFace||!window.atob)return;"
    "var ss=document.styleSheets;for(var k=0;k<ss.length;k++){var rs=ss[k].cssRules;"
    "for(var j=0;j<rs.length;j++){var r=rs[j];if(!(r instanceof CSSFontFaceRule))continue;"
    "var m=/base64,([A-Za-z0-9+\\/=]+)/.exec(r.style.getPropertyValue('src'));if(!m)continue;"
    "try{var s=atob(m[1]),a=new Uint8Array(s.length);for(var i=0;i<s.length;i++)a[i]=s.charCodeAt(i);"
    f"var f=new FontFace('{FAMILY}',a.buffer,{{weight:'100 900'}});document.fonts.add(f);"
    "document.documentElement.setAttribute('data-font',f.status);}catch(e){}return;}}})();</script>"
)


def font_face_css(text: str) -> str:
    """An ``@font-face`` rule for :data:`FAMILY` with the glyphs of ``text``, and the rule that
    every element uses it; "" when the font is not available (the page then uses the system's
    fonts)."""
    data = subset_font(text)
    if data is None:
        return ""
    url = "data:font/woff;base64," + base64.b64encode(data).decode("ascii")
    # the embedded font alone, on every element (inline styles too: the rings drawing names its
    # fonts): a family the machine lacks stands for nothing, and this font holds every
    # character of the page
    return (f'@font-face{{font-family:"{FAMILY}";src:url({url}) format("woff");font-weight:100 900}}'
            f'*{{font-family:"{FAMILY}"!important}}')


def embed_font(page: str) -> str:
    """``page`` with its own font: the ``@font-face`` at the end of its first stylesheet and the
    script that installs it right after; the page unchanged without the font."""
    css = font_face_css(page)
    if not css:
        return page
    return page.replace("</style>", css + "</style>" + FONT_SCRIPT, 1)
