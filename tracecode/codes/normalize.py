"""Normalise and classify drug traceability codes (药品追溯码).

A pack's identity is its *normalised* code string (see DOMAIN.md, "The code"):

* NHSA / 码上放心 codes: exactly 20 digits starting with ``8`` (scheme ``nhsa20``; the
  product id is the first 7 digits);
* GS1 element strings (imported drugs): AI ``01`` GTIN-14 with a valid mod-10 check digit
  and AI ``21`` serial. The canonical code is ``'01' + gtin14 + '21' + serial`` (scheme
  ``gs1``; the product id is the GTIN). Batch (10), expiry (17) and other AIs are parsed
  but are not part of the identity.

Everything else is ``invalid`` with one of :data:`INVALID_REASONS`. Invalid codes still get
a best-effort cleaned ``code`` so that they can be hashed and grouped.

``normalize_code`` handles one value; ``normalize_arrow.normalize_array`` and ``explode_codes`` work on
whole Arrow arrays, with a pure-Arrow fast path for the (vast) majority of already clean
20-digit codes and the Python functions only for the other, de-duplicated values.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "INVALID_REASONS",
    "STATUSES",
    "SCHEMES",
    "NormalizedCode",
    "normalize_code",
    "split_codes",
]

INVALID_REASONS: tuple[str, ...] = (
    "empty",  # nothing left after cleaning
    "excel_scientific",  # went through Excel as a number: digits are lost
    "placeholder",  # one digit repeated, or a text such as 无 / NULL / N/A / -
    "bad_length",  # a digit string that is not 20 digits (and not GS1)
    "bad_prefix",  # 20 digits not starting with 8 (and not a valid GS1 string)
    "bad_characters",  # letters or symbols, and not a parseable GS1 element string
    "gs1_check_digit",  # GS1 string whose GTIN-14 mod-10 check digit is wrong
    "gs1_no_serial",  # GS1 string with a GTIN but no AI 21 serial
)

STATUSES: tuple[str, ...] = ("valid", "invalid")
SCHEMES: tuple[str, ...] = ("nhsa20", "gs1")


@dataclass(frozen=True, slots=True)
class NormalizedCode:
    """The result of normalising one raw code.

    Attributes:
        code: the normalised code ('' when nothing usable). For an invalid code this is the
            cleaned string (best effort), so that it can still be hashed and grouped.
        status: ``'valid'`` or ``'invalid'``.
        scheme: ``'nhsa20'`` or ``'gs1'`` when valid, else ``None``.
        reason: ``None`` when valid, else one of :data:`INVALID_REASONS`.
        product_id: nhsa20: the first 7 digits; gs1: the 14-digit GTIN; ``None`` when
            invalid.
    """

    code: str
    status: str
    scheme: str | None
    reason: str | None
    product_id: str | None

    @property
    def valid(self) -> bool:
        return self.status == "valid"


def _invalid(code: str, reason: str) -> NormalizedCode:
    return NormalizedCode(code, "invalid", None, reason, None)


# ---------------------------------------------------------------------------
# Character classes
# ---------------------------------------------------------------------------

GS = "\x1d"  # ASCII 29, the GS1 group separator (FNC1 as transmitted by scanners)

# Whitespace as we mean it. Not str.isspace(): Python counts \x1c-\x1f (incl. GS) as space.
_WS_CHARS = (
    " \t\n\r\f\v\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WS_CLASS = "[" + re.escape(_WS_CHARS) + "]"
_WS_RE = re.compile(_WS_CLASS + "+")
# Zero-width characters that sneak in from web pages and Word: removed everywhere.
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Quote characters stripped when they surround the code.
_QUOTES = "'\"\u201c\u201d\u2018\u2019\u00b4`"
# Dashes removed inside an otherwise-digit code ('-' after NFKC, and the Unicode dashes).
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"
_DASH_CLASS = "[" + re.escape(_DASHES) + "]"
_DASH_RE = re.compile(_DASH_CLASS)
_SPACING_RE = re.compile(_WS_CLASS + "|" + _DASH_CLASS + "|" + "\x1d")  # removed in digit codes
# Scanner symbology identifier (ISO/IEC 15424): ']' + letter + digit, e.g. ]d2 ]C1 ]Q3 ]e0.
_SYMBOLOGY_RE = re.compile(r"^\][A-Za-z][0-9]")
# Textual spellings of the GS character (after upper-casing).
_GS_TEXTS = ("<GS>", "\\X1D", "\\U001D", "[GS]", "{GS}", "\u241d", "<FNC1>")

_PLACEHOLDER_TEXTS = frozenset(
    {
        "无", "空", "暂无", "无码", "没有", "NULL", "NONE", "NAN", "NA", "N/A", "#N/A",
        "NIL", "UNDEFINED", "/", "\\", "?", "*", "#",
    }
)  # fmt: skip
_DASH_ONLY_RE = re.compile("^" + _DASH_CLASS + "+$")

_EXCEL_RE = re.compile(r"^[+-]?\d+(?:[.,]\d*)?E[+-]?\d+$|^\d+[.,]0*$", re.ASCII)
_NHSA_RE = re.compile(r"^8\d{19}$", re.ASCII)


def _is_digits(s: str) -> bool:
    """True for a non-empty string of ASCII digits (str.isdigit also accepts ²、٣ …)."""
    return bool(s) and s.isascii() and s.isdigit()


# ---------------------------------------------------------------------------
# Cleaning
# ---------------------------------------------------------------------------


def _strip_wrappers(s: str) -> str:
    """Strip surrounding whitespace, surrounding quotes, an Excel ``="…"`` wrapper and a
    leading apostrophe (Excel's text marker), repeatedly."""
    while True:
        before = s
        s = s.strip(_WS_CHARS)
        if s.startswith('="') and s.endswith('"') and len(s) >= 3:  # Excel formula text
            s = s[2:-1]
            continue
        if len(s) >= 2 and s[0] in _QUOTES and s[-1] in _QUOTES:
            s = s[1:-1]
        elif s[:1] in ("'", "\u2018", "\u2019", "`"):
            s = s[1:]
        if s == before:
            return s


def _clean(raw: str) -> str:
    """Unicode-normalise, strip wrappers and scanner prefix, upper-case."""
    s = unicodedata.normalize("NFKC", raw)
    s = _INVISIBLE_RE.sub("", s)
    s = _strip_wrappers(s)
    m = _SYMBOLOGY_RE.match(s)
    if m:
        s = _strip_wrappers(s[m.end() :])
    return s.upper()


# ---------------------------------------------------------------------------
# GS1 element strings
# ---------------------------------------------------------------------------

# AI -> (fixed length?, length or max length). The AIs we know; an unknown AI makes the
# string unparseable.
_GS1_AIS: dict[str, tuple[bool, int]] = {
    "00": (True, 18),  # SSCC
    "01": (True, 14),  # GTIN
    "02": (True, 14),  # GTIN of contained trade items
    "10": (False, 20),  # batch / lot
    "11": (True, 6),  # production date
    "12": (True, 6),  # due date
    "13": (True, 6),  # packaging date
    "15": (True, 6),  # best before
    "16": (True, 6),  # sell by
    "17": (True, 6),  # expiry
    "20": (True, 2),  # internal product variant
    "21": (False, 20),  # serial
    "22": (False, 20),  # consumer product variant
    "30": (False, 8),  # variable count
    "37": (False, 8),  # count of trade items
    "240": (False, 30),  # additional product id
    "241": (False, 30),  # customer part number
    "250": (False, 30),  # secondary serial
    "7003": (True, 10),  # expiration date and time
    "710": (False, 20),  # national healthcare reimbursement numbers (DE, FR, ES, BR, PT…)
    "711": (False, 20),
    "712": (False, 20),
    "713": (False, 20),
    "714": (False, 20),
    "715": (False, 20),
}
# GS1 AI encodable character set 82 (upper-cased: we upper-case every code).
_GS1_CHARSET = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ!\"%&'()*+,-./:;<=>?_")
_PAREN_AI_RE = re.compile(r"\((\d{2,4})\)")
_MAX_GS1_LEN = 160  # longer strings are not attempted (bounded parse time)
_PARSE_BUDGET = 2000  # recursion steps per string


def gs1_check_digit_ok(gtin: str) -> bool:
    """True when the last digit of a GTIN (any length) is its GS1 mod-10 check digit."""
    if not _is_digits(gtin) or len(gtin) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(gtin[:-1])):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10 == int(gtin[-1])


class _Budget:
    __slots__ = ("left",)

    def __init__(self, left: int):
        self.left = left


def _match_ai(t: str, pos: int) -> str | None:
    for n in (2, 3, 4):
        ai = t[pos : pos + n]
        if ai in _GS1_AIS:
            return ai
    return None


def _gs1_parses(t: str, pos: int, budget: _Budget, dropped_gs: bool):
    """Yield every full parse of ``t[pos:]`` as a list of (ai, value), preferred first.

    A variable-length field ends at the next GS or the end of the string ("greedy"
    reading, preferred). When ``dropped_gs`` (the string holds no GS at all), shorter
    readings are also tried, longest value first, so that a GS-less
    ``…10BATCH21SERIAL`` can still be read.
    """
    while pos < len(t) and t[pos] == GS:
        pos += 1
    if pos >= len(t):
        yield []
        return
    budget.left -= 1
    if budget.left < 0:
        return
    ai = _match_ai(t, pos)
    if ai is None:
        return
    fixed, size = _GS1_AIS[ai]
    start = pos + len(ai)
    if fixed:
        value = t[start : start + size]
        if len(value) != size or not _is_digits(value):
            return
        for rest in _gs1_parses(t, start + size, budget, dropped_gs):
            yield [(ai, value), *rest]
        return
    gs_at = t.find(GS, start)
    end = len(t) if gs_at < 0 else gs_at
    candidates: list[int] = []
    if 0 < end - start <= size:
        candidates.append(end)  # greedy: up to the GS / end of string
    if dropped_gs:  # the value may end earlier, where another AI starts
        for k in range(min(size, end - start - 1), 0, -1):
            if _match_ai(t, start + k) is not None:
                candidates.append(start + k)
    for stop in candidates:
        value = t[start:stop]
        if not all(c in _GS1_CHARSET for c in value):
            continue
        for rest in _gs1_parses(t, stop, budget, dropped_gs):
            yield [(ai, value), *rest]


def _gs1_fields(t: str) -> tuple[dict[str, str] | None, str | None]:
    """Parse a GS-normalised element string into {ai: value}.

    Returns (fields, None) for a complete, valid reading (GTIN with a good check digit and
    a serial), or (best structural reading or None, reason) otherwise.
    """
    if len(t) > _MAX_GS1_LEN:
        return None, "bad_characters"
    budget = _Budget(_PARSE_BUDGET)
    first: dict[str, str] | None = None
    tried = 0
    for parse in _gs1_parses(t, 0, budget, GS not in t):
        fields: dict[str, str] = {}
        consistent = True
        for ai, value in parse:
            if fields.get(ai, value) != value:
                consistent = False
                break
            fields[ai] = value
        if not consistent or "01" not in fields:
            continue
        if first is None:
            first = fields
        if "21" in fields and gs1_check_digit_ok(fields["01"]):
            return fields, None
        tried += 1
        if tried >= 64:
            break
    if first is None:
        return None, "bad_characters"
    if not gs1_check_digit_ok(first["01"]):
        return first, "gs1_check_digit"
    return first, "gs1_no_serial"


def _gs1_forms(s: str) -> list[str]:
    """The GS-normalised spellings of a cleaned string to try as a GS1 element string."""
    for text in _GS_TEXTS:
        if text in s:
            s = s.replace(text, GS)
    if s.startswith("("):
        s = _PAREN_AI_RE.sub(lambda m: GS + m.group(1), s)
    s = s.strip(GS + _WS_CHARS)
    forms = [_WS_RE.sub(GS, s)]  # whitespace as a field separator (HRI with spaces)
    joined = _WS_RE.sub("", s)  # or as mere dirt
    if joined != forms[0]:
        forms.append(joined)
    return forms


def _parse_gs1(s: str) -> tuple[NormalizedCode | None, tuple[str, str] | None]:
    """Try ``s`` as a GS1 element string.

    Returns (valid result, None), or (None, (best-effort code, reason)) when the string is
    GS1-like (has a GTIN) but invalid, or (None, None) when it does not parse at all.
    The first spelling (see :func:`_gs1_forms`) that parses at all decides.
    """
    for form in _gs1_forms(s):
        fields, reason = _gs1_fields(form)
        if fields is None:
            continue
        gtin = fields["01"]
        if reason is None:
            code = "01" + gtin + "21" + fields["21"]
            return NormalizedCode(code, "valid", "gs1", None, gtin), None
        code = "01" + gtin + ("21" + fields["21"] if "21" in fields else "")
        return None, (code, reason)
    return None, None


# ---------------------------------------------------------------------------
# One code
# ---------------------------------------------------------------------------


def normalize_code(raw: str | None) -> NormalizedCode:
    """Normalise and classify one raw traceability code.

    Cleaning: NFKC (full-width → ASCII, U+3000/NBSP → space), zero-width characters
    removed, surrounding whitespace and quotes stripped, an Excel ``="…"`` wrapper or
    leading apostrophe removed, a scanner symbology prefix (``]d2``, ``]C1`` …) removed,
    letters upper-cased; inside an otherwise-digit code, spaces and dashes are removed.

    Classification (first match wins): placeholder text → ``placeholder``; nothing left →
    ``empty``; digits only: one digit repeated → ``placeholder``, 20 digits starting with 8
    → valid ``nhsa20``, a valid GS1 digit string → valid ``gs1``, else ``bad_prefix`` (20
    digits) / a GS1 reason / ``bad_length``; otherwise a GS1 element string (parentheses,
    GS or ``<GS>`` separators, or GS dropped) → valid ``gs1`` or ``gs1_check_digit`` /
    ``gs1_no_serial``; Excel number forms (``8.12345678901235E+19``, ``…789.0``) →
    ``excel_scientific``; anything else → ``bad_characters``.

    Never raises for any ``str`` or ``None`` input; other objects are converted with
    ``str()``.
    """
    if raw is None:
        return _invalid("", "empty")
    if not isinstance(raw, str):
        raw = str(raw)
    if len(raw) == 20 and _NHSA_RE.match(raw):  # fast path: already clean
        if raw.count(raw[0]) == 20:
            return _invalid(raw, "placeholder")
        return NormalizedCode(raw, "valid", "nhsa20", None, raw[:7])

    s = _clean(raw)
    if not s:
        return _invalid("", "empty")
    if s in _PLACEHOLDER_TEXTS or _DASH_ONLY_RE.match(s):
        return _invalid(s, "placeholder")

    # Digits with spaces, tabs, dashes or GS markers in between.
    gs_free = s
    for text in _GS_TEXTS:
        if text in gs_free:
            gs_free = gs_free.replace(text, "")
    core = _SPACING_RE.sub("", gs_free)
    if _is_digits(core):
        if core.count(core[0]) == len(core):
            return _invalid(core, "placeholder")
        if len(core) == 20 and core[0] == "8":
            return NormalizedCode(core, "valid", "nhsa20", None, core[:7])
        if core.startswith("01") and len(core) >= 16:
            ok, failure = _parse_gs1(s)  # a serial may contain '-'
            if ok is None and failure is None:
                ok, failure = _parse_gs1(_DASH_RE.sub("", s))
            if ok is not None:
                return ok
            if failure is not None and len(core) != 20:
                return _invalid(failure[0], failure[1])
        return _invalid(core, "bad_prefix" if len(core) == 20 else "bad_length")

    ok, failure = _parse_gs1(s)
    if ok is not None:
        return ok
    if failure is not None:
        return _invalid(failure[0], failure[1])

    compact = _WS_RE.sub("", s)
    if _EXCEL_RE.match(compact):
        return _invalid(compact, "excel_scientific")
    # best-effort code: no whitespace, GS characters spelled as <GS> (printable)
    return _invalid(compact.replace(GS, "<GS>"), "bad_characters")


# ---------------------------------------------------------------------------
# Several codes in one cell
# ---------------------------------------------------------------------------

# Separators that always split: , ; ， ； 、 | ｜ and line breaks.
_SEP_CHARS = ",;\uff0c\uff1b\u3001|\uff5c\n\r\u2028\u2029\u0085"
_SEP_RE = re.compile("[" + re.escape(_SEP_CHARS) + "]")
_MIN_WS_PIECE = 16  # whitespace splits only when every piece is at least this long
_JSON_CODE_RE = re.compile(r'"drug_trac_codg"\s*:\s*"([^"]*)"')


def split_codes(cell: str | None) -> list[str]:
    """Split one cell into the raw codes it holds.

    ``,`` ``;`` ``，`` ``；`` ``、`` ``|`` and line breaks always split. Whitespace splits
    only when every whitespace-separated piece is at least 16 characters long (so
    ``8123 4567 8901 2345 6789`` stays one code, while two 20-digit codes separated by a
    space are two). A cell holding a JSON list (``["…","…"]``) or ``drug_trac_codg``
    objects yields the listed codes. Pieces are stripped of surrounding whitespace;
    pieces that are empty (or only quotes) are dropped. ``None`` gives ``[]``.
    """
    if cell is None:
        return []
    if not isinstance(cell, str):
        cell = str(cell)
    text = cell.strip(_WS_CHARS)
    if "drug_trac_codg" in text:
        found = _JSON_CODE_RE.findall(text)
        if found:
            return [p for c in found for p in split_codes(c)]
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    out: list[str] = []
    for piece in _SEP_RE.split(text):
        piece = piece.strip(_WS_CHARS)
        if not piece.strip(_QUOTES + _WS_CHARS):
            continue
        parts = _WS_RE.split(piece)
        if len(parts) > 1 and all(len(p) >= _MIN_WS_PIECE for p in parts):
            out.extend(parts)
        else:
            out.append(piece)
    return out

