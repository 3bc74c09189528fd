"""Fuzzing every reader through the library (``ingest_files``): CSV with Chinese or English
headers and hostile cells, NHSA messages with random fields, types and drugtracinfo forms, and
small workbooks. Whatever the file, ingest raises nothing but the project's own errors (and then
stores nothing of the file), or loads it with read = stored + rejected, as the store shows. Also
the code normaliser over any text. The default run takes well under a minute; the ``slow``
profile tries many more examples."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracecode.codes.normalize_arrow import explode_codes, normalize_array
from tracecode.errors import TracecodeError
from tracecode.inputs.columns import CHINESE_HEADERS, REQUIRED_COLUMNS
from tracecode.store.database import open_store
from tracecode.store.ingest import ingest_files

EXAMPLES = int(os.environ.get("TRACECODE_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ------------------------------------------------------------------ cells

#: Text with every kind of character but the surrogates no file can hold.
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)
GBK_TEXT = st.text(st.sampled_from("药店益民大康宁西湖区结算医保自费拆零是否无（）：，、"), max_size=8)
REAL_VALUES = st.sampled_from([
    "81234567890123456789", "81234567890123456788", "8.12E+19", "00000000000000000000", "无", "",
    "0106901234567892" + "21ABC123", "]d2010690123456789221X\x1d17270131", "81234567890123456789,81234567890123456788",
    "2026-01-05 10:00:00", "2026-01-0510:00:00", "2026-01-05T10:00:00+08:00", "46027.5", "1", "0.5", "-1", "NaN",
    "inf", "1e309", "1,000", "是", "Y", "医保结算", "=cmd|'/C calc'!A0", "\t81234567890123456789", "'8123", "P001",
])
CELL = st.one_of(REAL_VALUES, ANY_TEXT, GBK_TEXT)

FIELDS = ["fixmedins_code", "fixmedins_name", "med_list_codg", "rtal_docno", "medins_prod_sel_no", "setl_id",
          "psn_no", "mdtrt_setl_type", "trdn_flag", "sel_retn_cnt", "sel_retn_time", "drug_trac_codg", "price",
          "fixmedins_bchno"]


@st.composite
def headers(draw) -> list[str]:
    """The required columns (usually) and some others, each as an NHSA name or a Chinese header."""
    names = list(REQUIRED_COLUMNS) if draw(st.booleans()) or draw(st.booleans()) else []
    names += draw(st.lists(st.sampled_from(FIELDS), max_size=5))
    names = draw(st.permutations(names)) if names else [draw(ANY_TEXT)]
    spelled = [draw(st.sampled_from([n, *CHINESE_HEADERS.get(n, ())])) for n in names]
    return spelled + draw(st.lists(ANY_TEXT, max_size=2))


def accounted(con, results) -> None:
    [r] = results
    assert r.status == "loaded" and r.rows_read == r.rows_stored + r.rows_rejected, r
    files, events, rejects, stored_lines = con.execute(
        "SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM events), (SELECT count(*) FROM rejects), "
        "(SELECT count(DISTINCT src_line) FROM events)").fetchall()[0]
    assert (files, events, rejects) == (1, r.events, r.rows_rejected), r
    assert stored_lines == r.rows_stored if r.format != "json" else stored_lines <= r.rows_stored


def ingest_bytes(name: str, data: bytes) -> None:
    """Ingest ``data`` as file ``name``: the project's own error and nothing stored, or accounted."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        con = open_store(":memory:")
        try:
            try:
                results = ingest_files(con, [path])
            except TracecodeError as exc:
                assert str(exc).strip()
                assert con.execute("SELECT (SELECT count(*) FROM files) + (SELECT count(*) FROM events) "
                                   "+ (SELECT count(*) FROM rejects)").fetchall() == [(0,)]
                return
            accounted(con, results)
        finally:
            con.close()


# ------------------------------------------------------------------ CSV

@st.composite
def csv_files(draw) -> bytes:
    header = draw(headers())
    rows = draw(st.lists(st.lists(CELL, min_size=max(0, len(header) - 2), max_size=len(header) + 1), max_size=8))
    delimiter = draw(st.sampled_from([",", "\t"]))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, None]))
    if quoting is None:  # cells joined as they are: quotes and separators in them break the records
        body = "".join(delimiter.join(r) + end for r in [header, *rows])
    else:
        sink = io.StringIO()
        writer = csv.writer(sink, delimiter=delimiter, quoting=quoting, lineterminator=end)
        writer.writerow(header)
        writer.writerows(rows)
        body = sink.getvalue()
    text = draw(st.sampled_from(["", "\ufeff", "药品销售明细\n\n"])) + body
    encoding = draw(st.sampled_from(["utf-8", "gbk", "utf-16"]))
    return text.encode(encoding, errors="replace")


@FUZZ
@given(csv_files())
def test_fuzzed_csv(data):
    ingest_bytes("sales.csv", data)


# ------------------------------------------------------------------ NHSA messages

JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10**25, 10**25),
                        st.floats(allow_nan=False, allow_infinity=False), CELL)
JSON_VALUE = st.recursive(JSON_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                               st.dictionaries(ANY_TEXT, inner, max_size=3)),
                          max_leaves=6)
CODES = st.lists(st.one_of(REAL_VALUES, ANY_TEXT), max_size=3)
DRUGTRACINFO = st.one_of(
    st.none(), st.just([]),
    CODES.map(lambda cs: [{"drug_trac_codg": c} for c in cs]),  # the 2025 list
    REAL_VALUES.map(lambda c: {"drug_trac_codg": c}),  # one object
    CODES.map(lambda cs: json.dumps([{"drug_trac_codg": c} for c in cs])),  # a JSON string
    CODES, JSON_VALUE)


@st.composite
def selinfo(draw) -> dict:
    fields = draw(st.lists(st.sampled_from(FIELDS + ["finl_trns_pric", "infno"]), unique=True, max_size=10))
    item = {f: draw(st.one_of(CELL, JSON_SCALAR)) for f in fields}
    if draw(st.booleans()):
        item["drugtracinfo"] = draw(DRUGTRACINFO)
    return item


@st.composite
def messages(draw) -> object:
    items = draw(st.lists(selinfo(), max_size=3))
    key = draw(st.sampled_from(["selinfo", "selinfoDetail", "purcinfo", "data", "other"]))
    body: object = {key: items if draw(st.booleans()) else json.dumps(items, ensure_ascii=False)}
    if draw(st.integers(0, 9)) == 0:
        body = draw(st.one_of(JSON_VALUE, st.just("SM4ENCRYPTED")))
    message = {"input": json.dumps(body) if draw(st.integers(0, 4)) == 0 else body}
    infno = draw(st.sampled_from(["3505", "3506", "3503", "3504", "3505A", "3507", "9999", None]))
    if infno is not None:
        message["infno"] = infno
    if draw(st.booleans()):
        message["fixmedins_code"] = draw(CELL)
    return message if draw(st.integers(0, 9)) else draw(JSON_VALUE)


@st.composite
def json_files(draw) -> tuple[str, bytes]:
    found = draw(st.lists(messages(), max_size=4))
    form = draw(st.sampled_from(["lines", "array", "pretty"]))
    if form == "array":
        text = json.dumps(found, ensure_ascii=draw(st.booleans()))
    elif form == "pretty":
        text = "\n".join(json.dumps(m, ensure_ascii=False, indent=2) for m in found)
    else:
        text = "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in found)
    if draw(st.integers(0, 5)) == 0 and text:
        text = text[:draw(st.integers(0, len(text)))]  # cut short
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "gbk"]))
    return draw(st.sampled_from(["m.jsonl", "m.json"])), text.encode(encoding, errors="replace")


@FUZZ
@given(json_files())
def test_fuzzed_nhsa_messages(named):
    ingest_bytes(*named)


# ------------------------------------------------------------------ Excel

#: What openpyxl can write in a cell: no control characters but tab, LF, CR.
XLSX_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
XLSX_CELL = st.one_of(st.none(), REAL_VALUES.filter(lambda v: "\x1d" not in v and "\t" not in v), XLSX_TEXT, GBK_TEXT,
                      st.integers(-10**20, 10**20), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                      st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2100, 1, 1)))


@st.composite
def xlsx_files(draw) -> bytes:
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    header = [ILLEGAL_CHARACTERS_RE.sub("", h) for h in draw(headers())]
    book = openpyxl.Workbook()
    sheet = book.active
    for _ in range(draw(st.integers(0, 2))):
        sheet.append([draw(XLSX_TEXT)])  # a title block
    sheet.append(header)
    for cells in draw(st.lists(st.lists(XLSX_CELL, max_size=len(header) + 1), max_size=6)):
        sheet.append([c.lstrip("=") if isinstance(c, str) else c for c in cells])  # text, not formulas
    sink = io.BytesIO()
    book.save(sink)
    return sink.getvalue()


@settings(FUZZ, max_examples=max(10, EXAMPLES // 2))
@given(xlsx_files())
def test_fuzzed_xlsx(data):
    ingest_bytes("sales.xlsx", data)


# ------------------------------------------------------------------ the code normaliser

CODE_TEXT = st.one_of(REAL_VALUES, ANY_TEXT, st.text(st.sampled_from("0123456789０１８()]dC12\x1d<GS>è ,;，、\t'\""),
                                                     max_size=60))


@FUZZ
@given(st.lists(CODE_TEXT, max_size=20))
def test_the_normaliser_takes_any_text_and_a_valid_code_is_a_fixed_point(cells):
    parents, pieces = explode_codes(pa.array(cells, pa.string()))
    assert len(parents) == len(pieces) >= len(cells)
    normal = normalize_array(pieces)
    statuses = normal.column("status").to_pylist()
    assert set(statuses) <= {"valid", "invalid"}
    valid = [c for c, s in zip(normal.column("code").to_pylist(), statuses) if s == "valid"]
    again = normalize_array(pa.array(valid, pa.string()))
    assert again.column("code").to_pylist() == valid
    assert set(again.column("status").to_pylist()) <= {"valid"}


@pytest.mark.slow
def test_the_long_fuzz_profile():
    """The suite again with 20 times the examples (TRACECODE_FUZZ_EXAMPLES=800)."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k", "fuzzed",
                             "-m", "not slow"], env={**os.environ, "TRACECODE_FUZZ_EXAMPLES": str(EXAMPLES * 20)},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
