"""GS1 element strings as scanners send them: the readings of one string and the pack
identity (GTIN, serial) they give. See docs/RULES.md, "How a GS1 code is read".

The Application Identifier table is the one the ``biip`` package ships, generated from
GS1's published syntax dictionary (lengths, character sets, date checks per AI); it is
read from biip's JSON file without importing biip.

* A string with separators (GS / FNC1 in any spelling, or ``(ai)`` parentheses) is read
  as the GS1 General Specifications say: a fixed-length field has its length, a
  variable-length field runs to the next separator or the end; every AI of the table.
* A string without any separator ("GS-less": the scanner dropped them) is read every way
  the medicine AIs allow (``01 17 11 10 21 710-715 91-99``): a variable field may end
  wherever another of those AIs can start and the rest still reads completely (dates
  must be valid YYMMDD). All readings are kept; the caller decides.

Values are never case-folded: AI 21 serials are case-sensitive.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "GS",
    "AiSpec",
    "Gs1Reading",
    "ai_table",
    "check_digit_ok",
    "identity_code",
    "readings",
    "separated_form",
]

GS = "\x1d"  # ASCII 29, FNC1 as transmitted by scanners

#: AIs a GS-less medicine pack string may hold (DOMAIN.md): split points of a GS-less read.
MEDICINE_AIS: frozenset[str] = frozenset(
    ["01", "17", "11", "10", "21", *(f"71{d}" for d in range(6)), *(f"9{d}" for d in range(1, 10))]
)
MAX_LENGTH = 200  # longer strings are not read (bounded work)
MAX_READINGS = 64  # a GS-less string with more readings than this is ambiguous anyway
_STEP_BUDGET = 20000


@dataclass(frozen=True, slots=True)
class AiSpec:
    """One Application Identifier: fixed value length (or None) and max length, and the
    exact pattern of ``ai + value`` from the syntax dictionary."""

    ai: str
    fixed: int | None
    max_len: int
    pattern: re.Pattern[str]

    def accepts(self, value: str) -> bool:
        return bool(self.pattern.fullmatch(self.ai + value))


def _biip_table_path() -> Path:
    spec = importlib.util.find_spec("biip")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the biip package (its GS1 AI table) is not installed: pip install biip")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "gs1_application_identifiers" / "_application_identifiers.json"


def _lengths(fmt: str) -> tuple[int | None, int]:
    """(fixed length or None, max length) of the value, from a format such as
    ``N2+X..20`` or ``N4+N14[+X..16]`` (the first component is the AI itself)."""
    parts = fmt.split("+")[1:]
    numbers = [int(n) for p in parts for n in re.findall(r"\d+", p.split("..")[-1])]
    variable = any(".." in p or "[" in p or "]" in p for p in parts)
    total = sum(numbers)
    return (None if variable else total), total


@lru_cache(maxsize=1)
def ai_table() -> dict[str, AiSpec]:
    """Every GS1 Application Identifier: ``{ai: AiSpec}``."""
    with open(_biip_table_path(), encoding="utf-8") as fh:
        entries = json.load(fh)
    table: dict[str, AiSpec] = {}
    for e in entries:
        fixed, max_len = _lengths(e["format"])
        table[e["ai"]] = AiSpec(e["ai"], fixed, max_len, re.compile(e["pattern"]))
    return table


@lru_cache(maxsize=65536)  # a month holds few GTINs, each on many packs
def check_digit_ok(gtin: str) -> bool:
    """True when the last digit of a GTIN (any length) is its GS1 mod-10 check digit."""
    if len(gtin) < 2 or not (gtin.isascii() and gtin.isdigit()):
        return False
    total = sum(int(ch) * (3 if i % 2 == 0 else 1) for i, ch in enumerate(reversed(gtin[:-1])))
    return (10 - total % 10) % 10 == int(gtin[-1])


@dataclass(frozen=True, slots=True)
class Gs1Reading:
    """One complete reading of an element string: its fields in order."""

    fields: tuple[tuple[str, str], ...]

    def get(self, ai: str) -> str | None:
        for a, v in self.fields:
            if a == ai:
                return v
        return None

    @property
    def gtin(self) -> str | None:
        return self.get("01")

    @property
    def serial(self) -> str | None:
        return self.get("21")

    def hri(self) -> str:
        """Human-readable form, ``(01)…(21)…(10)…``."""
        return "".join(f"({a}){v}" for a, v in self.fields)


def identity_code(gtin: str, serial: str | None) -> str:
    """The normalised code of a GS1 pack: ``'01' + GTIN-14 + '21' + serial`` (the serial
    as scanned, case kept); ``'01' + GTIN-14`` when there is no serial."""
    return "01" + gtin + ("" if serial is None else "21" + serial)


# Textual spellings of FNC1/GS. 'è' (chr 232) is what a keyboard wedge types for FNC1 on
# some layouts; it is never a character of a GS1 value (not in character set 82).
GS_SPELLINGS_RE = re.compile(
    r"<GS>|\{GS\}|\[GS\]|<FNC1>|\{FNC1\}|\\x1d|\\u001d|\u241d|\u00e8|\x1d", re.IGNORECASE
)
_PAREN_AI_RE = re.compile(r"\((\d{2,4})\)")


def separated_form(s: str) -> tuple[str, bool]:
    """``s`` with every separator spelling as GS and ``(ai)`` parentheses turned into GS
    separators, stripped of GS at both ends; and whether it had any separator at all."""
    t = GS_SPELLINGS_RE.sub(GS, s)
    if t.startswith("("):
        table = ai_table()
        t = _PAREN_AI_RE.sub(lambda m: GS + m.group(1) if m.group(1) in table else m.group(0), t)
    # A scanner that sends a separator anywhere (even only a leading FNC1) sends them all.
    return t.strip(GS), GS in t


def starts_with_medicine_ai(t: str) -> bool:
    """True when ``t`` begins with one of :data:`MEDICINE_AIS`."""
    return _match_ai(t, 0, MEDICINE_AIS) is not None


class _Budget:
    __slots__ = ("left",)

    def __init__(self, left: int):
        self.left = left


def _match_ai(t: str, pos: int, allowed: frozenset[str] | None) -> str | None:
    table = ai_table()
    for n in (2, 3, 4):
        ai = t[pos : pos + n]
        if ai in table:  # the AI table is prefix-free: at most one length matches
            return ai if allowed is None or ai in allowed else None
    return None


def _read_strict(segment: str) -> list[tuple[str, str]] | None:
    """One segment (between separators) read per the General Specifications."""
    fields: list[tuple[str, str]] = []
    pos = 0
    table = ai_table()
    while pos < len(segment):
        ai = _match_ai(segment, pos, None)
        if ai is None:
            return None
        spec = table[ai]
        start = pos + len(ai)
        if spec.fixed is not None:
            stop = start + spec.fixed
        else:
            stop = len(segment)
        value = segment[start:stop]
        if not value or not spec.accepts(value):
            return None
        fields.append((ai, value))
        pos = stop
    return fields


def _read_gsless(t: str, pos: int, budget: _Budget, seen: frozenset[str]):
    """Every complete reading of ``t[pos:]`` with the medicine AIs, each AI once."""
    if pos >= len(t):
        yield []
        return
    budget.left -= 1
    if budget.left < 0:
        return
    ai = _match_ai(t, pos, MEDICINE_AIS)
    if ai is None or ai in seen:
        return
    spec = ai_table()[ai]
    start = pos + len(ai)
    if spec.fixed is not None:
        stops = [start + spec.fixed]
    else:
        stops = [s for s in range(min(len(t), start + spec.max_len), start, -1)
                 if s == len(t) or _match_ai(t, s, MEDICINE_AIS) is not None]
    for stop in stops:
        value = t[start:stop]
        if len(value) != stop - start or not spec.accepts(value):
            continue
        for rest in _read_gsless(t, stop, budget, seen | {ai}):
            yield [(ai, value), *rest]


def readings(s: str) -> tuple[list[Gs1Reading], bool] | None:
    """The complete readings of a cleaned string as a GS1 element string (each with AI 01),
    and whether that list is complete: a string with separators has exactly one reading; a
    GS-less one has every reading, unless there were too many to list (then ``False``).
    ``None`` when the string is not a GS1 element string at all."""
    if len(s) > MAX_LENGTH:
        return None
    t, separated = separated_form(s)
    if not t:
        return None
    if separated:
        fields: list[tuple[str, str]] = []
        for segment in t.split(GS):
            if not segment:
                continue
            part = _read_strict(segment)
            if part is None:
                return None
            fields.extend(part)
        ais = [a for a, _ in fields]
        if "01" not in ais or len(set(ais)) != len(ais):
            return None
        return [Gs1Reading(tuple(fields))], True
    if _match_ai(t, 0, MEDICINE_AIS) is None:
        return None
    found: list[Gs1Reading] = []
    budget = _Budget(_STEP_BUDGET)
    for parse in _read_gsless(t, 0, budget, frozenset()):
        reading = Gs1Reading(tuple(parse))
        if reading.gtin is not None:
            found.append(reading)
        if len(found) > MAX_READINGS:
            break
    if not found:
        return None
    return found, budget.left >= 0 and len(found) <= MAX_READINGS
