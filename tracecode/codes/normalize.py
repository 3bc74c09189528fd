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

import json
import re
import unicodedata
from dataclasses import dataclass

from tracecode.codes import gs1

__all__ = [
    "INVALID_REASONS",
    "SCHEMES",
    "STATUSES",
    "NormalizedCode",
    "cell_split_flag",
    "gs1_candidates",
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
    "gs1_ambiguous",  # GS-less GS1 string with more than one reading (code: the candidates)
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

GS = gs1.GS

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
    """Unicode-normalise, strip wrappers and scanner prefix. Never changes letter case: GS1
    serials are case-sensitive."""
    s = unicodedata.normalize("NFKC", raw)
    s = _INVISIBLE_RE.sub("", s)
    s = _strip_wrappers(s)
    m = _SYMBOLOGY_RE.match(s)
    if m:
        s = _strip_wrappers(s[m.end() :])
    return s


# ---------------------------------------------------------------------------
# GS1 element strings (the reading itself is in tracecode.codes.gs1)
# ---------------------------------------------------------------------------

gs1_check_digit_ok = gs1.check_digit_ok
AMBIGUOUS_JOIN = "|"  # joins the candidate codes of a gs1_ambiguous string


def gs1_candidates(code: str) -> list[str]:
    """The candidate codes listed in the ``code`` of a ``gs1_ambiguous`` result."""
    return [c for c in code.split(AMBIGUOUS_JOIN) if c and c != "…"]


def _gs1_forms(s: str) -> list[str]:
    """Whitespace inside a GS1 string: a field separator (HRI printed with spaces), or dirt."""
    s = s.strip(_WS_CHARS)
    forms = [_WS_RE.sub(GS, s)]
    joined = _WS_RE.sub("", s)
    if joined != forms[0]:
        forms.append(joined)
    return forms


def _decide_gs1(found: list[gs1.Gs1Reading], complete: bool) -> NormalizedCode:
    """The pack a GS1 string names, from all its readings: valid only when every reading
    with a good GTIN check digit names the same (GTIN, serial)."""
    good = [r for r in found if gs1.check_digit_ok(r.gtin or "")]
    if not good:
        first = found[0]
        return _invalid(gs1.identity_code(first.gtin or "", first.serial), "gs1_check_digit")
    identities: list[tuple[str, str | None]] = []
    for r in good:
        key = (r.gtin or "", r.serial)
        if key not in identities:
            identities.append(key)
    if len(identities) == 1 and complete:
        gtin, serial = identities[0]
        if serial is None:
            return _invalid(gs1.identity_code(gtin, None), "gs1_no_serial")
        return NormalizedCode(gs1.identity_code(gtin, serial), "valid", "gs1", None, gtin)
    codes = [gs1.identity_code(g, s) for g, s in identities] + ([] if complete else ["…"])
    return _invalid(AMBIGUOUS_JOIN.join(codes), "gs1_ambiguous")


def _parse_gs1(s: str) -> tuple[NormalizedCode | None, tuple[str, str] | None]:
    """Try ``s`` as a GS1 element string.

    Returns (valid result, None), or (None, (code, reason)) when the string is GS1 (has a
    GTIN) but invalid or ambiguous, or (None, None) when it does not read as GS1 at all.
    The first spelling (see :func:`_gs1_forms`) that reads at all decides.
    """
    for form in _gs1_forms(s):
        read = gs1.readings(form)
        if read is None:
            continue
        result = _decide_gs1(*read)
        if result.valid:
            return result, None
        return None, (result.code, result.reason or "bad_characters")
    return None, None


# ---------------------------------------------------------------------------
# One code
# ---------------------------------------------------------------------------


def normalize_code(raw: str | None) -> NormalizedCode:
    """Normalise and classify one raw traceability code.

    Cleaning: NFKC (full-width → ASCII, U+3000/NBSP → space), zero-width characters
    removed, surrounding whitespace and quotes stripped, an Excel ``="…"`` wrapper or
    leading apostrophe removed, a scanner symbology prefix (``]d2``, ``]C1`` …) removed;
    letter case is kept (GS1 serials are case-sensitive); inside an otherwise-digit code,
    spaces and dashes are removed.

    Classification (first match wins): placeholder text → ``placeholder``; nothing left →
    ``empty``; digits only: one digit repeated → ``placeholder``, 20 digits starting with 8
    → valid ``nhsa20``, a valid GS1 digit string → valid ``gs1``, else ``bad_prefix`` (20
    digits) / a GS1 reason / ``bad_length``; otherwise a GS1 element string (parentheses,
    GS in any spelling, or GS dropped: see :mod:`tracecode.codes.gs1`) → valid ``gs1``
    (code ``'01'+GTIN+'21'+serial``) or ``gs1_check_digit`` / ``gs1_no_serial`` /
    ``gs1_ambiguous`` (code: the candidate codes joined by ``|``); Excel number forms (``8.12345678901235E+19``, ``…789.0``) →
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
    if s.upper() in _PLACEHOLDER_TEXTS or _DASH_ONLY_RE.match(s):
        return _invalid(s, "placeholder")

    # Digits with spaces, tabs, dashes or GS markers in between.
    core = _SPACING_RE.sub("", gs1.GS_SPELLINGS_RE.sub("", s))
    if _is_digits(core):
        if core.count(core[0]) == len(core):
            return _invalid(core, "placeholder")
        if len(core) == 20 and core[0] == "8":
            return NormalizedCode(core, "valid", "nhsa20", None, core[:7])
        # a GS1 string of digits: it starts with a medicine AI, or it has separators
        if len(core) >= 16 and (gs1.starts_with_medicine_ai(core) or core != s):
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
    if _EXCEL_RE.match(compact.upper()):
        return _invalid(compact.upper(), "excel_scientific")
    # best-effort code: no whitespace, GS characters spelled as <GS> (printable)
    return _invalid(compact.replace(GS, "<GS>"), "bad_characters")


# ---------------------------------------------------------------------------
# Several codes in one cell
# ---------------------------------------------------------------------------

# Separators that always split: , ; ， ； 、 | ｜ and line breaks.
_SEP_CHARS = ",;\uff0c\uff1b\u3001|\uff5c\n\r\u2028\u2029\u0085"
_SEP_RE = re.compile("[" + re.escape(_SEP_CHARS) + "]")
_MIN_WS_PIECE = 16  # whitespace splits only when every piece is at least this long
_JSON_CODE_KEYS = ("drug_trac_codg", "drugtracinfo", "drugTracInfo", "drug_trac_info", "drugTracCodg", "code")
_JSON_FLAG_KEYS = ("trdnFlag", "trdn_flag", "TrdnFlag")


def _json_value(text: str):
    """The JSON value a cell holds, or None (only cells that look like an object or list)."""
    if not (text[:1] in "{[" and text[-1:] in "}]"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _json_codes(value) -> list[str] | None:
    """The codes in a JSON cell value: a list of codes / objects, or an object with one of
    the code keys (values may be a list, an object, a string holding JSON, or a code)."""
    if isinstance(value, str):
        inner = _json_value(value.strip(_WS_CHARS))
        return _json_codes(inner) if inner is not None else split_codes(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out.extend(_json_codes(item) or [])
        return out
    if isinstance(value, dict):
        for key in _JSON_CODE_KEYS:
            if key in value and value[key] is not None:
                return _json_codes(value[key]) or []
        return []
    return None


def cell_split_flag(cell: str | None) -> str | None:
    """The split-pack flag (``trdnFlag``) a JSON code cell carries, as ``'0'``/``'1'``
    text as written, or None when the cell holds none."""
    if not cell or "rdn" not in cell.lower():
        return None
    value = _json_value(cell.strip(_WS_CHARS))
    if not isinstance(value, dict):
        return None
    for key in _JSON_FLAG_KEYS:
        if key in value and value[key] is not None:
            return str(value[key]).strip()
    return None


def split_codes(cell: str | None) -> list[str]:
    """Split one cell into the raw codes it holds.

    ``,`` ``;`` ``，`` ``；`` ``、`` ``|`` and line breaks always split. Whitespace splits
    only when every whitespace-separated piece is at least 16 characters long (so
    ``8123 4567 8901 2345 6789`` stays one code, while two 20-digit codes separated by a
    space are two). A cell holding JSON — a list (``["…","…"]``), ``drug_trac_codg``
    objects, a ``{"trdnFlag": …, "drugtracinfo": [...]}`` grid cell — yields the listed
    codes (see :func:`cell_split_flag` for its flag). Pieces are stripped of surrounding whitespace;
    pieces that are empty (or only quotes) are dropped. ``None`` gives ``[]``.
    """
    if cell is None:
        return []
    if not isinstance(cell, str):
        cell = str(cell)
    text = cell.strip(_WS_CHARS)
    value = _json_value(text)
    if value is not None:
        codes = _json_codes(value)
        if codes is not None:
            return [c for c in codes if c.strip(_QUOTES + _WS_CHARS)]
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

