"""Synthetic pharmacy uploads — sales (3505), returns (3506), purchases and purchase returns
(3503/3504), deletes (3507) — with planted re-use cases.

``generate(out_dir, rows)`` writes a month-by-month set of uploads plus the ground truth the
rules of docs/RULES.md must find in them:

* ``formats="all"`` (small data, e.g. ``data/sample``): every month's sales are spread over
  every input format the reader supports, one pharmacy group per file — canonical UTF-8
  CSV, UTF-8-with-BOM CSV with Chinese headers, GBK CSV with Chinese headers and
  ``2026/1/5 9:03`` times, Excel .xlsx (real datetime cells, a few codes stored as
  numbers), NHSA JSON messages and Parquet — plus returns as CSV and JSON, and purchases as
  3503/3504 JSON messages. NHSA JSON comes in both eras: the 2025 layout (``input.selinfo``
  of ~39 fields, ``finl_trns_pric``, ``drugtracinfo`` lists, the pharmacy code often only in
  the header, receipts of several lines as 3505A ``selinfoDetail[]`` batches, 3506 without
  ``rtal_docno``) in ``sales_M.jsonl``, and the 2021 layout (flat ``drug_trac_codg``, every
  value a string, ISO ``T`` times, some messages pretty-printed) in ``sales_M_2021.json``.
  A few reject-worthy records are planted and listed in ``expected_rejects.csv``.
* ``formats="nhsa-json"``: the same, every upload as NHSA JSON messages.
* ``formats="csv"`` (benchmarks, up to 100M rows): one canonical UTF-8 CSV of sales and one
  of returns per month, generated with numpy and written with pyarrow ~1M rows at a time,
  and ``purchases_M.csv`` / ``purchase_returns_M.csv`` (3503/3504 field names).

Pharmacies with purchase data (every 4th, at most 50) buy every pack they sell, one record
per drug as the month opens, unless a planted case says otherwise; other pharmacies have
no purchase data. Planted cases also sell coded drugs without a code (uncoded_sale; a
decoction piece without one is the benign look-alike) and return packs without naming a
receipt (3506 with ``medins_prod_sel_no`` ""), and 3507 deletes (``deletes_M``) of sale records
in the month they were uploaded: a deleted duplicate, a wrong upload deleted and sent again,
one of three copies, a record never uploaded.

Always written: ``catalog.csv`` (med_list_codg, code_prefix, pack_units), ``truth.csv``
(rule, drug_trac_codg, month — every month in which the code has a flagged row, computed
with the catalogue given; an uncoded_sale finding is named ``uncoded:<pharmacy>:<drug>``),
``truth_cases.csv`` (every planted code and the case it belongs to, benign look-alikes
included), ``truth_people.csv``, ``truth_rings.csv`` and ``manifest.json``. ``rows`` counts
the sale and return records; purchases and deletes come on top.

How the truth is kept exact: every background code is unique and consistent with its drug,
so background rows can trip no rule. Every planted case is an instance of a small template
(a few events of a few codes at a few pharmacies, with fixed order and month offsets);
the template's flagged events are computed once by :func:`reference_findings` — a direct,
row-by-row reading of docs/RULES.md — and every instance inherits them. With
``formats="all"`` and ``"nhsa-json"`` the whole output is also re-judged row by row and must agree.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import json
import math
import re
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tracecode.inputs.columns import CANONICAL_COLUMNS, LABELS_ZH
from tracecode.rules.catalogue import RULE_IDS

#: --formats: every format (small data), canonical CSV only (benchmarks), NHSA JSON messages only.
FORMATS = ("all", "csv", "nhsa-json")

__all__ = ["FORMATS", "RULE_IDS", "SynthSummary", "generate", "parse_count", "reference_findings"]


OPEN_START = 8 * 3600  # pharmacies open 08:00-22:00
OPEN_LEN = 14 * 3600
MINUTE, HOUR, DAY = 60, 3600, OPEN_LEN  # DAY: one opening day (times are "open seconds")
CHUNK_ROWS = 1_000_000
SCENARIO_SHARE = 0.03  # planted-case records as a share of all records
REJECT_SHARE = 0.002  # formats="all" only
INSURED_SHARE = 0.7
GS = "\x1d"

SALE_COLUMNS = tuple(c for c in CANONICAL_COLUMNS if c != "medins_prod_sel_no")
RETURN_COLUMNS = CANONICAL_COLUMNS

# Format groups of formats="all": each pharmacy's sales go to one of these files.
G_CSV, G_BOM, G_GBK, G_XLSX, G_JSONL, G_PARQUET = range(6)
N_GROUPS = 6
# Not a pharmacy's group: the JSON records written in the 2021 layout (every other pharmacy of
# G_JSONL, single-code lines: the flat drug_trac_codg holds one code).
G_JSON2021 = 6
#: (group, file name pattern, format, encoding, headers)
SALE_FILES = (
    (G_CSV, "sales_{m}.csv", "csv", "utf-8", "canonical"),
    (G_BOM, "sales_{m}_zh_bom.csv", "csv", "utf-8-sig", "zh"),
    (G_GBK, "sales_{m}_zh_gbk.csv", "csv", "gbk", "zh"),
    (G_XLSX, "sales_{m}.xlsx", "xlsx", None, "zh"),
    (G_JSONL, "sales_{m}.jsonl", "json", "utf-8", "nhsa-json"),
    (G_PARQUET, "sales_{m}.parquet", "parquet", None, "canonical"),
    (G_JSON2021, "sales_{m}_2021.json", "json", "utf-8", "nhsa-json-2021"),
)
#: Pharmacies with purchase data (3503/3504): every BUYER_EVERY-th one, at most MAX_BUYERS.
#: They buy every pack they sell unless a planted case says otherwise, and take part in no
#: other planted case (a sale of an unbought code there is sale_without_purchase).
BUYER_EVERY, MAX_BUYERS = 4, 50
#: Event kinds in the row batches.
K_SALE, K_RETURN, K_PURCHASE, K_PURCHASE_RETURN, K_DELETE = range(5)
KIND_LETTERS = "SRPQD"

# Code spelling styles.
PLAIN, APOS, SPACES, FULLWIDTH = 0, 1, 2, 3
GS1_EL, GS1_PAREN, GS1_GS, GS1_SYM, GS1_NOGS = 4, 5, 6, 7, 8
INV_ZEROS, INV_EIGHTS, INV_WU, INV_EXCEL_TEXT, INV_EXCEL_NUM, INV_SHORT, INV_LONG, INV_GS1_CHECK = range(20, 28)
STYLES = {
    "plain": PLAIN, "apos": APOS, "spaces": SPACES, "fullwidth": FULLWIDTH,
    "gs1_element": GS1_EL, "gs1_paren": GS1_PAREN, "gs1_gs": GS1_GS, "gs1_symbology": GS1_SYM,
    "gs1_nogs": GS1_NOGS,
    "zeros": INV_ZEROS, "eights": INV_EIGHTS, "wu": INV_WU, "excel_text": INV_EXCEL_TEXT,
    "excel_number": INV_EXCEL_NUM, "short": INV_SHORT, "long": INV_LONG, "gs1_bad_check": INV_GS1_CHECK,
}  # fmt: skip
GS1_STYLES = (GS1_EL, GS1_PAREN, GS1_GS, GS1_SYM, GS1_NOGS)
SEPARATORS = (",", "；", "、")
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
# GS1 serial characters. Without 1, 7 and 9 no GS-less spelling '01…21<serial>' can also be
# read with an earlier end of the serial (AIs 10 11 17 71x 9x), so it names one pack for sure
# (docs/RULES.md, "How a GS1 code is read").
_ALPH32 = np.frombuffer(b"0234568ABCDEFGHIJKLMNPQRSTUVWXYZ", dtype=np.uint8)

# Bijections on the code/person/receipt counters: unique ids stay unique.
_SER_MUL, _SER_ADD = 387_420_489, 123_456_789  # mod 1e9
_GSER_MUL, _GSER_ADD = 740_025_173, 31_415_927  # mod 1e9
_PSN_MUL, _PSN_ADD = 2_654_435_761, 97_531_864_200  # mod 1e14
_SETL_MUL, _SETL_ADD = 1_103_515_245, 12_345_678_901  # mod 1e14


# ---------------------------------------------------------------------------------- public


@dataclass
class SynthSummary:
    """What :func:`generate` wrote."""

    out_dir: Path
    files: list[str]  # every file written, relative to out_dir
    rows_per_file: dict[str, int]  # input records per upload file (sales and returns)
    cases_per_rule: dict[str, int]  # truth.csv rows per rule
    rows: int  # sale and return records written (what ``rows`` asked for)
    injected_rows: int  # records that belong to planted cases (benign look-alikes included)
    other_rows: int = 0  # purchase, purchase return and delete records (on top of ``rows``)
    months: list[str] = field(default_factory=list)
    seed: int = 0
    formats: str = "all"
    pharmacies: int = 0
    drugs: int = 0
    seconds: float = 0.0


_COUNT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgb]?)\s*$", re.IGNORECASE)
_COUNT_MUL = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000, "b": 1_000_000_000}


def parse_count(text: str | int) -> int:
    """Parse a row count: ``"10M"`` → 10_000_000, ``"100k"``, ``"1.5m"``, ``"2_000"``, ``"250000"``."""
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"count must not be negative: {text}")
        return text
    m = _COUNT_RE.match(str(text).replace("_", "").replace(",", ""))
    if not m:
        raise ValueError(f"not a count: {text!r} (examples: 5000, 100k, 10M)")
    value = float(m.group(1)) * _COUNT_MUL[m.group(2).lower()]
    if value != int(value):
        raise ValueError(f"not a whole number of rows: {text!r}")
    return int(value)


def generate(
    out_dir: Path,
    rows: int,
    months: int = 2,
    seed: int = 0,
    start_month: str = "2026-01",
    formats: str = "all",
    pharmacies: int | None = None,
    progress: bool = False,
    verify: bool | None = None,
) -> SynthSummary:
    """Write synthetic uploads with planted cases and their ground truth into ``out_dir``.

    ``rows`` is the number of sale and return records over all upload files (planted cases
    and duplicates included); the purchases of the pharmacies with purchase data and the
    deletes come on top (``SynthSummary.other_rows``). ``verify`` re-judges the written rows with
    :func:`reference_findings` and compares with the template truth (default: on for
    ``formats="all"``; for ``"csv"`` it re-judges the planted rows only).
    Example: ``generate(Path("data/sample"), 4000, months=2, formats="all")``.
    """
    t0 = time.perf_counter()
    rows = parse_count(rows)
    if formats not in FORMATS:
        raise ValueError(f"formats must be one of {', '.join(FORMATS)}, not {formats!r}")
    if months < 1:
        raise ValueError("months must be at least 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rowwise = formats != "csv"
    if verify is None:
        verify = rowwise
    rng = np.random.default_rng(seed)
    n_ph = max(20, rows // 500) if pharmacies is None else int(pharmacies)
    if n_ph < 6:
        raise ValueError("at least 6 pharmacies are needed")
    world = _World.build(rng, start_month, months, n_ph, rows)
    gen = _Generator(world, rng, formats, progress)
    gen.plan(rows)
    if rowwise:
        gen.write_all(out_dir)
    else:
        gen.write_csv(out_dir)
    gen.write_side_files(out_dir)
    if verify:
        gen.verify()
    summary = SynthSummary(
        out_dir=out_dir,
        files=sorted(gen.files_written),
        rows_per_file=dict(sorted(gen.rows_per_file.items())),
        cases_per_rule={r: gen.truth_counts.get(r, 0) for r in RULE_IDS},
        rows=sum(n for f, n in gen.rows_per_file.items() if f.startswith(("sales_", "returns_"))),
        other_rows=sum(n for f, n in gen.rows_per_file.items() if not f.startswith(("sales_", "returns_"))),
        injected_rows=gen.scenario_rows,
        months=list(world.months),
        seed=seed,
        formats=formats,
        pharmacies=n_ph,
        drugs=world.n_drugs,
    )
    gen.write_manifest(out_dir, summary, rows)
    summary.files = sorted(gen.files_written)
    summary.seconds = time.perf_counter() - t0
    return summary


# ------------------------------------------------------------------- the reference judge


@dataclass(eq=False)
class OracleEvent:
    """One (record, code) event as the rules see it."""

    eid: int  # ingest order
    key: object  # normalised code (valid) or raw value (invalid)
    valid: bool
    kind: str  # 'S' sale / 'R' return / 'U' sale without a code (key: its finding's name) / 'P' purchase /
    # 'Q' purchase return / 'D' a 3507 delete of the sale or return records with its bchno
    ph: object  # pharmacy
    doc: object  # rtal_docno
    ts: int
    month: int
    trdn: int
    qty: float
    insured: bool
    med: object  # med_list_codg of the row
    product: object  # the drug the code's product prefix belongs to (by the catalogue)
    must_code: bool = True  # kind 'U': the drug must carry a code (NHSA class X or Z)
    bchno: object = None  # fixmedins_bchno: the record a 3507 delete names
    rec: object = None  # the record's place in upload order (file, line): which upload a delete withdraws


def _withdrawn(events: list[OracleEvent]) -> list[OracleEvent]:
    """``events`` without the records 3507 deletes withdraw: n deletes of a pharmacy's batch
    number withdraw the first n of its sale/return records with that number, in upload order."""
    asked: dict[tuple, int] = defaultdict(int)
    for e in events:
        if e.kind == "D":
            asked[(e.ph, e.bchno)] += 1
    if not asked:
        return events
    records: dict[tuple, set] = defaultdict(set)
    for e in events:
        if e.kind in "SRU" and (e.ph, e.bchno) in asked:
            records[(e.ph, e.bchno)].add(e.rec)
    gone = {(key, r) for key, recs in records.items() for r in sorted(recs)[:asked[key]]}
    return [e for e in events if e.kind != "D" and ((e.ph, e.bchno), e.rec) not in gone]


def _judge(events: list[OracleEvent], pack_units: dict) -> list[tuple[str, OracleEvent]]:
    """Flagged rows of every rule over ``events`` (all seen at once), per docs/RULES.md."""
    flags: list[tuple[str, OracleEvent]] = []
    events = _withdrawn(events)
    coded = [e for e in events if e.kind in ("S", "R")]
    valid = [e for e in coded if e.valid]
    flags += [("invalid_code", e) for e in coded if not e.valid]
    groups: dict[tuple, list[OracleEvent]] = defaultdict(list)
    for e in valid:
        groups[(e.ph, e.doc, e.key, e.kind)].append(e)
    unique = []
    for group in groups.values():
        group.sort(key=lambda e: e.eid)
        unique.append(group[0])
        flags += [("duplicate_upload", e) for e in group[1:]]
    per_pharmacy: dict[tuple, list[OracleEvent]] = defaultdict(list)
    for e in unique:
        per_pharmacy[(e.ph, e.key)].append(e)
    cancelled: set[int] = set()
    for lst in per_pharmacy.values():
        lst.sort(key=lambda e: (e.ts, 0 if e.kind == "S" else 1, e.eid))
        stack: list[OracleEvent] = []
        for e in lst:
            if e.kind == "S":
                stack.append(e)
            elif stack:
                cancelled.add(id(stack.pop()))
            else:
                flags.append(("return_without_sale", e))
    by_code: dict[object, list[OracleEvent]] = defaultdict(list)
    for e in unique:
        if e.kind == "S" and id(e) not in cancelled:
            by_code[e.key].append(e)
    for lst in by_code.values():
        lst.sort(key=lambda e: (e.ts, e.eid))
        whole_at: set = set()
        pharmacies: set = set()
        insured_whole = False
        split_sum = 0.0
        split_at: set = set()
        has_split = has_whole = violated = False
        for e in lst:
            if e.trdn == 0:
                if e.ph in whole_at:
                    flags.append(("same_pharmacy_repeat", e))
                whole_at.add(e.ph)
            if pharmacies - {e.ph}:
                flags.append(("cross_pharmacy_reuse", e))
            pharmacies.add(e.ph)
            if insured_whole:
                flags.append(("recycled_resale", e))
            if e.trdn == 0 and e.insured:
                insured_whole = True
            if e.trdn == 1:
                split_sum += e.qty
                split_at.add(e.ph)
                has_split = True
            else:
                has_whole = True
            if not violated:
                units = pack_units.get(e.med)
                violated = (units is not None and split_sum > units) or len(split_at) >= 2 or (has_split and has_whole)
            if violated:
                flags.append(("split_overuse", e))
    flags += [("product_mismatch", e) for e in valid if e.kind == "S" and e.product != e.med]
    flags += [("uncoded_sale", e) for e in events if e.kind == "U" and e.must_code]
    # sale_without_purchase: a pharmacy with any purchase (return) is judged; each valid sale
    # there (re-uploads too) whose code's purchases minus purchase returns up to its time are <= 0
    judged = {e.ph for e in events if e.kind in ("P", "Q")}
    moves: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    for e in events:
        if e.kind in ("P", "Q") and e.valid:
            moves[(e.ph, e.key)].append((e.ts, 1 if e.kind == "P" else -1))
    for e in valid:
        if e.kind == "S" and e.ph in judged and sum(s for t, s in moves.get((e.ph, e.key), ()) if t <= e.ts) <= 0:
            flags.append(("sale_without_purchase", e))
    return flags


def reference_findings(events: list[OracleEvent], pack_units: dict, months) -> set[tuple[str, object, int]]:
    """``{(rule, code, month)}``: for each month M, judge the events of months <= M (the
    history cut-off of ``check --month M``) and keep the findings with a flagged row in M."""
    out: set[tuple[str, object, int]] = set()
    for m in sorted(set(months)):
        seen = [e for e in events if e.month <= m]
        for rule, e in _judge(seen, pack_units):
            if e.month == m:
                out.add((rule, e.key, m))
    return out


# ------------------------------------------------------------------------------ templates


@dataclass(frozen=True)
class Ev:
    """One record of a template. Times ``t`` are open seconds after the instance's base
    time in month offset ``m``."""

    kind: str = "S"  # S sale, R return, P purchase (3503), Q purchase return (3504), D delete (3507) of ref's record
    code: int = 0  # code slot
    ph: int = 0  # pharmacy slot
    tr: int = 0  # trdn_flag
    q: int | str = 1  # sel_retn_cnt: int, or 'p40' = ceil(0.4 U), 'third' = U // 3, 'rest3' = U - 2 (U // 3)
    ins: bool | None = None  # insured; None = random (the template truth must not depend on it)
    m: int = 0
    t: int = 0
    ref: int | None = None  # returns: the sale event returned (None: no such sale)
    dup: int | None = None  # an exact copy of that event
    other: int | None = None  # dup copy goes to that format group's file (-1: any other); formats=all
    med: int | None = None  # drug slot billed (default: the code's drug)
    person: int | None = None  # person slot (a planted person), else a random insured person
    rc: int | None = None  # receipt slot shared by several lines
    ncodes: int = 1  # codes in the line (whole packs; sel_retn_cnt = ncodes)
    uncoded: bool = False  # sales: uploaded without a code (the pack was not scanned)
    redo: int | None = None  # the record of that event uploaded again (same receipt, batch number, time), own fields
    norc: bool = False  # returns: no receipt (rtal_docno and medins_prod_sel_no empty), as a real 3506


@dataclass(frozen=True)
class Slot:
    drug: int = 0  # drug slot
    style: str = "plain"


@dataclass(frozen=True)
class Tpl:
    name: str
    events: tuple[Ev, ...]
    codes: tuple[Slot, ...] = (Slot(),)
    drugs: tuple[str, ...] = ("any",)  # per drug slot: any | nhsa | gs1
    n_ph: int = 1
    ph_groups: tuple[int | None, ...] = ()  # formats=all: format group of each pharmacy slot
    n_person: int = 0
    weight: float = 1.0
    category: str = "rule"  # rule | benign | people | ring
    buyers: bool = False  # its pharmacies are pharmacies with purchase data (else never)

    @property
    def month_span(self) -> int:
        return max(e.m for e in self.events)


def _S(**kw) -> Ev:
    return Ev(kind="S", **kw)


def _R(**kw) -> Ev:
    return Ev(kind="R", **kw)


def _P(**kw) -> Ev:
    return Ev(kind="P", **kw)


def _Q(**kw) -> Ev:
    return Ev(kind="Q", **kw)


def _D(**kw) -> Ev:
    return Ev(kind="D", **kw)


D, H = DAY, HOUR


def _single(name: str, style: str, drug: str = "any", weight: float = 1.0, category: str = "rule", **kw) -> Tpl:
    return Tpl(name, (_S(),), codes=(Slot(style=style),), drugs=(drug,), weight=weight, category=category, **kw)


def _buyer() -> Tpl:
    visits = (0, 2 * D + 3 * H, 4 * D + H, 7 * D + 2 * H)
    events = [_S(code=v * 3 + j, ph=0, ins=True, person=0, rc=v, t=tv) for v, tv in enumerate(visits) for j in range(3)]
    for c in range(12):
        tv = visits[c // 3]
        events.append(_S(code=c, ph=1 if c < 6 else 2, t=tv + (2 + c % 3) * D + 3 * H + (c % 2) * 30 * MINUTE))
    codes = tuple(Slot(drug=c % 3) for c in range(12))
    return Tpl("people_professional_buyer", tuple(events), codes=codes, drugs=("any",) * 3, n_ph=3, n_person=1,
               category="people")


def _ring() -> Tpl:
    events = [_S(code=s * 4 + j, ph=s, ins=True, t=s * D + j * 2 * H + H) for s in range(3) for j in range(4)]
    events += [_S(code=c, ph=3, t=8 * D + c * 3 * H) for c in range(12)]
    codes = tuple(Slot(drug=c % 2) for c in range(12))
    return Tpl("ring_recycling", tuple(events), codes=codes, drugs=("any", "any"), n_ph=4, category="ring")


TEMPLATES: tuple[Tpl, ...] = (
    # duplicate_upload
    Tpl("dup_same_file", (_S(), _S(dup=0)), weight=3),
    Tpl("dup_csv_and_jsonl", (_S(), _S(dup=0, other=G_JSONL)), ph_groups=(G_CSV,), weight=2),
    Tpl("dup_other_file", (_S(), _S(dup=0, other=-1)), weight=2),
    Tpl("dup_return", (_S(), _R(t=2 * H, ref=0), _R(dup=1))),
    # return_without_sale
    Tpl("return_without_sale", (_R(),), weight=2),
    Tpl("return_at_other_pharmacy", (_S(ph=0), _R(ph=1, t=D, ref=0)), n_ph=2),
    # the second return names no receipt: a 3506 naming the sale's receipt (medins_prod_sel_no) takes it
    # as its own for duplicate_upload, so two returns naming one sale would be one return sent twice
    Tpl("return_twice", (_S(), _R(t=H, ref=0), _R(t=D, ref=0, norc=True))),
    Tpl("return_before_sale", (_R(), _S(t=D))),
    # same_pharmacy_repeat
    Tpl("repeat_cash", (_S(ins=False), _S(ins=False, t=2 * D)), weight=2),
    Tpl("repeat_insured", (_S(ins=True), _S(t=5 * D)), weight=2),
    Tpl("repeat_three_times", (_S(ins=False), _S(ins=False, t=D), _S(ins=False, t=3 * D))),
    # cross_pharmacy_reuse
    Tpl("cross_close_counterfeit", (_S(ph=0, ins=False), _S(ph=1, t=D)), n_ph=2, weight=2),
    Tpl("cross_close_insured", (_S(ph=0, ins=True), _S(ph=1, t=4 * H)), n_ph=2),
    Tpl("cross_far", (_S(ph=0, ins=False), _S(ph=1, t=12 * D)), n_ph=2, weight=2),
    # recycled_resale
    Tpl("recycled_resale", (_S(ph=0, ins=True), _S(ph=1, t=10 * D)), n_ph=2, weight=3),
    Tpl("recycled_chain", (_S(ph=0, ins=True), _S(ph=1, ins=True, t=6 * D), _S(ph=2, t=14 * D)), n_ph=3),
    # split_overuse
    Tpl("split_over_units", (_S(tr=1, q="p40"), _S(tr=1, q="p40", t=3 * H), _S(tr=1, q="p40", t=D)), weight=2),
    Tpl("split_two_pharmacies", (_S(ph=0, tr=1, q=2), _S(ph=1, tr=1, q=2, t=D)), n_ph=2),
    Tpl("split_then_whole", (_S(tr=1, q=2), _S(t=2 * D))),
    Tpl("whole_then_split", (_S(ins=False), _S(tr=1, q=1, t=D))),
    # invalid_code
    _single("invalid_zeros", "zeros"),
    _single("invalid_eights", "eights"),
    _single("invalid_wu", "wu"),
    _single("invalid_excel_text", "excel_text", "nhsa"),
    _single("invalid_excel_number", "excel_number", "nhsa", weight=2, ph_groups=(G_XLSX,)),
    _single("invalid_short", "short", "nhsa"),
    _single("invalid_long", "long", "nhsa"),
    _single("invalid_gs1_check_digit", "gs1_bad_check", "gs1"),
    # product_mismatch
    Tpl("product_mismatch", (_S(med=1),), drugs=("any", "any"), weight=2),
    # benign look-alikes
    Tpl("benign_split_within_units", (_S(tr=1, q="third"), _S(tr=1, q="third", t=2 * H), _S(tr=1, q="rest3", t=D)),
        weight=3, category="benign"),
    Tpl("benign_sale_return_resale", (_S(ins=True), _R(t=2 * H, ref=0), _S(t=D)), weight=3, category="benign"),
    Tpl("benign_cash_sale_return", (_S(ins=False), _R(t=3 * H, ref=0)), weight=4, category="benign"),
    Tpl("benign_insured_sale_return", (_S(ins=True), _R(t=D, ref=0)), weight=4, category="benign"),
    Tpl("benign_split_return_resplit",
        (_S(tr=1, q="p40"), _S(tr=1, q="p40", t=2 * H), _R(tr=1, q="p40", t=3 * H, ref=1), _S(tr=1, q="p40", t=D)),
        category="benign"),
    _single("benign_apostrophe", "apos", "nhsa", category="benign"),
    _single("benign_spaces", "spaces", "nhsa", category="benign"),
    _single("benign_fullwidth", "fullwidth", "nhsa", category="benign"),
    _single("benign_gs1_parentheses", "gs1_paren", "gs1", category="benign"),
    _single("benign_gs1_gs", "gs1_gs", "gs1", category="benign", ph_groups=(G_CSV,)),
    _single("benign_gs1_symbology", "gs1_symbology", "gs1", category="benign", ph_groups=(G_JSONL,)),
    _single("benign_gs1_no_gs", "gs1_nogs", "gs1", category="benign"),
    Tpl("benign_multi_code_cell", (_S(ncodes=2),), ph_groups=(G_CSV,), weight=2, category="benign"),
    Tpl("benign_multi_code_cell_gbk", (_S(ncodes=3),), ph_groups=(G_GBK,), category="benign"),
    Tpl("benign_multi_code_json", (_S(ncodes=2),), ph_groups=(G_JSONL,), weight=2, category="benign"),
    Tpl("benign_multi_code_json3", (_S(ncodes=3),), ph_groups=(G_JSONL,), category="benign"),
    # across months: flagged in the later month only (or, for the late return, the earlier)
    Tpl("month2_cross", (_S(ph=0, ins=False), _S(ph=1, m=1)), n_ph=2),
    Tpl("month2_recycled", (_S(ph=0, ins=True), _S(ph=1, m=1)), n_ph=2),
    Tpl("month2_same_pharmacy", (_S(ins=False), _S(ins=False, m=1))),
    Tpl("month2_split_over_units", (_S(tr=1, q="p40"), _S(tr=1, q="p40", t=D), _S(tr=1, q="p40", m=1))),
    Tpl("month2_late_return", (_S(ph=0, ins=False), _S(ph=1, t=D), _R(ph=1, m=1, ref=1)), n_ph=2),
    Tpl("benign_month2_return_resale", (_S(ins=True), _R(m=1, ref=0), _S(m=1, t=D)), category="benign"),
    # sale_without_purchase (pharmacies with purchase data)
    Tpl("sale_never_bought", (_S(),), buyers=True, weight=2),
    Tpl("sale_bought_elsewhere", (_P(ph=0), _S(ph=1, t=D)), n_ph=2, buyers=True, weight=2),
    Tpl("sale_after_purchase_return", (_P(), _Q(t=H), _S(t=D)), buyers=True),
    Tpl("sale_before_purchase", (_S(), _P(t=D)), buyers=True),
    Tpl("benign_bought_then_sold", (_P(), _S(t=D)), buyers=True, weight=3, category="benign"),
    Tpl("benign_purchase_return_no_sale", (_P(), _Q(t=D)), buyers=True, weight=2, category="benign"),
    Tpl("benign_month2_bought_then_sold", (_P(), _S(m=1)), buyers=True, category="benign"),
    # uncoded_sale (no code uploaded for a drug that must carry one)
    Tpl("uncoded_sale", (_S(uncoded=True),), weight=2),
    Tpl("uncoded_sale_twice_json", (_S(uncoded=True), _S(uncoded=True, t=D)), ph_groups=(G_JSONL,)),
    Tpl("benign_decoction_uncoded", (_S(uncoded=True),), drugs=("herb",), weight=2, category="benign"),
    # 3506 returns without a receipt
    Tpl("benign_return_no_receipt", (_S(), _R(t=H, ref=0, norc=True)), ph_groups=(G_JSONL,), weight=2,
        category="benign"),
    # sent twice: one return (its batch number names it), without a sale
    Tpl("return_no_receipt_without_sale", (_R(norc=True), _R(dup=0))),
    # 3507 deletes (of the record with that batch number, in the month it was uploaded)
    Tpl("benign_deleted_duplicate", (_S(), _S(dup=0), _D(ref=0, t=H)), category="benign"),
    Tpl("benign_deleted_and_corrected", (_S(med=1), _D(ref=0, t=H), _S(redo=0)), drugs=("any", "any"),
        category="benign"),
    Tpl("benign_delete_never_uploaded", (_D(),), category="benign"),
    Tpl("deleted_one_of_three_copies", (_S(), _S(dup=0), _S(dup=0), _D(ref=0, t=H))),
    # later features
    _buyer(),
    _ring(),
)


def _qty(spec: int | str, units: np.ndarray) -> np.ndarray:
    if isinstance(spec, int):
        return np.full(len(units), spec, dtype=np.int64)
    if spec == "p40":
        return np.ceil(units * 0.4).astype(np.int64)
    if spec == "third":
        return units // 3
    if spec == "rest3":
        return units - 2 * (units // 3)
    raise ValueError(spec)


def _validate(tpl: Tpl) -> None:
    seen: dict[tuple, int] = {}
    for i, e in enumerate(tpl.events):
        if e.dup is not None:
            assert e.dup < i and tpl.events[e.dup].dup is None, tpl.name
            continue
        if e.ref is not None:
            r = tpl.events[e.ref]
            assert (r.kind == "S" or e.kind == "D") and (r.m, r.t) < (e.m, e.t), tpl.name
            assert e.kind != "D" or r.m == e.m, f"{tpl.name}: a delete is sent in its record's month"
        if e.redo is not None:
            r = tpl.events[e.redo]
            assert e.redo < i and r.kind == e.kind == "S" and (r.m, r.t, r.code) == (e.m, e.t, e.code), tpl.name
            continue
        if e.kind == "D":
            continue
        assert e.t % MINUTE == 0 and e.ph < tpl.n_ph and e.code < len(tpl.codes), tpl.name
        for j in range(e.ncodes):
            key = (e.code, j, e.m, e.t)
            assert key not in seen, f"{tpl.name}: two events of one code at the same time"
            seen[key] = i


def _record_slot(tpl: Tpl, i: int) -> int:
    """The record (batch number) event ``i`` uploads: a copy's, a re-upload's and a delete's are
    those of the event they repeat or name; a delete naming none names a record never uploaded."""
    e = tpl.events[i]
    for link in (e.dup, e.redo, e.ref if e.kind == "D" else None):
        if link is not None:
            return _record_slot(tpl, link)
    return i


def _proto_truth(tpl: Tpl, unit_values) -> frozenset:
    """The template's findings as ``{(rule, (slot, j), month_offset)}``, checked to be the
    same for every pack size and every choice of the random insured flags."""
    _validate(tpl)
    rand = [i for i, e in enumerate(tpl.events) if e.dup is None and e.kind == "S" and e.ins is None]
    if len(rand) <= 6:
        combos = list(product((False, True), repeat=len(rand)))
    else:  # too many to enumerate: both extremes and a fixed sample
        sample = np.random.default_rng(len(rand)).random((48, len(rand))) < 0.5
        combos = [(False,) * len(rand), (True,) * len(rand)] + [tuple(map(bool, r)) for r in sample]
    if not any(e.tr == 1 or isinstance(e.q, str) for e in tpl.events):
        unit_values = unit_values[:1]
    results = set()
    for units in unit_values:
        for combo in combos:
            ins = dict(zip(rand, combo))
            evs = []
            for i, e0 in enumerate(tpl.events):
                src = e0.dup if e0.dup is not None else i
                e = tpl.events[src]
                bchno = _record_slot(tpl, i)
                if e.kind == "D":
                    evs.append(OracleEvent(eid=i * 16, key=None, valid=True, kind="D", ph=e.ph, doc=None,
                                           ts=e.m * 10**9 + e.t, month=e.m, trdn=0, qty=0.0, insured=False, med=None,
                                           product=None, bchno=bchno, rec=i))
                    continue
                if e.redo is not None:  # the same sale record again: its receipt, time and insurance
                    src = e.redo
                if e.kind == "S":
                    insured = ins.get(src, bool(e.ins))
                else:
                    insured = bool(tpl.events[e.ref].ins) if e.ref is not None else False
                doc = ("rc", e.rc) if e.rc is not None else ("ev", src)
                slot = tpl.codes[e.code]
                valid = STYLES[slot.style] < 20
                cnt = e.ncodes if e.ncodes > 1 else int(_qty(e.q, np.array([units]))[0])
                med = slot.drug if e.med is None else e.med
                kind, key = e.kind, None
                if e.uncoded:  # no code: the finding is named after the pharmacy and the drug
                    kind, key = "U", ("uncoded", e.ph, med)
                for j in range(e.ncodes):
                    evs.append(OracleEvent(
                        eid=i * 16 + j, key=key or (e.code, j), valid=valid, kind=kind, ph=e.ph, doc=doc,
                        ts=e.m * 10**9 + e.t, month=e.m, trdn=e.tr, qty=cnt / e.ncodes, insured=insured,
                        med=med, product=slot.drug, must_code=tpl.drugs[med] != "herb", bchno=bchno, rec=i))
            if tpl.buyers:  # the pharmacies' own stock purchases (every month, before it opens)
                evs += [OracleEvent(eid=-1 - p, key=("stock", p), valid=True, kind="P", ph=p, doc=None, ts=0,
                                    month=0, trdn=0, qty=1.0, insured=False, med=0, product=0)
                        for p in range(tpl.n_ph)]
            pack_units = {d: units for d in range(len(tpl.drugs))}
            results.add(frozenset(reference_findings(evs, pack_units, range(tpl.month_span + 1))))
    if len(results) != 1:
        raise AssertionError(f"template {tpl.name}: truth depends on pack size or insurance: {results}")
    return results.pop()


# ---------------------------------------------------------------------------------- world

# (generic name, strength, count, count word, pack price, ATC level-4 group or TCM group, class, GS1 import)
_DRUGS = (
    ("利伐沙班片(拜瑞妥)", "10mg", 7, "片", 118.00, "B01AF", "X", True),
    ("磷酸西格列汀片(捷诺维)", "100mg", 14, "片", 98.00, "A10BH", "X", True),
    ("达格列净片(安达唐)", "10mg", 14, "片", 88.50, "A10BK", "X", True),
    ("恩格列净片(欧唐静)", "10mg", 10, "片", 76.00, "A10BK", "X", True),
    ("阿托伐他汀钙片(立普妥)", "20mg", 7, "片", 62.30, "C10AA", "X", True),
    ("苯磺酸氨氯地平片(络活喜)", "5mg", 7, "片", 34.60, "C08CA", "X", True),
    ("阿莫西林胶囊", "0.25g", 24, "粒", 12.80, "J01CA", "X", False),
    ("头孢克肟分散片", "0.1g", 6, "片", 28.50, "J01DD", "X", False),
    ("阿奇霉素片", "0.25g", 6, "片", 19.90, "J01FA", "X", False),
    ("罗红霉素胶囊", "0.15g", 12, "粒", 9.60, "J01FA", "X", False),
    ("左氧氟沙星片", "0.1g", 12, "片", 15.80, "J01MA", "X", False),
    ("克拉霉素片", "0.25g", 6, "片", 22.00, "J01FA", "X", False),
    ("布洛芬缓释胶囊", "0.3g", 20, "粒", 16.50, "M01AE", "X", False),
    ("双氯芬酸钠缓释片", "75mg", 10, "片", 14.20, "M01AB", "X", False),
    ("对乙酰氨基酚片", "0.5g", 12, "片", 6.80, "N02BE", "X", False),
    ("苯磺酸氨氯地平片", "5mg", 28, "片", 32.60, "C08CA", "X", False),
    ("硝苯地平控释片", "30mg", 7, "片", 35.80, "C08CA", "X", False),
    ("厄贝沙坦片", "0.15g", 14, "片", 24.50, "C09CA", "X", False),
    ("缬沙坦胶囊", "80mg", 7, "粒", 29.80, "C09CA", "X", False),
    ("替米沙坦片", "40mg", 14, "片", 21.00, "C09CA", "X", False),
    ("琥珀酸美托洛尔缓释片", "47.5mg", 7, "片", 26.40, "C07AB", "X", False),
    ("盐酸二甲双胍片", "0.5g", 20, "片", 9.90, "A10BA", "X", False),
    ("格列美脲片", "2mg", 30, "片", 38.00, "A10BB", "X", False),
    ("阿卡波糖片", "50mg", 30, "片", 45.60, "A10BF", "X", False),
    ("阿托伐他汀钙片", "20mg", 7, "片", 48.90, "C10AA", "X", False),
    ("瑞舒伐他汀钙片", "10mg", 7, "片", 36.20, "C10AA", "X", False),
    ("硫酸氢氯吡格雷片", "75mg", 7, "片", 56.00, "B01AC", "X", False),
    ("阿司匹林肠溶片", "100mg", 30, "片", 15.50, "B01AC", "X", False),
    ("奥美拉唑肠溶胶囊", "20mg", 14, "粒", 18.60, "A02BC", "X", False),
    ("雷贝拉唑钠肠溶片", "10mg", 7, "片", 31.50, "A02BC", "X", False),
    ("多潘立酮片", "10mg", 30, "片", 17.80, "A03FA", "X", False),
    ("铝碳酸镁咀嚼片", "0.5g", 20, "片", 19.20, "A02AD", "X", False),
    ("蒙脱石散", "3g", 10, "袋", 14.60, "A07BC", "X", False),
    ("氯雷他定片", "10mg", 6, "片", 19.80, "R06AX", "X", False),
    ("盐酸西替利嗪片", "10mg", 12, "片", 22.40, "R06AE", "X", False),
    ("孟鲁司特钠片", "10mg", 10, "片", 48.00, "R03DC", "X", False),
    ("盐酸氨溴索片", "30mg", 20, "片", 12.50, "R05CB", "X", False),
    ("维生素C片", "0.1g", 100, "片", 4.50, "A11GA", "X", False),
    ("复方甘草片", "0.2g", 100, "片", 6.00, "R05CA", "X", False),
    ("甲硝唑片", "0.2g", 21, "片", 5.80, "P01AB", "X", False),
    ("盐酸坦索罗辛缓释胶囊", "0.2mg", 10, "粒", 39.80, "G04CA", "X", False),
    ("非那雄胺片", "5mg", 10, "片", 42.00, "G04CB", "X", False),
    ("连花清瘟胶囊", "0.35g", 24, "粒", 14.80, "A01AA", "Z", False),
    ("感冒灵颗粒", "10g", 9, "袋", 13.50, "A01AB", "Z", False),
    ("板蓝根颗粒", "10g", 20, "袋", 12.00, "A01BA", "Z", False),
    ("藿香正气水", "10ml", 10, "支", 9.80, "A03AA", "Z", False),
    ("六味地黄丸", "0.18g", 120, "丸", 18.00, "A12CA", "Z", False),
    ("复方丹参滴丸", "27mg", 180, "丸", 29.50, "A15BA", "Z", False),
    ("速效救心丸", "40mg", 150, "粒", 32.00, "A15AA", "Z", False),
    ("小柴胡颗粒", "10g", 10, "袋", 15.00, "A01CA", "Z", False),
    ("健胃消食片", "0.8g", 32, "片", 12.80, "A09AA", "Z", False),
    ("银黄颗粒", "4g", 12, "袋", 11.50, "A04AB", "Z", False),
)  # fmt: skip
# Decoction pieces (中药饮片, NHSA class T): sold by the gram, carry no traceability code.
# (name, pack price per gram)
_HERBS = (("黄芪", 0.12), ("当归", 0.35), ("枸杞子", 0.18), ("党参", 0.28))
_GS1_COUNTRY = ("400", "401", "300", "500", "760", "871")
_CHAINS = ("仁和堂", "百草堂", "康宁", "济民", "同德", "惠民", "安康", "瑞丰", "天和", "益寿", "华康", "永安")
_STREETS = (
    "文三路", "延安路", "解放路", "庆春路", "凤起路", "莫干山路", "学院路", "天目山路", "古墩路", "滨盛路",
    "江南大道", "市心路", "人民路", "中山路", "新华路", "建设路", "东新路", "秋涛路", "钱江路", "之江路",
)  # fmt: skip


def _gtin_check(body13: str) -> str:
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(body13))
    return str((10 - total % 10) % 10)


_D4 = np.frombuffer("".join(f"{i:04d}" for i in range(10_000)).encode(), np.uint8).reshape(10_000, 4)


_D4_WORDS = _D4.view(np.uint32).ravel()


def _digits(values, width: int) -> np.ndarray:
    """(n, width) uint8 matrix of the zero-padded ASCII digits of non-negative ints."""
    v = np.asarray(values, dtype=np.int64)
    groups = -(-width // 4)
    words = []
    for g in range(groups):  # four digits per lookup, gathered as one 32-bit word
        shift = 10 ** (4 * (groups - 1 - g))
        words.append(_D4_WORDS[v // shift % 10_000 if shift > 1 else v % 10_000])
    return np.stack(words, axis=1).view(np.uint8)[:, groups * 4 - width:]


def _cat(n: int, *parts) -> np.ndarray:
    """Concatenate byte constants and (n, w) uint8 matrices column-wise."""
    mats = []
    for p in parts:
        if isinstance(p, bytes):
            mats.append(np.broadcast_to(np.frombuffer(p, dtype=np.uint8), (n, len(p))))
        else:
            mats.append(p)
    return np.ascontiguousarray(np.hstack(mats)) if mats else np.zeros((n, 0), np.uint8)


def _strings(mat: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A pyarrow string array from a fixed-width (n, w) ASCII matrix, without Python loops."""
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32) if n else np.zeros(1, np.int32)
    data = np.ascontiguousarray(mat).reshape(-1)
    validity = None
    nulls = 0
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        nulls = int(n - valid.sum())
        if nulls:
            validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(data)],
                                 null_count=nulls)


def _civil(ts: np.ndarray):
    """Year, month, day, hour, minute, second of epoch seconds (naive local time)."""
    days = (ts // 86400).astype("datetime64[D]")
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    month_start = days.astype("datetime64[M]")
    month = month_start.astype(np.int64) % 12 + 1
    day = (days - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    sod = ts % 86400
    return year, month, day, sod // 3600, sod // 60 % 60, sod % 60


@dataclass
class _World:
    months: list[str]
    month_start: np.ndarray  # epoch seconds of each month's first midnight
    month_open: np.ndarray  # open seconds in each month
    n_drugs: int  # drugs with codes (indices 0..n_drugs-1); decoction pieces follow
    d_med: list[str]
    d_name: list[str]
    d_units: np.ndarray
    d_gs1: np.ndarray
    d_prefix: list[str]  # 7-digit product prefix or GTIN-14
    d_prefix_int: np.ndarray
    d_gtin_mat: np.ndarray  # (n_drugs, 14)
    d_cum: np.ndarray  # cumulative popularity
    d_price: np.ndarray
    b_lot: list[str]  # per drug * 3 + batch
    b_mdate: list[str]
    b_exp: list[str]
    b_exp6: np.ndarray  # (n*3, 6) YYMMDD
    b_lot_mat: np.ndarray  # (n*3, 7) GS1 lots (fixed width)
    p_code: list[str]
    p_name: list[str]
    p_group: np.ndarray
    p_cum: np.ndarray
    n_persons: int
    p_buyer: np.ndarray  # pharmacies with purchase data
    n_herbs: int = 0
    arrays: dict[str, pa.Array] = field(default_factory=dict)

    @classmethod
    def build(cls, rng: np.random.Generator, start_month: str, months: int, n_ph: int, rows: int) -> "_World":
        m = re.fullmatch(r"(\d{4})-(\d{2})", start_month)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"start_month must be YYYY-MM, not {start_month!r}")
        year, month = int(m.group(1)), int(m.group(2))
        labels, starts, opens = [], [], []
        for _ in range(months):
            labels.append(f"{year:04d}-{month:02d}")
            starts.append(calendar.timegm((year, month, 1, 0, 0, 0)))
            opens.append(calendar.monthrange(year, month)[1] * OPEN_LEN)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

        # drugs: every GS1 import, then a random choice of the others, then variants
        n_drugs = 40 if rows < 1_000_000 else 100
        base = [d for d in _DRUGS if d[7]] + [_DRUGS[i] for i in rng.permutation(
            [i for i, d in enumerate(_DRUGS) if not d[7]])]
        chosen = []
        for i in range(n_drugs):
            name, strength, count, word, price, atc, cls_, gs1 = base[i % len(base)]
            if i >= len(base):  # another maker's bigger pack
                count, price, name = count * 2, round(price * 1.8, 2), name + "(大包装)"
            chosen.append((name, strength, count, word, price, atc, cls_, gs1))
        prefixes: set[int] = set()
        gtins: set[str] = set()
        d_med, d_name, d_units, d_gs1, d_prefix, d_prefix_int, gtin_rows, d_price = [], [], [], [], [], [], [], []
        for i, (name, strength, count, word, price, atc, cls_, gs1) in enumerate(chosen):
            d_med.append(f"{cls_}{atc}{chr(65 + int(rng.integers(0, 26)))}{int(rng.integers(0, 1000)):03d}"
                         f"A{int(rng.integers(1, 200)):03d}{int(rng.integers(100, 10000)):04d}"
                         f"{int(rng.integers(0, 100000)):05d}")
            d_name.append(f"{name} {strength}*{count}{word}")
            d_units.append(count)
            d_gs1.append(gs1)
            d_price.append(price)
            if gs1:
                while True:
                    body = "0" + _GS1_COUNTRY[i % len(_GS1_COUNTRY)] + f"{int(rng.integers(0, 10**9)):09d}"
                    gtin = body + _gtin_check(body)
                    if gtin not in gtins:
                        break
                gtins.add(gtin)
                d_prefix.append(gtin)
                d_prefix_int.append(0)
                gtin_rows.append(gtin)
            else:
                while True:
                    p = 8_000_000 + int(rng.integers(100_000, 1_000_000))
                    if p not in prefixes and len(set(str(p))) > 2:
                        break
                prefixes.add(p)
                d_prefix.append(str(p))
                d_prefix_int.append(p)
                gtin_rows.append("0" * 14)
        assert len(set(d_med)) == n_drugs
        weights = 1.0 / (rng.permutation(n_drugs) + 3.0)
        d_cum = np.cumsum(weights / weights.sum())

        b_lot, b_mdate, b_exp, b_exp6, b_lot7 = [], [], [], [], []
        for i in range(n_drugs):
            for _b in range(3):
                made = dt.date(2024, 3, 1) + dt.timedelta(days=int(rng.integers(0, 600)))
                years = 2 if i % 2 else 3
                expiry = dt.date(made.year + years, made.month, 1) - dt.timedelta(days=1)
                if d_gs1[i]:
                    lot = chr(65 + int(rng.integers(0, 26))) + chr(65 + int(rng.integers(0, 26))) + \
                        f"{int(rng.integers(0, 100000)):05d}"
                else:
                    lot = made.strftime("%y%m%d") + f"{int(rng.integers(0, 100)):02d}"
                b_lot.append(lot)
                b_mdate.append(made.isoformat())
                b_exp.append(expiry.isoformat())
                b_exp6.append(expiry.strftime("%y%m%d"))
                b_lot7.append(lot if len(lot) == 7 else "0000000")

        # pharmacies
        p_code, p_name = [], []
        combos = len(_CHAINS) * len(_STREETS)
        order = rng.permutation(combos)
        for i in range(n_ph):
            city = 1 + i % 11
            p_code.append(f"P33{city:02d}{i // 11 + 1:06d}")
            c = int(order[i % combos])
            k = i // combos
            p_name.append(f"{_CHAINS[c % len(_CHAINS)]}大药房连锁有限公司{_STREETS[c // len(_CHAINS)]}"
                          f"{'' if k == 0 else k + 1}店")
        pw = rng.lognormal(0.0, 0.6, n_ph)
        for h, (name, per_gram) in enumerate(_HERBS):
            d_med.append(f"T{1 + h:03d}{700 + 13 * h:03d}{101 + 7 * h:04d}")
            d_name.append(f"{name}(饮片) 1g")
            d_units.append(1)
            d_gs1.append(False)
            d_prefix.append("")
            d_prefix_int.append(0)
            gtin_rows.append("0" * 14)
            d_price.append(per_gram)
            for _b in range(3):
                b_lot.append(f"YP2025{h:02d}{_b}")
                b_mdate.append("2025-09-01")
                b_exp.append("2027-08-31")
                b_exp6.append("270831")
                b_lot7.append("0000000")
        n_all = len(d_med)
        buyer = (np.arange(n_ph) % BUYER_EVERY == 1) & (np.arange(n_ph) < BUYER_EVERY * MAX_BUYERS)
        world = cls(
            months=labels, month_start=np.array(starts, np.int64), month_open=np.array(opens, np.int64),
            n_drugs=n_drugs, d_med=d_med, d_name=d_name, d_units=np.array(d_units, np.int64),
            d_gs1=np.array(d_gs1, bool), d_prefix=d_prefix, d_prefix_int=np.array(d_prefix_int, np.int64),
            d_gtin_mat=np.frombuffer("".join(gtin_rows).encode(), np.uint8).reshape(n_all, 14),
            d_cum=d_cum, d_price=np.array(d_price), b_lot=b_lot, b_mdate=b_mdate, b_exp=b_exp,
            b_exp6=np.frombuffer("".join(b_exp6).encode(), np.uint8).reshape(-1, 6),
            b_lot_mat=np.frombuffer("".join(b_lot7).encode(), np.uint8).reshape(-1, 7),
            p_code=p_code, p_name=p_name, p_group=np.arange(n_ph) % N_GROUPS, p_cum=np.cumsum(pw / pw.sum()),
            n_persons=max(200, rows // 4), p_buyer=buyer, n_herbs=len(_HERBS),
        )
        prices = []
        for i in range(n_all):
            prices += [f"{d_price[i]:.2f}", f"{max(0.01, d_price[i] / d_units[i]):.2f}"]
        world.arrays = {
            "pcode": pa.array(p_code), "pname": pa.array(p_name),
            "med": pa.array(d_med), "hid": pa.array([f"SP{100001 + i}" for i in range(n_all)]),
            "hname": pa.array(d_name), "lot": pa.array(b_lot), "mdate": pa.array(b_mdate),
            "exp": pa.array(b_exp), "price": pa.array(prices), "count": pa.array([str(i) for i in range(1000)]),
            "flag": pa.array(["0", "1"]), "setl_type": pa.array(["2", "1"]),
        }
        return world

    # ---- codes

    def nhsa_mat(self, code_ids: np.ndarray, cdrug: np.ndarray) -> np.ndarray:
        serial = (code_ids * _SER_MUL + _SER_ADD) % 10**9
        pre = self.d_prefix_int[cdrug]
        check = (serial * 7919 + pre * 104_729 + (serial // 1000) * 31 + 17) % 10_000
        return _cat(len(code_ids), _digits(pre, 7), _digits(serial, 9), _digits(check, 4))

    def gs1_serial_mat(self, code_ids: np.ndarray) -> np.ndarray:
        v = (code_ids * _GSER_MUL + _GSER_ADD) % 10**9  # unique per code id
        h = (code_ids * 2_246_822_519 + 3_266_489_917) % 2**20
        cols = [_ALPH32[(h >> (5 * k)) % 32] for k in range(4)] + [_ALPH32[(v >> (5 * k)) % 32] for k in range(5, -1, -1)]
        return np.stack(cols, axis=1).astype(np.uint8)

    def nhsa_code(self, code_id: int, cdrug: int) -> str:
        serial = (code_id * _SER_MUL + _SER_ADD) % 10**9
        pre = int(self.d_prefix_int[cdrug])
        check = (serial * 7919 + pre * 104_729 + (serial // 1000) * 31 + 17) % 10_000
        return f"{pre:07d}{serial:09d}{check:04d}"

    def gs1_parts(self, code_id: int, cdrug: int, batch: int) -> tuple[str, str, str, str]:
        v = (code_id * _GSER_MUL + _GSER_ADD) % 10**9
        h = (code_id * 2_246_822_519 + 3_266_489_917) % 2**20
        alph = _ALPH32.tobytes().decode()
        ser = "".join(alph[(h >> (5 * k)) % 32] for k in range(4)) + "".join(alph[(v >> (5 * k)) % 32] for k in range(5, -1, -1))
        b = cdrug * 3 + batch
        return self.d_prefix[cdrug], ser, self.b_exp6[b].tobytes().decode(), self.b_lot_mat[b].tobytes().decode()

    def code_text(self, code_id: int, cdrug: int, style: int, batch: int) -> str:
        """The code as uploaded (scalar path, for the rarer spellings)."""
        if style in GS1_STYLES or style == INV_GS1_CHECK:
            gtin, ser, exp, lot = self.gs1_parts(code_id, cdrug, batch)
            if style == GS1_EL:
                return f"01{gtin}21{ser}"
            if style == GS1_PAREN:
                return f"(01){gtin}(17){exp}(10){lot}(21){ser}"
            if style == GS1_GS:
                return f"01{gtin}17{exp}10{lot}{GS}21{ser}"
            if style == GS1_SYM:
                return f"]d201{gtin}17{exp}10{lot}{GS}21{ser}"
            if style == GS1_NOGS:
                return f"01{gtin}17{exp}21{ser}"
            bad = gtin[:13] + str((int(gtin[13]) + 1 + code_id % 8) % 10)
            return f"(01){bad}(21){ser}"
        if style == INV_ZEROS:
            return "0" * 20
        if style == INV_EIGHTS:
            return "8" * 20
        if style == INV_WU:
            return "无"
        code = self.nhsa_code(code_id, cdrug)
        if style == PLAIN:
            return code
        if style == APOS:
            return "'" + code
        if style == SPACES:
            return (" " + code, code + " ", "\t" + code + " ")[code_id % 3]
        if style == FULLWIDTH:
            return code.translate(_FULLWIDTH)
        if style in (INV_EXCEL_TEXT, INV_EXCEL_NUM):
            return excel_display(code)
        if style == INV_SHORT:
            return code[:19]
        if style == INV_LONG:
            return code + code[-1]
        raise ValueError(style)

    def code_texts(self, code_ids, cdrug, style, batch) -> pa.Array:
        """Vectorised :meth:`code_text` (fast paths for plain 20-digit and GS1 spellings)."""
        n = len(code_ids)
        parts: list[pa.Array] = []
        positions: list[np.ndarray] = []
        plain = np.nonzero(style == PLAIN)[0]
        if len(plain):
            parts.append(_strings(self.nhsa_mat(code_ids[plain], cdrug[plain])))
            positions.append(plain)
        for st in GS1_STYLES:
            idx = np.nonzero(style == st)[0]
            if not len(idx):
                continue
            k = len(idx)
            gtin = self.d_gtin_mat[cdrug[idx]]
            ser = self.gs1_serial_mat(code_ids[idx])
            b = cdrug[idx] * 3 + batch[idx]
            exp, lot = self.b_exp6[b], self.b_lot_mat[b]
            if st == GS1_EL:
                mat = _cat(k, b"01", gtin, b"21", ser)
            elif st == GS1_PAREN:
                mat = _cat(k, b"(01)", gtin, b"(17)", exp, b"(10)", lot, b"(21)", ser)
            elif st == GS1_GS:
                mat = _cat(k, b"01", gtin, b"17", exp, b"10", lot, b"\x1d21", ser)
            elif st == GS1_SYM:
                mat = _cat(k, b"]d201", gtin, b"17", exp, b"10", lot, b"\x1d21", ser)
            else:
                mat = _cat(k, b"01", gtin, b"17", exp, b"21", ser)
            parts.append(_strings(mat))
            positions.append(idx)
        for st in (APOS, SPACES, FULLWIDTH):  # dirty spellings of 20-digit codes
            idx = np.nonzero(style == st)[0]
            if not len(idx):
                continue
            clean = _strings(self.nhsa_mat(code_ids[idx], cdrug[idx])).to_pylist()
            if st == APOS:
                dirty = ["'" + c for c in clean]
            elif st == FULLWIDTH:
                dirty = [c.translate(_FULLWIDTH) for c in clean]
            else:
                dirty = [(" " + c, c + " ", "\t" + c + " ")[int(i) % 3] for c, i in zip(clean, code_ids[idx])]
            parts.append(pa.array(dirty, pa.string()))
            positions.append(idx)
        done = np.zeros(n, bool)
        for p in positions:
            done[p] = True
        rest = np.nonzero(~done)[0]
        if len(rest):
            parts.append(pa.array([self.code_text(int(code_ids[i]), int(cdrug[i]), int(style[i]), int(batch[i]))
                                   for i in rest], pa.string()))
            positions.append(rest)
        if not parts:
            return pa.array([], pa.string())
        order = np.concatenate(positions)
        inverse = np.empty(n, np.int64)
        inverse[order] = np.arange(n)
        return pa.concat_arrays(parts).take(pa.array(inverse))

    def norm_styles(self, cdrug: np.ndarray, style: np.ndarray) -> np.ndarray:
        """The style whose spelling is the normalised code (invalid codes keep their raw text)."""
        out = np.where(self.d_gs1[cdrug], GS1_EL, PLAIN).astype(np.int8)
        return np.where(style >= 20, np.where(style == INV_EXCEL_NUM, INV_EXCEL_TEXT, style), out).astype(np.int8)


def excel_display(code: str) -> str:
    """What Excel shows for a 20-digit code stored as a number: ``8.12345678901235E+19``."""
    return "%.15G" % float(code)


# ------------------------------------------------------------------------------ row batches

_FIELDS = {
    "kind": np.int8, "month": np.int16, "osec": np.int64, "pharm": np.int64, "drug": np.int64,
    "cdrug": np.int64, "code": np.int64, "ncodes": np.int8, "style": np.int8, "trdn": np.int8,
    "cnt": np.int64, "ins": bool, "person": np.int64, "receipt": np.int64, "ref_receipt": np.int64,
    "ref_ts": np.int64, "record": np.int64, "batch": np.int8, "group": np.int8, "tpl": np.int16,
    "inst": np.int64, "sep": np.int8, "reject": np.int8, "uncoded": bool, "norc": bool,
}  # fmt: skip


def _empty(n: int) -> dict[str, np.ndarray]:
    return {k: np.zeros(n, t) for k, t in _FIELDS.items()}


def _concat(batches: list[dict]) -> dict[str, np.ndarray]:
    batches = [b for b in batches if b is not None]
    if not batches:
        return _empty(0)
    return {k: np.concatenate([b[k] for b in batches]).astype(t, copy=False) for k, t in _FIELDS.items()}


def _take(b: dict, idx) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in b.items()}


def _len(b: dict) -> int:
    return len(b["kind"])


class _Alloc:
    """Counters for ids that must never collide."""

    def __init__(self, first_person: int):
        self.next = {"code": 0, "receipt": 0, "record": 0, "person": first_person, "inst": 0}

    def take(self, what: str, n: int) -> np.ndarray:
        start = self.next[what]
        self.next[what] = start + n
        return np.arange(start, start + n, dtype=np.int64)


def _pick_distinct(rng: np.random.Generator, k: int, pools: list[np.ndarray]) -> np.ndarray:
    out = np.empty((k, len(pools)), np.int64)
    for s, pool in enumerate(pools):
        out[:, s] = pool[rng.integers(0, len(pool), k)]
    for _ in range(10_000):
        if len(pools) < 2:
            break
        srt = np.sort(out, axis=1)
        bad = np.nonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))[0]
        if not len(bad):
            break
        for s, pool in enumerate(pools):
            out[bad, s] = pool[rng.integers(0, len(pool), len(bad))]
    else:
        raise ValueError("not enough distinct pharmacies or drugs for a planted case")
    return out


# ------------------------------------------------------------------------------- generator

_SUPPLIERS = ("浙江英特药业有限责任公司", "华东医药股份有限公司", "国药控股浙江有限公司", "九州通医药集团浙江有限公司")


@dataclass
class _Purchase:
    """One purchase (3503) or purchase return (3504) record: a drug's packs at one pharmacy."""

    kind: int  # K_PURCHASE or K_PURCHASE_RETURN
    pharm: int
    drug: int
    month: int
    osec: int
    codes: list[str]  # as the record lists them (normalised spellings)
    batch: int
    record: int = -1


class _Generator:
    def __init__(self, world: _World, rng: np.random.Generator, mode: str, progress: bool):
        self.w = world
        self.rng = rng
        self.mode = mode
        self.all_mode = mode == "all"  # every format, pharmacies grouped by format
        self.progress = progress
        self.files_written: set[str] = set()
        self.rows_per_file: dict[str, int] = {}
        self.file_meta: list[dict] = []
        self.truth_counts: dict[str, int] = {}
        self.scenario_rows = 0
        self.oracle_events: list[OracleEvent] = []
        self.expected_rejects: list[tuple[str, int, str]] = []
        self.extra_truth: list[tuple[str, str, str]] = []  # (rule, name, month) of uncoded sales
        self.extra_cases: list[tuple[int, str, str, str]] = []

    # ---- planning: planted cases first (they take the first ids), then background counts

    def plan(self, rows: int) -> None:
        w = self.w
        months = len(w.months)
        self.alloc = _Alloc(first_person=w.n_persons)
        unit_values = sorted(set(int(u) for u in w.d_units[:w.n_drugs]))
        per_month = rows / months
        target = SCENARIO_SHARE * per_month
        rule_tpls = [t for t in TEMPLATES if t.category in ("rule", "benign")]
        wsum = sum(t.weight for t in rule_tpls)
        batches, truth_parts, cases_parts = [], [], []
        self.people: list[tuple[str, int, str]] = []
        self.rings: list[tuple[str, str, str]] = []
        self.template_counts: dict[str, int] = {}
        self.reserved = np.zeros(len(w.p_code), bool)  # pharmacies of a planted ring: no other case there
        # rings first: their pharmacies are kept apart, so that each is found as one group
        for tid in sorted(range(len(TEMPLATES)), key=lambda i: TEMPLATES[i].category != "ring"):
            tpl = TEMPLATES[tid]
            if tpl.month_span >= months:
                continue
            if tpl.category in ("people", "ring"):
                k = max(1, int(per_month // 2_000_000))
            else:
                k = max(1, int(round(target * tpl.weight / wsum / len(tpl.events))))
            starts = np.repeat(np.arange(months - tpl.month_span), k)
            proto = _proto_truth(tpl, unit_values)
            b, truth, cases = self._expand(tid, tpl, starts, proto)
            batches.append(b)
            truth_parts.append(truth)
            cases_parts.append(cases)
            self.template_counts[tpl.name] = len(starts)
        self.scen = _concat(batches)
        self.scenario_rows = _len(self.scen)
        self._finish_truth(truth_parts, cases_parts)
        # rows asked for = sale and return records; purchases and deletes come on top
        scen_per_month = np.bincount(self.scen["month"][self.scen["kind"] < K_PURCHASE], minlength=months)
        base = np.full(months, rows // months, np.int64)
        base[: rows % months] += 1
        self.bg_per_month = base - scen_per_month
        if (self.bg_per_month < scen_per_month).any():  # planted cases must stay a minority
            need = int(scen_per_month.max()) * months * 2
            raise ValueError(f"rows={rows} is too small for {months} month(s) of planted cases; use at least {need}")

    def _expand(self, tid: int, tpl: Tpl, month0: np.ndarray, proto: frozenset):
        w, rng, alloc = self.w, self.rng, self.alloc
        k, n_ev = len(month0), len(tpl.events)
        ph_pools = []
        for s in range(tpl.n_ph):
            g = tpl.ph_groups[s] if s < len(tpl.ph_groups) else None
            pool = (w.p_group == g) if (self.all_mode and g is not None) else np.ones(len(w.p_code), bool)
            ph_pools.append(np.nonzero(pool & (w.p_buyer == tpl.buyers) & ~self.reserved)[0])
        # a ring's pharmacies leave one of each format group to the other cases (else rings may share)
        keep = np.concatenate([np.nonzero((w.p_group == g) & ~w.p_buyer)[0][:1] for g in range(N_GROUPS)])
        free = np.setdiff1d(ph_pools[0], keep)
        if tpl.category == "ring" and len(free) >= k * tpl.n_ph:
            ph = rng.permutation(free)[: k * tpl.n_ph].reshape(k, tpl.n_ph)
            self.reserved[ph.ravel()] = True
        else:
            ph = _pick_distinct(rng, k, ph_pools)
        coded = np.arange(w.n_drugs)
        kinds = {"any": coded, "nhsa": coded[~w.d_gs1[:w.n_drugs]], "gs1": coded[w.d_gs1[:w.n_drugs]],
                 "herb": np.arange(w.n_drugs, w.n_drugs + w.n_herbs)}
        drugs = _pick_distinct(rng, k, [kinds[kd] for kd in tpl.drugs])
        persons = alloc.take("person", k * tpl.n_person).reshape(k, tpl.n_person)
        inst = alloc.take("inst", k)
        # code ids: a slot used by an n-code line owns n consecutive ids
        widths = [max([e.ncodes for e in tpl.events if e.code == s and e.dup is None] or [1]) for s in range(len(tpl.codes))]
        offs = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
        code_ids = alloc.take("code", k * int(offs[-1])).reshape(k, int(offs[-1]))
        slot_drug = np.stack([drugs[:, c.drug] for c in tpl.codes], axis=1)
        styles = np.empty((k, len(tpl.codes)), np.int8)
        for s, c in enumerate(tpl.codes):
            st = STYLES[c.style]
            if st == INV_EXCEL_NUM and not self.all_mode:
                st = INV_EXCEL_TEXT
            col = np.full(k, st, np.int8)
            if st == PLAIN:  # GS1 packs are scanned in any of their spellings
                col = np.where(w.d_gs1[slot_drug[:, s]], rng.choice(GS1_STYLES, k), PLAIN).astype(np.int8)
            styles[:, s] = col
        batch_of = rng.integers(0, 3, (k, len(tpl.codes)))
        # times: one base per month offset, minute-aligned
        osec = np.zeros((k, n_ev), np.int64)
        for m in sorted({e.m for e in tpl.events}):
            idx = [i for i, e in enumerate(tpl.events) if e.m == m and e.dup is None]
            span = max(tpl.events[i].t for i in idx)
            room = w.month_open[month0 + m] - span - HOUR
            base = (rng.random(k) * room).astype(np.int64) // MINUTE * MINUTE
            for i in idx:
                osec[:, i] = base + tpl.events[i].t
        # receipts and records
        rc_keys: dict[object, int] = {}
        ev_rc = []
        for i, e in enumerate(tpl.events):
            if e.dup is not None or e.redo is not None:
                ev_rc.append(ev_rc[e.dup if e.dup is not None else e.redo])
                continue
            key = ("rc", e.rc) if e.rc is not None else ("ev", i)
            ev_rc.append(rc_keys.setdefault(key, len(rc_keys)))
        receipts = alloc.take("receipt", k * len(rc_keys)).reshape(k, len(rc_keys))
        slots = [_record_slot(tpl, i) for i in range(n_ev)]
        compact = {s_: n for n, s_ in enumerate(dict.fromkeys(slots))}
        ev_rec = [compact[s_] for s_ in slots]
        n_rec = len(compact)
        records = alloc.take("record", k * n_rec).reshape(k, n_rec)
        # insured flags and persons of the sales
        ins = np.zeros((k, n_ev), bool)
        person = np.full((k, n_ev), -1, np.int64)
        for i, e in enumerate(tpl.events):
            if e.dup is None and e.kind == "S":
                ins[:, i] = (rng.random(k) < INSURED_SHARE) if e.ins is None else e.ins
                if e.person is not None:
                    person[:, i] = persons[:, e.person]
                else:
                    person[:, i] = np.where(ins[:, i], self._persons(k), -1)
                if e.redo is not None:  # the same sale uploaded again
                    ins[:, i], person[:, i] = ins[:, e.redo], person[:, e.redo]
        rows = []
        for i, e0 in enumerate(tpl.events):
            src = e0.dup if e0.dup is not None else i
            e = tpl.events[src]
            b = _empty(k)
            b["kind"][:] = KIND_LETTERS.index(e.kind)
            b["uncoded"][:] = e.uncoded
            b["norc"][:] = e.norc
            b["month"][:] = month0 + e.m
            b["osec"][:] = osec[:, src]
            b["pharm"][:] = ph[:, e.ph]
            b["cdrug"][:] = slot_drug[:, e.code]
            b["drug"][:] = slot_drug[:, e.code] if e.med is None else drugs[:, e.med]
            b["code"][:] = code_ids[:, offs[e.code]]
            b["ncodes"][:] = e.ncodes
            b["style"][:] = styles[:, e.code]
            if e.kind in "PQ":  # a purchase lists the pack's code as the supplier's record has it
                b["style"][:] = w.norm_styles(b["cdrug"], b["style"])
            b["trdn"][:] = e.tr
            units = w.d_units[b["cdrug"]]
            b["cnt"][:] = e.ncodes if e.ncodes > 1 else _qty(e.q, units)
            b["receipt"][:] = receipts[:, ev_rc[src]]
            b["record"][:] = records[:, ev_rec[src]]
            b["batch"][:] = batch_of[:, e.code]
            b["group"][:] = -1
            b["tpl"][:] = tid
            b["inst"][:] = inst
            b["sep"][:] = rng.integers(0, len(SEPARATORS), k) if src == i else 0
            b["ref_receipt"][:] = -1
            if e.kind == "S":
                b["ins"][:] = ins[:, src]
                b["person"][:] = person[:, src]
            elif e.kind in "PQD":
                b["person"][:] = -1
            elif e.ref is not None:
                b["ins"][:] = ins[:, e.ref]
                b["person"][:] = person[:, e.ref]
                b["ref_receipt"][:] = receipts[:, ev_rc[e.ref]]
                b["ref_ts"][:] = self._ts(month0 + tpl.events[e.ref].m, osec[:, e.ref])
            else:  # a return of a sale we never see (sold before the data starts, or elsewhere)
                b["ins"][:] = rng.random(k) < INSURED_SHARE
                b["person"][:] = np.where(b["ins"], self._persons(k), -1)
                b["ref_receipt"][:] = alloc.take("receipt", k)
                b["ref_ts"][:] = self._ts(b["month"], osec[:, src]) - rng.integers(2, 40, k) * 86400
            if e0.dup is not None and e0.other is not None and self.all_mode:
                own = w.p_group[b["pharm"]]
                b["group"][:] = (own + rng.integers(1, N_GROUPS, k)) % N_GROUPS if e0.other < 0 else e0.other
            if e0.dup is not None:
                b["sep"][:] = rows[e0.dup]["sep"]
            rows.append(b)
        batch = _concat(rows)
        # truth
        truth = defaultdict(list)
        for rule, key, moff in sorted(proto, key=repr):
            if key[0] == "uncoded":  # named after the pharmacy and the drug
                names = self._uncoded_names(ph[:, key[1]], drugs[:, key[2]])
                self.extra_truth += zip([rule] * k, names, (w.months[m] for m in month0 + moff))
                continue
            slot, j = key
            truth["rule"].append(np.full(k, RULE_IDS.index(rule), np.int8))
            truth["code"].append(code_ids[:, offs[slot] + j])
            truth["cdrug"].append(slot_drug[:, slot])
            truth["style"].append(styles[:, slot])
            truth["batch"].append(batch_of[:, slot])
            truth["month"].append(month0 + moff)
        cases = defaultdict(list)
        for s in range(len(tpl.codes)):
            uses = [i for i, e in enumerate(tpl.events) if e.code == s and e.dup is None]
            if uses and all(tpl.events[i].kind == "D" for i in uses):  # no code: the batch number it names
                for i in uses:
                    names = [f"deleted:{w.p_code[p]}:LS{r:012d}" for p, r in
                             zip(ph[:, tpl.events[i].ph], records[:, ev_rec[i]])]
                    self.extra_cases += zip(inst + 1, [tpl.name] * k, [tpl.category] * k, names)
                continue
            if uses and all(tpl.events[i].uncoded for i in uses):  # no code: the pharmacy and the drug
                for i in uses:
                    names = self._uncoded_names(ph[:, tpl.events[i].ph], slot_drug[:, s])
                    self.extra_cases += zip(inst + 1, [tpl.name] * k, [tpl.category] * k, names)
                continue
            for j in range(widths[s]):
                cases["code"].append(code_ids[:, offs[s] + j])
                cases["cdrug"].append(slot_drug[:, s])
                cases["style"].append(styles[:, s])
                cases["batch"].append(batch_of[:, s])
                cases["inst"].append(inst)
                cases["tpl"].append(np.full(k, tid, np.int16))
        if tpl.category == "people":
            psn = self._psn_strings(persons[:, 0])
            for i in range(k):
                self.people.append((psn[i], len(tpl.codes), w.p_code[ph[i, 0]]))
        if tpl.category == "ring":
            for i in range(k):
                ring_id = f"R{len(self.rings) // 4 + 1:04d}"
                for s in range(4):
                    self.rings.append((ring_id, w.p_code[ph[i, s]], "sink" if s == 3 else "source"))
        return batch, {k_: np.concatenate(v) for k_, v in truth.items()} if truth else None, \
            {k_: np.concatenate(v) for k_, v in cases.items()}

    def _uncoded_names(self, pharm: np.ndarray, drug: np.ndarray) -> list[str]:
        """The name an uncoded_sale finding carries: ``uncoded:<fixmedins_code>:<med_list_codg>``."""
        w = self.w
        return [f"uncoded:{w.p_code[p]}:{w.d_med[d]}" for p, d in zip(pharm, drug)]

    def _persons(self, k: int) -> np.ndarray:
        # a few regulars, many occasional customers
        return (self.w.n_persons * self.rng.random(k) ** 2).astype(np.int64)

    def _ts(self, month, osec) -> np.ndarray:
        w = self.w
        month = np.asarray(month, np.int64)
        osec = np.asarray(osec, np.int64)
        return w.month_start[month] + (osec // OPEN_LEN) * 86400 + OPEN_START + osec % OPEN_LEN

    def _psn_strings(self, person: np.ndarray) -> list[str]:
        v = (person * _PSN_MUL + _PSN_ADD) % 10**14
        return _strings(_cat(len(person), b"3301", _digits(v, 14))).to_pylist()

    def _finish_truth(self, truth_parts, cases_parts) -> None:
        w = self.w
        parts = [t for t in truth_parts if t is not None]
        t = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        codes = w.code_texts(t["code"], t["cdrug"], w.norm_styles(t["cdrug"], t["style"]), t["batch"])
        table = pa.table({
            "rule": pa.array(np.array(RULE_IDS, dtype=object)[t["rule"]].tolist(), pa.string()),
            "drug_trac_codg": codes,
            "month": pa.array(np.array(w.months, dtype=object)[t["month"]].tolist(), pa.string()),
        })
        if self.extra_truth:
            rule, code, month = zip(*self.extra_truth)
            table = pa.concat_tables([table, pa.table({"rule": pa.array(rule, pa.string()),
                                                       "drug_trac_codg": pa.array(code, pa.string()),
                                                       "month": pa.array(month, pa.string())})])
        # invalid placeholders recur across cases (and uncoded sales of one drug at one pharmacy):
        # one truth row per (rule, code, month)
        table = table.group_by(["rule", "drug_trac_codg", "month"]).aggregate([])
        self.truth = table.sort_by([("rule", "ascending"), ("month", "ascending"), ("drug_trac_codg", "ascending")])
        self.truth_counts = {}
        for r in self.truth.column("rule").to_pylist():
            self.truth_counts[r] = self.truth_counts.get(r, 0) + 1
        c = {k: np.concatenate([p[k] for p in cases_parts if p]) for k in next(p for p in cases_parts if p)}
        names = np.array([tp.name for tp in TEMPLATES], dtype=object)
        cats = np.array([tp.category for tp in TEMPLATES], dtype=object)
        self.cases = pa.table({
            "case": pa.array(c["inst"] + 1),
            "template": pa.array(names[c["tpl"]].tolist(), pa.string()),
            "category": pa.array(cats[c["tpl"]].tolist(), pa.string()),
            "drug_trac_codg": w.code_texts(c["code"], c["cdrug"], w.norm_styles(c["cdrug"], c["style"]), c["batch"]),
        })
        if self.extra_cases:
            case, template, category, code = zip(*self.extra_cases)
            self.cases = pa.concat_tables([self.cases, pa.table({
                "case": pa.array(np.array(case, np.int64)), "template": pa.array(template, pa.string()),
                "category": pa.array(category, pa.string()), "drug_trac_codg": pa.array(code, pa.string())})])

    # ---- background rows

    def _background(self, month: int, n: int, lo: int, hi: int) -> dict[str, np.ndarray]:
        """``n`` ordinary records (unique codes) with open-seconds in [lo, hi) of ``month``."""
        w, rng, alloc = self.w, self.rng, self.alloc
        if n <= 0:
            return _empty(0)
        n_rc = int(n / 1.4) + 2
        lines = rng.choice(np.array([1, 2, 3]), n_rc, p=[0.72, 0.16, 0.12])
        while lines.sum() < n:
            lines = np.concatenate([lines, lines])
        n_rc = int(np.searchsorted(np.cumsum(lines), n) + 1)
        lines = lines[:n_rc]
        rc_of = np.repeat(np.arange(n_rc), lines)[:n]
        rc_pharm = np.minimum(np.searchsorted(w.p_cum, rng.random(n_rc)), len(w.p_code) - 1)
        rc_osec = rng.integers(lo, hi, n_rc)
        rc_ins = rng.random(n_rc) < INSURED_SHARE
        rc_person = np.where(rc_ins, self._persons(n_rc), -1)
        receipts = alloc.take("receipt", n_rc)
        b = _empty(n)
        b["kind"][:] = 0
        b["month"][:] = month
        b["osec"][:] = rc_osec[rc_of]
        b["pharm"][:] = rc_pharm[rc_of]
        drug = np.minimum(np.searchsorted(w.d_cum, rng.random(n)), w.n_drugs - 1)
        b["drug"][:] = drug
        b["cdrug"][:] = drug
        b["code"][:] = alloc.take("code", n)
        b["ncodes"][:] = 1
        style = np.zeros(n, np.int8)
        gs1 = w.d_gs1[drug]
        if gs1.any():
            style[gs1] = rng.choice(np.array([GS1_EL, GS1_PAREN, GS1_GS, GS1_SYM, GS1_NOGS]), int(gs1.sum()),
                                    p=[0.25, 0.3, 0.25, 0.05, 0.15])
        u = rng.random(n)
        dirty = ~gs1 & (u < 0.006)
        style[dirty] = np.where(u[dirty] < 0.003, APOS, np.where(u[dirty] < 0.005, SPACES, FULLWIDTH))
        b["style"][:] = style
        split = rng.random(n) < 0.06
        b["trdn"][:] = split
        units = w.d_units[drug]
        b["cnt"][:] = np.where(split, 1 + (rng.random(n) * np.maximum(1, units // 2)).astype(np.int64), 1)
        b["ins"][:] = rc_ins[rc_of]
        b["person"][:] = rc_person[rc_of]
        b["receipt"][:] = receipts[rc_of]
        b["ref_receipt"][:] = -1
        b["record"][:] = alloc.take("record", n)
        b["batch"][:] = rng.integers(0, 3, n)
        b["group"][:] = -1
        b["tpl"][:] = -1
        b["inst"][:] = -1
        return b

    # ---- columns

    def _columns(self, b: dict, kind: str, code_cells: pa.Array | None = None) -> dict[str, pa.Array]:
        w = self.w
        a = w.arrays
        n = _len(b)
        ts = self._ts(b["month"], b["osec"])
        y, mo, d, hh, mi, ss = _civil(ts)
        ymd = _digits(y * 10_000 + mo * 100 + d, 8)
        ins = b["ins"]
        cols: dict[str, pa.Array] = {}
        cols["fixmedins_code"] = a["pcode"].take(b["pharm"])
        cols["fixmedins_name"] = a["pname"].take(b["pharm"])
        cols["med_list_codg"] = a["med"].take(b["drug"])
        cols["fixmedins_hilist_id"] = a["hid"].take(b["drug"])
        cols["fixmedins_hilist_name"] = a["hname"].take(b["drug"])
        cols["fixmedins_bchno"] = _strings(_cat(n, b"LS", _digits(b["record"], 12)))
        prefix = b"XS" if kind == "S" else b"TH"
        cols["rtal_docno"] = _strings(_cat(n, prefix, ymd, _digits(b["receipt"], 10)))
        if kind == "R":
            ry, rmo, rd, *_ = _civil(b["ref_ts"])
            cols["medins_prod_sel_no"] = _strings(_cat(n, b"XS", _digits(ry, 4), _digits(rmo, 2), _digits(rd, 2),
                                                       _digits(np.maximum(b["ref_receipt"], 0), 10)))
        setl_receipt = b["receipt"] if kind == "S" else np.maximum(b["ref_receipt"], 0)
        cols["setl_id"] = _strings(_cat(n, b"3301", _digits((setl_receipt * _SETL_MUL + _SETL_ADD) % 10**14, 14)), ins)
        cols["mdtrt_sn"] = _strings(_cat(n, b"MD", ymd, _digits(setl_receipt, 10)), ins)
        psn = (np.maximum(b["person"], 0) * _PSN_MUL + _PSN_ADD) % 10**14
        cols["psn_no"] = _strings(_cat(n, b"3301", _digits(psn, 14)), ins & (b["person"] >= 0))
        cols["mdtrt_setl_type"] = a["setl_type"].take(ins.astype(np.int64))
        bi = b["cdrug"] * 3 + b["batch"]
        cols["manu_lotnum"] = a["lot"].take(bi)
        cols["manu_date"] = a["mdate"].take(bi)
        cols["expy_end"] = a["exp"].take(bi)
        cols["trdn_flag"] = a["flag"].take(b["trdn"].astype(np.int64))
        cols["sel_retn_cnt"] = a["count"].take(b["cnt"])
        hms = _digits(hh * 10_000 + mi * 100 + ss, 6)
        cols["sel_retn_time"] = _strings(_cat(n, ymd[:, :4], b"-", ymd[:, 4:6], b"-", ymd[:, 6:], b" ",
                                              hms[:, :2], b":", hms[:, 2:4], b":", hms[:, 4:]))
        cols["drug_trac_codg"] = code_cells if code_cells is not None else self._code_cells(b)
        if b["uncoded"].any():  # the pack was not scanned: an empty code cell
            cols["drug_trac_codg"] = pc.if_else(pa.array(b["uncoded"]), "", cols["drug_trac_codg"])
        if kind == "R" and b["norc"].any():  # a 3506 return that names no receipt
            norc = pa.array(b["norc"])
            for c in ("rtal_docno", "medins_prod_sel_no"):
                cols[c] = pc.if_else(norc, "", cols[c])
        cols["price"] = a["price"].take(b["drug"] * 2 + b["trdn"])
        names = SALE_COLUMNS if kind == "S" else RETURN_COLUMNS
        return {c: cols[c] for c in names}

    def _code_lists(self, b: dict) -> dict[int, list[str]]:
        """Codes of the multi-code lines, by row position."""
        w = self.w
        out = {}
        for i in np.nonzero(b["ncodes"] > 1)[0]:
            out[int(i)] = [w.code_text(int(b["code"][i]) + j, int(b["cdrug"][i]), int(b["style"][i]), int(b["batch"][i]))
                           for j in range(int(b["ncodes"][i]))]
        return out

    def _code_cells(self, b: dict) -> pa.Array:
        w = self.w
        cells = w.code_texts(b["code"], b["cdrug"], b["style"], b["batch"])
        multi = self._code_lists(b)
        if multi:
            rows = np.fromiter(multi, np.int64, len(multi))
            joined = pa.array([SEPARATORS[int(b["sep"][i])].join(multi[i]) for i in rows], pa.string())
            index = np.arange(len(cells), dtype=np.int64)
            index[rows] = len(cells) + np.arange(len(rows))
            cells = pa.concat_arrays([cells, joined]).take(pa.array(index))
        return cells

    # ---- formats="csv"

    def write_csv(self, out_dir: Path) -> None:
        from tqdm import tqdm

        w = self.w
        total = int(self.bg_per_month.sum()) + self.scenario_rows
        bar = tqdm(total=total, unit="row", unit_scale=True, disable=not self.progress, desc="synth")
        for mi, label in enumerate(w.months):
            sc = _take(self.scen, self.scen["month"] == mi)
            sales, rets = _take(sc, sc["kind"] == K_SALE), _take(sc, sc["kind"] == K_RETURN)
            bought = self._template_purchases(_take(sc, np.isin(sc["kind"], [K_PURCHASE, K_PURCHASE_RETURN])))
            deletes = _take(sc, sc["kind"] == K_DELETE)
            bar.update(len(bought) + _len(deletes))
            sales = _take(sales, np.argsort(sales["osec"], kind="stable"))
            n_sales = int(self.bg_per_month[mi]) + _len(sales)
            chunks = max(1, math.ceil(n_sales / CHUNK_ROWS))
            bounds = np.linspace(0, w.month_open[mi], chunks + 1).astype(np.int64)
            bg_sizes = np.diff(np.linspace(0, int(self.bg_per_month[mi]), chunks + 1).astype(np.int64))
            cuts = np.searchsorted(sales["osec"], bounds[1:-1])
            name = f"sales_{label}.csv"
            written = 0
            with open(out_dir / name, "wb") as fh:
                first = True
                for c, sc_idx in enumerate(np.split(np.arange(_len(sales)), cuts)):
                    bg = self._background(mi, int(bg_sizes[c]), int(bounds[c]), int(bounds[c + 1]))
                    more = self._buy(bg, mi, stock=c == 0)
                    bought += more
                    b = _concat([bg, _take(sales, sc_idx)])
                    b = _take(b, np.argsort(self._ts(b["month"], b["osec"]), kind="stable"))
                    self._write_csv_chunk(fh, pa.table(self._columns(b, "S")), first)
                    first = False
                    written += _len(b)
                    bar.update(_len(b) + len(more))
            self._record_file(name, "sale", "csv", "utf-8", "canonical", label, written)
            rets = _take(rets, np.argsort(self._ts(rets["month"], rets["osec"]), kind="stable"))
            name = f"returns_{label}.csv"
            with open(out_dir / name, "wb") as fh:
                self._write_csv_chunk(fh, pa.table(self._columns(rets, "R")), True)
            bar.update(_len(rets))
            self._record_file(name, "return", "csv", "utf-8", "canonical", label, _len(rets))
            bought.sort(key=lambda p: (p.osec, p.record))
            for kind, name in ((K_PURCHASE, f"purchases_{label}.csv"), (K_PURCHASE_RETURN, f"purchase_returns_{label}.csv")):
                mine = [p for p in bought if p.kind == kind]
                self._write_purchases_csv(out_dir / name, mine)
                self._record_file(name, "purchase" if kind == K_PURCHASE else "purchase_return", "csv", "utf-8",
                                  "purchase", label, len(mine))
            name = f"deletes_{label}.csv"
            self._write_deletes_csv(out_dir / name, deletes)
            self._record_file(name, "delete", "csv", "utf-8", "delete", label, _len(deletes))
        bar.close()

    def _buy(self, b: dict, month: int, stock: bool) -> list[_Purchase]:
        """Purchases (3503) covering the background sales in ``b`` of the pharmacies with purchase
        data: one record per pharmacy and drug with all its codes, delivered when the month opens;
        with ``stock``, one more per such pharmacy of a pack it keeps (so that each has purchase
        data every month). They come on top of the rows asked for (sales and returns)."""
        w, rng = self.w, self.rng
        sel = np.nonzero(w.p_buyer[b["pharm"]])[0]
        order = sel[np.lexsort((sel, b["drug"][sel], b["pharm"][sel]))]
        out: list[_Purchase] = []
        if len(order):
            texts = w.code_texts(b["code"][order], b["cdrug"][order], w.norm_styles(b["cdrug"][order], b["style"][order]),
                                 b["batch"][order]).to_pylist()
            key = b["pharm"][order] * len(w.d_med) + b["drug"][order]
            starts = np.r_[0, np.nonzero(np.diff(key))[0] + 1]
            for a, z in zip(starts, np.r_[starts[1:], len(order)]):
                i = order[a]
                out.append(_Purchase(K_PURCHASE, int(b["pharm"][i]), int(b["drug"][i]), month, 0, texts[a:z],
                                     int(b["batch"][i])))
        if stock:
            buyers = np.nonzero(w.p_buyer)[0]
            drugs = np.minimum(np.searchsorted(w.d_cum, rng.random(len(buyers))), w.n_drugs - 1)
            batch = rng.integers(0, 3, len(buyers))
            texts = w.code_texts(self.alloc.take("code", len(buyers)), drugs,
                                 w.norm_styles(drugs, np.zeros(len(buyers), np.int8)), batch).to_pylist()
            out += [_Purchase(K_PURCHASE, int(p), int(d), month, 0, [t], int(x))
                    for p, d, t, x in zip(buyers, drugs, texts, batch)]
        for p, r in zip(out, self.alloc.take("record", len(out))):
            p.record = int(r)
        return out

    def _template_purchases(self, b: dict) -> list[_Purchase]:
        """The planted purchases and purchase returns of ``b`` (one code each)."""
        w = self.w
        texts = w.code_texts(b["code"], b["cdrug"], b["style"], b["batch"]).to_pylist()
        out = [_Purchase(int(b["kind"][i]), int(b["pharm"][i]), int(b["drug"][i]), int(b["month"][i]),
                         int(b["osec"][i]), [texts[i]], int(b["batch"][i]), int(b["record"][i]))
               for i in range(_len(b))]
        return out

    def _purchase_fields(self, p: _Purchase) -> dict:
        """A purchase record's values (the 3503/3504 field names)."""
        w = self.w
        x = dt.datetime.fromtimestamp(int(self._ts(p.month, p.osec)), dt.timezone.utc)
        bi = p.drug * 3 + p.batch
        return {
            "med_list_codg": w.d_med[p.drug], "fixmedins_hilist_id": f"SP{100001 + p.drug}",
            "fixmedins_hilist_name": w.d_name[p.drug], "fixmedins_bchno": f"CG{p.record:012d}",
            "spler_name": _SUPPLIERS[p.drug % len(_SUPPLIERS)], "manu_lotnum": w.b_lot[bi], "manu_date": w.b_mdate[bi],
            "expy_end": w.b_exp[bi], "finl_trns_pric": f"{w.d_price[p.drug] * 0.72:.2f}", "purc_retn_cnt": len(p.codes),
            "purc_retn_stoin_time": f"{x:%Y-%m-%d %H:%M:%S}",
        }

    def _write_deletes_csv(self, path: Path, d: dict) -> None:
        """3507 deletes with the delete file columns: pharmacy, the batch number of the record
        withdrawn, the kind of record (4: a sale or return) and when the delete was sent."""
        w = self.w
        ts = self._ts(d["month"], d["osec"])
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["fixmedins_code", "fixmedins_bchno", "inv_data_type", "sel_retn_time"])
        for i in range(_len(d)):
            x = dt.datetime.fromtimestamp(int(ts[i]), dt.timezone.utc)
            writer.writerow([w.p_code[int(d["pharm"][i])], f"LS{int(d['record'][i]):012d}", "4", f"{x:%Y-%m-%d %H:%M:%S}"])
        path.write_text(buf.getvalue(), encoding="utf-8")

    def _write_deletes_json(self, path: Path, d: dict) -> None:
        """3507 messages, one per line: ``input.data`` names the withdrawn record (every third
        ``input`` a JSON string, as the clients that encrypt it send it before encryption)."""
        w = self.w
        ts = self._ts(d["month"], d["osec"])
        out = []
        for i in range(_len(d)):
            x = dt.datetime.fromtimestamp(int(ts[i]), dt.timezone.utc)
            ph = int(d["pharm"][i])
            msg = self._header("3507", w.p_code[ph], w.p_name[ph], x, i + 1, 2025)
            body = {"data": {"fixmedins_bchno": f"LS{int(d['record'][i]):012d}", "inv_data_type": "4"}}
            msg["input"] = json.dumps(body, ensure_ascii=False) if i % 3 == 2 else body
            out.append(json.dumps(msg, ensure_ascii=False, separators=(",", ":")))
        path.write_text("\n".join(out) + "\n" if out else "", encoding="utf-8")

    def _write_purchases_csv(self, path: Path, items: list[_Purchase]) -> None:
        names = ["fixmedins_code", "fixmedins_name", "med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name",
                 "fixmedins_bchno", "spler_name", "manu_lotnum", "manu_date", "expy_end", "finl_trns_pric",
                 "purc_retn_cnt", "purc_retn_stoin_time", "drug_trac_codg"]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(names)
        for p in items:
            f = self._purchase_fields(p)
            f.update(fixmedins_code=self.w.p_code[p.pharm], fixmedins_name=self.w.p_name[p.pharm],
                     drug_trac_codg=",".join(p.codes))
            writer.writerow([f[c] for c in names])
        path.write_text(buf.getvalue(), encoding="utf-8")

    @staticmethod
    def _write_csv_chunk(fh, table: pa.Table, header: bool) -> None:
        """Unquoted CSV, except the few rows whose code cell holds a comma."""
        if header:
            fh.write((",".join(table.column_names) + "\n").encode())
        if table.num_rows == 0:
            return
        plain = pacsv.WriteOptions(include_header=False, quoting_style="none")
        quoted = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        needs = np.asarray(pc.match_substring(table.column("drug_trac_codg"), ",").fill_null(False))
        if not needs.any():
            pacsv.write_csv(table, fh, plain)
            return
        start = 0
        for i in np.nonzero(needs)[0]:
            if i > start:
                pacsv.write_csv(table.slice(start, i - start), fh, plain)
            pacsv.write_csv(table.slice(i, 1), fh, quoted)
            start = i + 1
        if start < table.num_rows:
            pacsv.write_csv(table.slice(start), fh, plain)

    def _record_file(self, name, kind, fmt, encoding, headers, month, rows, **extra) -> None:
        self.files_written.add(name)
        self.rows_per_file[name] = int(rows)
        meta = {"name": name, "kind": kind, "format": fmt, "encoding": encoding, "headers": headers,
                "month": month, "rows": int(rows)}
        meta.update(extra)
        self.file_meta.append(meta)

    # ---- formats="all"

    def write_all(self, out_dir: Path) -> None:
        """formats="all" (every format, one pharmacy group per file) or "nhsa-json" (every
        upload as NHSA JSON messages); purchases as 3503/3504 messages either way."""
        w, rng = self.w, self.rng
        json_only = self.mode == "nhsa-json"
        per_file: dict[str, list] = {}
        for mi, label in enumerate(w.months):
            sc = _take(self.scen, self.scen["month"] == mi)
            bg = self._background(mi, int(self.bg_per_month[mi]), 0, int(w.month_open[mi]))
            bought = self._buy(bg, mi, stock=True)
            bought += self._template_purchases(_take(sc, np.isin(sc["kind"], [K_PURCHASE, K_PURCHASE_RETURN])))
            per_file[f"deletes_{label}.jsonl"] = _take(sc, sc["kind"] == K_DELETE)
            b = _concat([bg, _take(sc, sc["kind"] < K_PURCHASE)])
            n = _len(b)
            group = np.where(b["group"] >= 0, b["group"], w.p_group[b["pharm"]]).astype(np.int8)
            if json_only:
                group[:] = G_JSONL
            # every other JSON pharmacy sends the 2021 layout (one flat code per line)
            group[(group == G_JSONL) & ((b["pharm"] // N_GROUPS) % 2 == 1) & (b["ncodes"] == 1)] = G_JSON2021
            b["group"][:] = group
            # the GS character cannot live in an Excel cell
            gs_in_xlsx = (group == G_XLSX) & np.isin(b["style"], [GS1_GS, GS1_SYM])
            b["style"][gs_in_xlsx] = GS1_PAREN
            # reject-worthy records: background sales in text/Excel/JSON files, one in each at least
            texts = [G_CSV, G_BOM, G_GBK, G_XLSX, G_JSONL, G_JSON2021]
            cand = np.nonzero((b["tpl"] < 0) & (b["kind"] == 0) & np.isin(group, texts))[0]
            firsts = [int(rng.choice(c)) for g in texts if len(c := cand[group[cand] == g])]
            rest = np.setdiff1d(cand, firsts)
            more = min(len(rest), max(0, max(3, int(round(REJECT_SHARE * n))) - len(firsts)))
            extra = np.sort(rng.choice(rest, more, replace=False)).astype(np.int64)
            firsts = np.array(firsts, np.int64)
            # 1 time, 2 pharmacy, 3 quantity: the first of a file by its group (so each kind is in
            # the CSVs of every month), the others in turn
            b["reject"][firsts] = 1 + group[firsts] % 3
            b["reject"][extra] = 1 + np.arange(len(extra)) % 3
            ts = self._ts(b["month"], b["osec"])
            multi = self._code_lists(b)
            sale_files = [(g, pat.format(m=label)) for g, pat, fmt, *_ in SALE_FILES if fmt == "json" or not json_only]
            return_files = [(-2, f"returns_{label}.jsonl")] if json_only else \
                [(-1, f"returns_{label}.csv"), (-2, f"returns_{label}.jsonl")]
            for kind, files in (("S", sale_files), ("R", return_files)):
                sel = np.nonzero(b["kind"] == (0 if kind == "S" else 1))[0]
                sub = _take(b, sel)
                table = pa.table(self._columns(sub, kind))
                records = table.to_pylist()
                for f_group, fname in files:
                    if kind == "S":
                        mine = np.nonzero(sub["group"] == f_group)[0]
                    else:
                        own = w.p_group[sub["pharm"]]
                        mine = np.nonzero((own < 3) if f_group == -1 else (own >= 3) | json_only)[0]
                    mine = mine[np.lexsort((mine, ts[sel][mine]))]
                    per_file[fname] = [(records[i], {k: v[sel[i]] for k, v in b.items()}, ts[sel[i]],
                                        multi.get(int(sel[i]))) for i in mine]
            bought.sort(key=lambda p: (p.osec, p.record))
            per_file[f"purchases_{label}.jsonl"] = bought
        # write, in name order (the order the judge uses for event ids)
        for fi, fname in enumerate(sorted(per_file)):
            items = per_file[fname]
            label = re.search(r"(\d{4}-\d{2})", fname).group(1)
            if fname.startswith("deletes"):
                d = items
                self._write_deletes_json(out_dir / fname, d)
                self._record_file(fname, "delete", "json", "utf-8", "nhsa-json", label, _len(d),
                                  time_format="yyyy-MM-dd HH:mm:ss", infno=["3507"])
                ts_d = self._ts(d["month"], d["osec"])
                for seq in range(_len(d)):
                    self.oracle_events.append(OracleEvent(
                        eid=fi * 2**32 + seq, key=None, valid=True, kind="D", ph=w.p_code[int(d["pharm"][seq])],
                        doc=None, ts=int(ts_d[seq]), month=int(d["month"][seq]), trdn=0, qty=0.0, insured=False,
                        med=None, product=None, bchno=f"LS{int(d['record'][seq]):012d}"))
                continue
            if fname.startswith("purchases"):
                self._write_purchases_json(out_dir / fname, items)
                self._record_file(fname, "purchase", "json", "utf-8", "nhsa-json", label, len(items),
                                  time_format="yyyy-MM-dd HH:mm:ss", infno=["3503", "3504"])
                for seq, p in enumerate(items):
                    for j, code in enumerate(p.codes):
                        self.oracle_events.append(OracleEvent(
                            eid=fi * 2**32 + seq * 4096 + j, key=code, valid=True, kind=KIND_LETTERS[p.kind],
                            ph=w.p_code[p.pharm], doc=None, ts=int(self._ts(p.month, p.osec)), month=p.month, trdn=0,
                            qty=1.0, insured=False, med=w.d_med[p.drug], product=w.d_med[p.drug]))
                continue
            kind = "sale" if fname.startswith("sales") else "return"
            if fname.endswith(".xlsx"):
                lines = self._write_xlsx(out_dir / fname, items)
                self._record_file(fname, kind, "xlsx", None, "zh", label, len(items), time_format="excel datetime")
            elif fname.endswith("_2021.json"):
                lines = self._write_json(out_dir / fname, items, kind, era=2021)
                self._record_file(fname, kind, "json", "utf-8", "nhsa-json-2021", label, len(items),
                                  time_format="yyyy-MM-ddTHH:mm:ss", layout="2021: flat drug_trac_codg, all values "
                                  "strings, pharmacy code in the header, some messages pretty-printed")
            elif fname.endswith(".jsonl"):
                lines = self._write_json(out_dir / fname, items, kind, era=2025)
                self._record_file(fname, kind, "json", "utf-8", "nhsa-json", label, len(items),
                                  time_format="yyyy-MM-dd HH:mm:ss", layout="2025: input.selinfo with drugtracinfo and "
                                  "finl_trns_pric" + ("; receipts of several lines as 3505A input.selinfoDetail[]"
                                                      if kind == "sale" else "; no rtal_docno (a real 3506)"))
            elif fname.endswith(".parquet"):
                lines = self._write_parquet(out_dir / fname, items)
                self._record_file(fname, kind, "parquet", None, "canonical", label, len(items),
                                  time_format="yyyy-MM-dd HH:mm:ss")
            else:
                spec = next((s for s in SALE_FILES if s[1].format(m=label) == fname), None)
                enc, headers = (spec[3], spec[4]) if spec else ("utf-8", "canonical")
                lines = self._write_text_csv(out_dir / fname, items, enc, headers, kind)
                self._record_file(fname, kind, "csv", enc, headers, label, len(items),
                                  time_format="yyyy/M/d H:mm" if enc == "gbk" else "yyyy-MM-dd HH:mm:ss",
                                  line_ending="CRLF" if enc == "gbk" else "LF")
            for seq, (line, (rec, raw, t, codes)) in enumerate(zip(lines, items)):
                if raw["reject"]:
                    field_ = ("sel_retn_time", "fixmedins_code", "sel_retn_cnt")[raw["reject"] - 1]
                    self.expected_rejects.append((fname, line, field_))
                    continue
                # the receipt that identifies a record for duplicate_upload, as ingest takes it
                doc = (rec["rtal_docno"] if not fname.endswith(".jsonl") or kind == "sale" else "") \
                    or rec.get("medins_prod_sel_no") or rec["fixmedins_bchno"]
                self._add_oracle_events(fi, seq, line, rec, raw, t, doc)

    def _add_oracle_events(self, fi: int, seq: int, line: int, rec: dict, raw: dict, t: int, doc: str) -> None:
        w = self.w
        ph, med = rec["fixmedins_code"], rec["med_list_codg"]
        if raw["uncoded"]:
            self.oracle_events.append(OracleEvent(
                eid=fi * 2**32 + seq * 4, key=f"uncoded:{ph}:{med}", valid=True, kind="U", ph=ph, doc=None, ts=int(t),
                month=int(raw["month"]), trdn=int(raw["trdn"]), qty=float(raw["cnt"]), insured=bool(raw["ins"]),
                med=med, product=None, must_code=med[:1] in ("X", "Z"), bchno=rec["fixmedins_bchno"], rec=(fi, line)))
            return
        n = int(raw["ncodes"])
        style = int(raw["style"])
        norm = int(w.norm_styles(np.array([raw["cdrug"]]), np.array([style]))[0])
        for j in range(n):
            key = w.code_text(int(raw["code"]) + j, int(raw["cdrug"]), norm, int(raw["batch"]))
            self.oracle_events.append(OracleEvent(
                eid=fi * 2**32 + seq * 4 + j, key=key, valid=style < 20, kind="S" if raw["kind"] == 0 else "R",
                ph=ph, doc=doc, ts=int(t), month=int(raw["month"]),
                trdn=int(raw["trdn"]), qty=int(raw["cnt"]) / n, insured=bool(raw["ins"]),
                med=med, product=w.d_med[int(raw["cdrug"])], bchno=rec["fixmedins_bchno"], rec=(fi, line)))

    def _reject_value(self, raw: dict, column: str, value, style: str = "text"):
        r = int(raw["reject"])
        if r == 1 and column == "sel_retn_time":
            return ("2026-13-45 10:00:00", "昨天下午", "2026/2/30 25:61")[int(raw["record"]) % 3]
        if r == 2 and column == "fixmedins_code":
            return None
        if r == 3 and column == "sel_retn_cnt":
            return "abc"
        return value

    def _write_text_csv(self, path: Path, items, encoding: str, headers: str, kind: str) -> list[int]:
        names = list(SALE_COLUMNS if kind == "sale" else RETURN_COLUMNS)
        gbk = encoding == "gbk"
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n" if gbk else "\n")
        writer.writerow([LABELS_ZH[c] for c in names] if headers == "zh" else names)
        for rec, raw, t, codes in items:
            row = []
            for c in names:
                v = rec[c]
                if c == "sel_retn_time" and gbk:
                    x = dt.datetime.fromtimestamp(int(t), dt.timezone.utc)
                    v = f"{x.year}/{x.month}/{x.day} {x.hour}:{x.minute:02d}"
                if raw["reject"]:
                    v = self._reject_value(raw, c, v)
                row.append("" if v is None else v)
            writer.writerow(row)
        path.write_bytes(buf.getvalue().encode(encoding))
        return list(range(2, 2 + len(items)))

    def _write_xlsx(self, path: Path, items) -> list[int]:
        import openpyxl

        book = openpyxl.Workbook()
        fixed = dt.datetime(2026, 1, 1)
        book.properties.creator = "tracecode synth"
        book.properties.created = fixed
        book.properties.modified = fixed
        sheet = book.active
        sheet.title = "销售明细"
        names = list(SALE_COLUMNS)
        sheet.append([LABELS_ZH[c] for c in names])
        for rec, raw, t, codes in items:
            row = []
            for c in names:
                v = rec[c]
                if c == "sel_retn_time":
                    v = dt.datetime.fromtimestamp(int(t), dt.timezone.utc).replace(tzinfo=None)
                elif c in ("sel_retn_cnt", "trdn_flag", "mdtrt_setl_type"):
                    v = int(v)
                elif c == "price":
                    v = float(v)
                elif c == "drug_trac_codg" and int(raw["style"]) == INV_EXCEL_NUM:
                    v = float(self.w.nhsa_code(int(raw["code"]), int(raw["cdrug"])))
                if raw["reject"]:
                    v = self._reject_value(raw, c, v)
                row.append(v)
            sheet.append(row)
        time_col = names.index("sel_retn_time") + 1
        for (cell,) in sheet.iter_rows(min_row=2, min_col=time_col, max_col=time_col):
            if isinstance(cell.value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
        raw_buf = io.BytesIO()
        book.save(raw_buf)
        # rewrite the zip with fixed timestamps: same seed, same bytes
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(raw_buf.getvalue())) as zin, \
                zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                zi = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = info.external_attr
                data = zin.read(info.filename)
                if info.filename == "docProps/core.xml":  # openpyxl stamps the save time
                    data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z", data)
                zout.writestr(zi, data)
        path.write_bytes(out.getvalue())
        return list(range(2, 2 + len(items)))

    def _header(self, infno: str, code: str, name: str, x: dt.datetime, seq: int, era: int) -> dict:
        """A message header as the integrations send it (the pharmacy code often only here)."""
        head = {"infno": infno, "msgid": f"{code}{x:%Y%m%d%H%M%S}{seq % 10000:04d}"}
        if era == 2021:
            head.update(infver="V1.0", inf_time=f"{x:%Y-%m-%dT%H:%M:%S}")
        else:
            head.update(mdtrtarea_admvs="330100", insuplc_admdvs="330100", recer_sys_code="YDXT", infver="V1.0",
                        opter_type="1", opter="0001", opter_name="营业员", inf_time=f"{x:%Y-%m-%d %H:%M:%S}")
        head.update(fixmedins_code=code, fixmedins_name=name)
        if era == 2025:
            head["sign_no"] = ""
        return head

    def _record_2025(self, rec: dict, raw: dict, x: dt.datetime, codes: list[str] | None, kind: str) -> dict:
        """One ``selinfo`` item of the 2025 layout: ~39 fields, ``finl_trns_pric``, the codes as
        a ``drugtracinfo`` list (one object or none: other forms real clients send)."""
        sel: dict = {}
        if int(raw["pharm"]) % 2 == 0:  # else the pharmacy code is only in the header
            sel["fixmedins_code"] = rec["fixmedins_code"]
        text = {c: "" if rec.get(c) is None else rec[c] for c in rec}
        sel.update(
            med_list_codg=text["med_list_codg"], fixmedins_hilist_id=text["fixmedins_hilist_id"],
            fixmedins_hilist_name=text["fixmedins_hilist_name"], fixmedins_bchno=text["fixmedins_bchno"],
            prsc_dr_cert_type="", prsc_dr_certno="", prsc_dr_name="", phar_cert_type="", phar_certno="",
            phar_name="", phar_prac_cert_no="", hi_feesetl_type="1" if raw["ins"] else "2",
            setl_id=text["setl_id"], mdtrt_sn=text["mdtrt_sn"], psn_no=text["psn_no"],
            psn_cert_type="01" if text["psn_no"] else "", certno="", psn_name="", manu_lotnum=text["manu_lotnum"],
            manu_date=text["manu_date"], expy_end=text["expy_end"], rx_flag="0", trdn_flag=text["trdn_flag"],
            finl_trns_pric=float(text["price"]))
        if kind == "sale":
            sel["rtal_docno"] = text["rtal_docno"]
        else:  # a 3506 has no receipt of its own; it may name the sale's
            sel["medins_prod_sel_no"] = text["medins_prod_sel_no"]
        cnt = int(text["sel_retn_cnt"])
        sel.update(stoout_no="", bchno="", drug_prod_barc="", shelf_posi="",
                   sel_retn_cnt=f"{cnt}.0000" if int(raw["pharm"]) % 3 == 1 else cnt,
                   sel_retn_time=f"{x:%Y-%m-%d %H:%M:%S}", sel_retn_opter_name="营业员",
                   mdtrt_setl_type=text["mdtrt_setl_type"], memo="")
        if raw["uncoded"]:  # no code scanned: an empty list, or no drugtracinfo at all
            if int(raw["record"]) % 2 == 0:
                sel["drugtracinfo"] = []
        else:
            codes = codes or [rec["drug_trac_codg"]]
            if len(codes) == 1 and int(raw["record"]) % 11 == 0:
                sel["drugtracinfo"] = {"drug_trac_codg": codes[0]}
            else:
                sel["drugtracinfo"] = [{"drug_trac_codg": c} for c in codes]
        return sel

    def _record_2021(self, rec: dict, raw: dict, x: dt.datetime) -> dict:
        """One ``selinfo`` of the 2021 layout: a flat ``drug_trac_codg``, every value a string,
        an ISO time with ``T``, the pharmacy code in the header only."""
        text = {c: "" if rec.get(c) is None else str(rec[c]) for c in rec}
        sel = {c: text[c] for c in ("med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name", "fixmedins_bchno",
                                    "setl_id", "mdtrt_sn", "psn_no", "manu_lotnum", "manu_date", "expy_end",
                                    "trdn_flag")}
        sel.update(finl_trns_pric=f"{float(text['price']):.2f}", rtal_docno=text["rtal_docno"],
                   sel_retn_cnt=text["sel_retn_cnt"], sel_retn_time=f"{x:%Y-%m-%dT%H:%M:%S}",
                   mdtrt_setl_type=text["mdtrt_setl_type"], drug_trac_codg=text["drug_trac_codg"])
        return sel

    def _write_json(self, path: Path, items, kind: str, era: int) -> list[int]:
        """NHSA messages, one per line; 2025 sales: a receipt of several lines (none of them
        a planted reject) as one 3505A batch; 2021: every fourth message pretty-printed, as
        copied from an HIS log dialog. Returns the line where each record's message starts."""
        infno = "3505" if kind == "sale" else "3506"
        chunks: list[str] = []
        lines: list[int] = []
        line = 1
        i = 0
        while i < len(items):
            rec, raw, t, codes = items[i]
            x = dt.datetime.fromtimestamp(int(t), dt.timezone.utc)
            group = [items[i]]
            if era == 2025 and kind == "sale":
                # a batch holds distinct records (a copy or re-upload of one goes in its own message)
                while (i + len(group) < len(items) and not raw["reject"]
                       and (items[i + len(group)][1]["pharm"], items[i + len(group)][1]["receipt"])
                       == (raw["pharm"], raw["receipt"]) and not items[i + len(group)][1]["reject"]
                       and items[i + len(group)][1]["record"] not in {g[1]["record"] for g in group}):
                    group.append(items[i + len(group)])
            msg = self._header(infno if len(group) == 1 else "3505A", rec["fixmedins_code"], rec["fixmedins_name"], x,
                               len(chunks) + 1, era)
            if era == 2021:
                sel = self._record_2021(rec, raw, x)
                msg["input"] = {"selinfo": sel}
            elif len(group) == 1:
                sel = self._record_2025(rec, raw, x, codes, kind)
                msg["input"] = {"selinfo": sel}
            else:
                msg["input"] = {"selinfoDetail": [
                    self._record_2025(r, rw, dt.datetime.fromtimestamp(int(tt), dt.timezone.utc), c, kind)
                    for r, rw, tt, c in group]}
            if raw["reject"]:
                r = int(raw["reject"])
                if r == 2:
                    msg.pop("fixmedins_code")
                    sel.pop("fixmedins_code", None)
                elif r == 1:
                    sel["sel_retn_time"] = self._reject_value(raw, "sel_retn_time", None)
                else:
                    sel["sel_retn_cnt"] = "abc"
            pretty = era == 2021 and len(chunks) % 4 == 3
            text = json.dumps(msg, ensure_ascii=False, indent=4 if pretty else None,
                              separators=None if pretty else (",", ":"))
            chunks.append(text)
            lines += [line] * len(group)
            line += text.count("\n") + 1
            i += len(group)
        path.write_text("\n".join(chunks) + "\n" if chunks else "", encoding="utf-8")
        return lines

    def _write_purchases_json(self, path: Path, items: list[_Purchase]) -> list[int]:
        """3503 purchases and 3504 purchase returns, one message per line: a delivery (the
        records of one pharmacy, kind and time) as one message whose ``input.purcinfo`` lists
        them, each with a ``drugtracinfo`` list (every third message's ``purcinfo`` a JSON
        string of the rows, as some clients send it). Returns each record's line."""
        w = self.w
        out: list[str] = []
        lines: list[int] = []
        i = 0
        while i < len(items):
            p = items[i]
            group = [p]
            while i + len(group) < len(items) and \
                    (items[i + len(group)].pharm, items[i + len(group)].kind, items[i + len(group)].osec,
                     items[i + len(group)].month) == (p.pharm, p.kind, p.osec, p.month):
                group.append(items[i + len(group)])
            rows = []
            for q in group:
                f = self._purchase_fields(q)
                purc = {k: f[k] for k in ("med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name")}
                purc.update(dynt_no="", fixmedins_bchno=f["fixmedins_bchno"], spler_name=f["spler_name"],
                            spler_pmtno="", manu_lotnum=f["manu_lotnum"], prodentp_name="", aprvno="",
                            manu_date=f["manu_date"], expy_end=f["expy_end"], finl_trns_pric=float(f["finl_trns_pric"]),
                            purc_retn_cnt=f["purc_retn_cnt"], purc_invo_codg="", purc_invo_no="", rx_flag="0",
                            purc_retn_stoin_time=f["purc_retn_stoin_time"], purc_retn_opter_name="王五",
                            prod_geay_flag="0", memo="", drugtracinfo=[{"drug_trac_codg": c} for c in q.codes])
                rows.append(purc)
            x = dt.datetime.fromtimestamp(int(self._ts(p.month, p.osec)), dt.timezone.utc)
            msg = self._header("3503" if p.kind == K_PURCHASE else "3504", w.p_code[p.pharm], w.p_name[p.pharm], x,
                               len(out) + 1, 2025)
            body = rows[0] if len(rows) == 1 else rows
            msg["input"] = {"purcinfo": json.dumps(body, ensure_ascii=False) if len(out) % 3 == 2 else body}
            out.append(json.dumps(msg, ensure_ascii=False, separators=(",", ":")))
            lines += [len(out)] * len(group)
            i += len(group)
        path.write_text("\n".join(out) + "\n" if out else "", encoding="utf-8")
        return lines

    def _write_parquet(self, path: Path, items) -> list[int]:
        names = list(SALE_COLUMNS)
        data = {c: [rec[c] for rec, *_ in items] for c in names}
        table = pa.table({c: pa.array(v, pa.string()) for c, v in data.items()})
        pq.write_table(table, path)
        return list(range(1, 1 + len(items)))

    # ---- side files

    def write_side_files(self, out_dir: Path) -> None:
        w = self.w
        with open(out_dir / "catalog.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["med_list_codg", "code_prefix", "pack_units"])
            for i in range(w.n_drugs):
                writer.writerow([w.d_med[i], w.d_prefix[i], int(w.d_units[i])])
        for table, name in ((self.truth, "truth.csv"), (self.cases, "truth_cases.csv")):
            try:  # plain CSV; quoted only if some raw value needs it
                pacsv.write_csv(table, out_dir / name, pacsv.WriteOptions(quoting_style="none", quoting_header="none"))
            except pa.ArrowInvalid:
                pacsv.write_csv(table, out_dir / name, pacsv.WriteOptions(quoting_header="none"))
        with open(out_dir / "truth_people.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["psn_no", "packs", "pharmacy"])
            writer.writerows(self.people)
        with open(out_dir / "truth_rings.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["ring_id", "pharmacy", "role"])
            writer.writerows(self.rings)
        names = ["catalog.csv", "truth.csv", "truth_cases.csv", "truth_people.csv", "truth_rings.csv"]
        if self.mode != "csv":
            with open(out_dir / "expected_rejects.csv", "w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(["file", "line", "field"])
                writer.writerows(sorted(self.expected_rejects))
            names.append("expected_rejects.csv")
        self.files_written.update(names)

    def write_manifest(self, out_dir: Path, summary: SynthSummary, rows_requested: int) -> None:
        manifest = {
            "generator": "tracecode.synth",
            "seed": summary.seed,
            "formats": summary.formats,
            "rows_requested": rows_requested,
            "rows": summary.rows,
            "purchase_and_delete_rows": summary.other_rows,
            "injected_rows": summary.injected_rows,
            "months": summary.months,
            "pharmacies": summary.pharmacies,
            "drugs": summary.drugs,
            "files": sorted(self.file_meta, key=lambda m: m["name"]),
            "truth": {
                "file": "truth.csv",
                "columns": ["rule", "drug_trac_codg", "month"],
                "semantics": "docs/RULES.md with catalog.csv given; a row for every month with a flagged row "
                             "(check --month M sees only events before the end of M); invalid_code: the raw "
                             "value (an Excel number as Excel shows it, %.15G)",
                "rows_per_rule": summary.cases_per_rule,
            },
            "cases_per_template": dict(sorted(self.template_counts.items())),
            "line_numbers": "expected_rejects.csv: CSV and xlsx lines count the header as line 1; JSON lines from 1",
            "side_files": {
                "catalog.csv": "med_list_codg, code_prefix (7-digit prefix or GTIN-14), pack_units",
                "truth_cases.csv": "every planted code (benign look-alikes too) and its case template; a case "
                                   "without a code: uncoded:<pharmacy>:<drug>, deleted:<pharmacy>:<batch number>",
                "truth_people.csv": "professional buyers: psn_no, packs bought insured at pharmacy, then resold elsewhere",
                "truth_rings.csv": "recycling rings: source pharmacies whose insured packs reappear at the sink",
                "expected_rejects.csv": "formats all and nhsa-json: records an ingest must reject (file, line, field)",
                "deletes_M": "3507 deletes: ingest them with the other files (a delete may come before its record)",
                "purchases_M": "3503/3504 purchases of the pharmacies with purchase data (every 4th, at most 50)",
            },
        }
        (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        self.files_written.add("manifest.json")

    # ---- verification

    def verify(self) -> None:
        """Re-judge rows with the reference judge and compare with the template truth."""
        w = self.w
        if self.mode != "csv":
            events = self.oracle_events
        else:
            events = self._scenario_oracle_events()
        pack_units = {w.d_med[i]: int(w.d_units[i]) for i in range(w.n_drugs)}
        found = reference_findings(events, pack_units, range(len(w.months)))
        got = {(r, c, w.months[m]) for r, c, m in found}
        want = set(zip(*(self.truth.column(c).to_pylist() for c in ("rule", "drug_trac_codg", "month"))))
        if got != want:
            missing, extra = sorted(want - got)[:10], sorted(got - want)[:10]
            raise AssertionError(f"synth truth disagrees with the reference judge: missing {missing}, extra {extra}")

    def _scenario_oracle_events(self) -> list[OracleEvent]:
        w, b = self.w, self.scen
        ts = self._ts(b["month"], b["osec"])
        norm = w.norm_styles(b["cdrug"], b["style"])
        events = []
        # every pharmacy with purchase data buys (at least) a pack of stock each month as it opens
        for p in np.nonzero(w.p_buyer)[0]:
            events += [OracleEvent(eid=-1 - int(p), key=("stock", int(p)), valid=True, kind="P", ph=int(p), doc=None,
                                   ts=int(self._ts(m, 0)), month=m, trdn=0, qty=1.0, insured=False, med=None,
                                   product=None) for m in range(len(w.months))]
        for i in range(_len(b)):
            n = int(b["ncodes"][i])
            for j in range(n):
                key = w.code_text(int(b["code"][i]) + j, int(b["cdrug"][i]), int(norm[i]), int(b["batch"][i]))
                kind = KIND_LETTERS[int(b["kind"][i])]
                if b["uncoded"][i]:
                    kind, key = "U", self._uncoded_names(b["pharm"][i:i + 1], b["drug"][i:i + 1])[0]
                events.append(OracleEvent(
                    eid=i * 4 + j, key=key, valid=int(b["style"][i]) < 20, kind=kind,
                    must_code=int(b["drug"][i]) < w.n_drugs, bchno=int(b["record"][i]), rec=(int(ts[i]), i),
                    ph=int(b["pharm"][i]), doc=(int(b["kind"][i]), int(b["receipt"][i])), ts=int(ts[i]),
                    month=int(b["month"][i]), trdn=int(b["trdn"][i]), qty=int(b["cnt"][i]) / n,
                    insured=bool(b["ins"][i]), med=w.d_med[int(b["drug"][i])], product=w.d_med[int(b["cdrug"][i])]))
        return events
