"""Plain 3505/3506 message files are read by Arrow's JSON reader: whatever it takes must come
out as the Python reader gives it (records, every column, line numbers, kinds); whatever it
cannot read exactly so it must leave to the Python reader."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracecode.inputs import nhsa_arrow, nhsa_json
from tracecode.inputs.readers import Source
from tracecode.store.database import open_store
from tracecode.store.ingest import ingest_files

NUMBER_COLUMNS = ("sel_retn_cnt", "price")
CODE = "81234567890123456789"


def python_reader(data: bytes, first_line: int = 1, extra=None):
    source = Source(Path("m.jsonl"), "json")
    lines = nhsa_json._message_lines(io.StringIO(data.decode("utf-8-sig"), newline=None), first_line)
    batches = list(nhsa_json._record_batches(lines, extra, source))
    table = pa.Table.from_batches(batches) if batches else None
    return table, source.records, source.bad_records


def arrow_reader(data: bytes, first_line: int = 1, extra=None):
    found = nhsa_arrow.plain_message_batches(data, first_line, extra, nhsa_json.MAX_MESSAGE_CHARS)
    if found is None:
        return None
    batches, records = found
    return pa.Table.from_batches(batches), records


def same_number(got: str, want: str) -> bool:
    try:
        return got == want or float(got) == float(want)
    except ValueError:
        return False


def assert_same(data: bytes, first_line: int = 1, extra=None) -> pa.Table:
    """The Arrow reader takes ``data`` and gives what the Python reader gives."""
    fast = arrow_reader(data, first_line, extra)
    assert fast is not None, "left to the Python reader"
    table, records = fast
    expected, expected_records, bad = python_reader(data, first_line, extra)
    assert bad == [] and records == expected_records == table.num_rows
    assert table.schema == expected.schema
    for name in table.column_names:
        got, want = table.column(name).to_pylist(), expected.column(name).to_pylist()
        if name in NUMBER_COLUMNS:  # a JSON number's text may differ (2 / 2.0), never its value
            assert all(same_number(g, w) for g, w in zip(got, want, strict=True)), name
        else:
            assert got == want, name
    return table


def jsonl(*messages, newline: str = "\n") -> bytes:
    return "".join(json.dumps(m, ensure_ascii=False) + newline for m in messages).encode("utf-8")


def message(infno="3505", header=None, **record):
    item = {"fixmedins_bchno": "LS01", "rtal_docno": "XS01", "setl_id": "S1", "psn_no": "330101185850526210",
            "trdn_flag": "0", "sel_retn_cnt": 1.0, "finl_trns_pric": 6.8, "sel_retn_time": "2026-01-05 10:00:00",
            "drugtracinfo": [{"drug_trac_codg": CODE}]}
    item.update(record)
    item = {k: v for k, v in item.items() if v is not ...}
    head = {"infno": infno, "msgid": "M1", "inf_time": "2026-01-05 10:00:01", "fixmedins_code": "P3301",
            "fixmedins_name": "济民大药房"}
    head.update(header or {})
    return {**head, "input": {"selinfo": item}}


def test_py_space_is_what_str_strip_removes():
    assert set(nhsa_arrow.PY_SPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


TAKEN = {
    "2025 usual": [message()],
    "return": [message("3506", sel_retn_time="2026-01-06 09:00:00")],
    "two codes, spaces around them": [message(drugtracinfo=[{"drug_trac_codg": " 8123\t"},
                                                            {"drug_trac_codg": "\u30008765\u3000"}])],
    "GS1 code with a group separator": [message(drugtracinfo=[{"drug_trac_codg": "0106912345678901\x1d21ABC"}])],
    "empty and null codes among codes": [message(drugtracinfo=[{"drug_trac_codg": ""}, {"drug_trac_codg": None},
                                                               {"drug_trac_codg": CODE}])],
    "no code in the list: the flat code stands": [message(drugtracinfo=[{"drug_trac_codg": ""}],
                                                          drug_trac_codg="89999999999999999999")],
    "codes as a list of text": [message(drugtracinfo=[CODE, " 8222 "])],
    "nulls among codes": [message(drugtracinfo=["8123", None, ""])],
    "a null among code objects": [message(drugtracinfo=[{"drug_trac_codg": CODE}, None, {}])],
    "one code object": [message(drugtracinfo={"drug_trac_codg": CODE})],
    "no drugtracinfo": [message(drugtracinfo=..., drug_trac_codg=CODE)],
    "full-width digits": [message(drugtracinfo=[{"drug_trac_codg": "８３０７５７７８０６１２４０３４６７４０"}])],
    "record overrides the header": [message(fixmedins_name="另一家药店", fixmedins_code="P3302")],
    "a field in one record, only in the header of the others": [message(), message(fixmedins_name="另一家药店"),
                                                                message()],
    "numbers for text and counts": [message(psn_no=330101185850526210, trdn_flag=0, sel_retn_cnt=2,
                                            finl_trns_pric=32),
                                    message(psn_no=7, trdn_flag=1, sel_retn_cnt=0.5, finl_trns_pric=1e-3)],
    "count as text": [message(sel_retn_cnt="1.0000")],
    "not a number": [message(sel_retn_cnt=float("nan"))],
    "times in other forms": [message(sel_retn_time="2026-01-05T02:00:00Z"), message(sel_retn_time="2026-01-0510:00:00"),
                             message(sel_retn_time=" 2026-01-05 10:00:00 "), message(sel_retn_time="")],
    "null fields": [message(setl_id=None, manu_lotnum=None)],
    "a 3505A list of records": [{"infno": "3505A", "fixmedins_code": "P3301", "input": {"selinfo": [
        message()["input"]["selinfo"], {**message()["input"]["selinfo"], "rtal_docno": "XS02", "drugtracinfo": []},
        {**message()["input"]["selinfo"], "drugtracinfo": [{"drug_trac_codg": "8"}, {"drug_trac_codg": "9"}]}]}}],
    "header fields that are objects": [message(header={"sign": {"a": 1}, "opter": ["x"]})],
    "many messages": [message(rtal_docno=f"XS{i}", drugtracinfo=[{"drug_trac_codg": f"8{i:019d}"}]) for i in range(300)],
}


@pytest.mark.parametrize("name", TAKEN)
def test_taken_and_the_same_as_the_python_reader(name):
    assert_same(jsonl(*TAKEN[name]))


def test_line_numbers_start_where_the_piece_starts_and_count_each_message():
    record = message()["input"]["selinfo"]
    messages = [{"infno": "3505A", "input": {"selinfo": records}} for records in ([record], [record, record], [record])]
    table = assert_same(jsonl(*messages), first_line=41)
    assert table.column("__line").to_pylist() == [41, 42, 42, 43]
    assert table.column("__kind").to_pylist() == ["sale"] * 4


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_line_ends_a_bom_and_no_last_line_end(newline):
    data = b"\xef\xbb\xbf" + jsonl(message(), message("3506"), newline=newline)
    assert_same(data)
    assert_same(data.rstrip(b"\r\n"))


def test_columns_mapping_is_applied():
    data = jsonl(message(rtal_docno=..., xsdh="XS77"))
    table = assert_same(data, extra={"xsdh": "rtal_docno"})
    assert table.column("rtal_docno").to_pylist() == ["XS77"]


LEFT = {
    "3507 delete": jsonl({"infno": "3507", "inf_time": "2026-01-05 10:00:00",
                          "input": {"data": {"fixmedins_bchno": "LS01", "inv_data_type": "4"}}}),
    "3503 purchase": jsonl({"infno": "3503", "input": {"purcinfo": {"fixmedins_bchno": "LS01"}}}),
    "3501": jsonl({"infno": "3501", "input": {"invinfo": {}}}),
    "lower-case infno": jsonl(message("3505a")),
    "no infno": jsonl({"input": message()["input"]}),
    "pretty-printed": json.dumps(message(), indent=2).encode() + b"\n",
    "a blank line": jsonl(message()) + b"\n" + jsonl(message()),
    "a lone carriage return": jsonl(message()).rstrip(b"\n") + b"\r" + jsonl(message()),
    "broken JSON": jsonl(message()) + b'{"infno": "3505", "input": {\n',
    "a key twice": b'{"infno": "3505", "infno": "3506", "input": {"selinfo": {"rtal_docno": "X"}}}\n',
    "a field in two spellings": jsonl(message(**{"定点医药机构编号": "P9999"})),
    "a record's null over the header's value": jsonl(message(fixmedins_code=None)),
    "a null over the header's value, another record without the field": jsonl(message(fixmedins_code=None),
                                                                              message()),
    "an id too large for 64 bits": jsonl(message(psn_no=2**70)),
    "true for a field": jsonl(message(trdn_flag=True)),
    "a time as epoch milliseconds": jsonl(message(sel_retn_time=1767578400000)),
    "a number in a text field of the header": jsonl(message(header={"fixmedins_code": 0.0})),
    "drugtracinfo as JSON text": jsonl(message(drugtracinfo=json.dumps([{"drug_trac_codg": CODE}]))),
    "JSON text in a code": jsonl(message(drugtracinfo=['["8123","8124"]'])),
    "codes under another key": jsonl(message(drugtracinfo=[{"drugtracinfo": CODE}])),
    "a raw tab in a value": jsonl(message()).replace(b'"XS01"', b'"XS\t01"'),
    "a lone surrogate": jsonl(message()).replace(b'"XS01"', b'"XS\\ud800"'),
    "an empty record list": jsonl({"infno": "3505", "input": {"selinfo": []}}),
    "encrypted input": jsonl({"infno": "3505", "input": "c2VjcmV0"}),
    "a date in a field Arrow reads as a time": jsonl(message(fixmedins_hilist_name="2026-01-05")),
    "a null leading a list of text (pyarrow leaves it out)": jsonl(message(drugtracinfo=[None, CODE])),
    "nested 20,000 deep": b'{"infno": "3505", "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}\n",
}


@pytest.mark.parametrize("name", LEFT)
def test_left_to_the_python_reader(name):
    assert arrow_reader(LEFT[name]) is None


def test_an_id_too_large_for_64_bits_keeps_every_digit():
    table, _, bad = python_reader(LEFT["an id too large for 64 bits"])
    assert table.column("psn_no").to_pylist() == [str(2**70)] and bad == []


codes = st.lists(st.one_of(st.none(), st.text(st.sampled_from("0123456789 \t\u3000\x1dA["), max_size=8)), max_size=3)
values = st.one_of(st.none(), st.text(max_size=6), st.integers(-2**62, 2**62),
                   st.floats(allow_nan=False, allow_infinity=False))
times = st.one_of(st.just("2026-01-05 10:00:00"), st.just("2026-01-05T10:00:00+08:00"), st.just("20260105"),
                  st.integers(0, 2**41), st.text(max_size=4), st.none())
records = st.fixed_dictionaries(
    {"rtal_docno": values, "sel_retn_cnt": values, "sel_retn_time": times,
     "drugtracinfo": st.one_of(codes.map(lambda cs: [{"drug_trac_codg": c} if c != "A" else None for c in cs]),
                               codes, st.lists(st.just({}), max_size=2))},
    optional={"fixmedins_code": values, "drug_trac_codg": values, "psn_no": values, "finl_trns_pric": values})
messages = st.builds(lambda infno, head, sel: {"infno": infno, **head, "input": {"selinfo": sel}},
                     st.sampled_from(["3505", "3506", "3505A"]),
                     st.fixed_dictionaries({}, optional={"fixmedins_code": values, "fixmedins_name": values}),
                     st.one_of(records, st.lists(records, min_size=1, max_size=3)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messages, min_size=1, max_size=4))
def test_any_message_file_is_read_as_python_reads_it_or_left_to_it(batch):
    data = jsonl(*batch)
    if arrow_reader(data) is not None:
        assert_same(data)


@pytest.fixture
def store(tmp_path):
    con = open_store(str(tmp_path / "s.duckdb"))
    yield con
    con.close()


def test_an_ingest_stores_the_same_rows_either_way(tmp_path, monkeypatch):
    data = jsonl(*TAKEN["many messages"], *TAKEN["two codes, spaces around them"], *TAKEN["a 3505A list of records"],
                 message(sel_retn_cnt=0), message(rtal_docno=""))
    path = tmp_path / "sales.jsonl"
    path.write_bytes(data)
    stored = {}
    for way in ("arrow", "python"):
        if way == "python":
            monkeypatch.setattr(nhsa_json, "plain_message_batches", lambda *a: None)
        con = open_store(str(tmp_path / f"{way}.duckdb"))
        [result] = ingest_files(con, [path])
        stored[way] = (result.rows_read, result.rows_stored, result.rows_rejected,
                       con.execute("SELECT * FROM events ORDER BY event_id").fetchall(),
                       con.execute("SELECT * FROM rejects ORDER BY src_line").fetchall())
        con.close()
    assert stored["arrow"] == stored["python"]
    assert stored["arrow"][:3] == (306, 304, 2)


def test_the_arrow_reader_is_what_reads_a_plain_file(tmp_path, monkeypatch, store):
    taken = []

    def spy(*args):
        found = nhsa_arrow.plain_message_batches(*args)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(nhsa_json, "plain_message_batches", spy)
    path = tmp_path / "sales.jsonl"
    path.write_bytes(jsonl(*TAKEN["many messages"]))
    ingest_files(store, [path])
    assert taken == [True]  # one piece, read by Arrow


def read_all(path: Path, processes: bool):
    source = Source(path, "json")
    batches = list(nhsa_json.read_messages(path, None, source, processes=processes))
    return pa.Table.from_batches(batches).to_pylist(), source.records, source.bad_records


def test_plain_pieces_start_no_worker_processes(tmp_path, no_worker_processes):
    path = tmp_path / "sales.jsonl"
    path.write_bytes(jsonl(*TAKEN["many messages"]))
    assert len(nhsa_json._chunks(path)) > 5
    rows, records, bad = read_all(path, processes=True)
    assert records == len(rows) == 300 and bad == []


def test_workers_take_over_from_the_first_piece_arrow_cannot_read(tmp_path, monkeypatch):
    sample = Path(__file__).resolve().parents[2] / "data/sample/sales_2026-01.jsonl"
    path = tmp_path / "both.jsonl"
    path.write_bytes(jsonl(*TAKEN["many messages"]) + sample.read_bytes())
    monkeypatch.setattr(nhsa_json, "CHUNK_BYTES", 4096)
    pieces = nhsa_json._chunks(path)
    handed = []
    real = nhsa_json._parallel_batches

    def spy(*args):
        handed.append(args[-1][0])
        yield from real(*args)

    monkeypatch.setattr(nhsa_json, "_parallel_batches", spy)
    monkeypatch.setattr(nhsa_json, "PARALLEL_MIN_BYTES", 0)
    pieced = read_all(path, processes=True)
    first_taken = next(p for p in pieces if nhsa_json._plain_piece(
        nhsa_json._piece_bytes(path, p[0], p[1]), p[2], "utf-8", None) is None)
    assert handed == [first_taken] and first_taken != pieces[0]
    monkeypatch.setattr(nhsa_json, "_readable_in_pieces", lambda path, encoding: False)
    assert pieced == read_all(path, processes=False)


def test_gbk_messages_are_read_by_arrow_too(tmp_path, monkeypatch):
    path = tmp_path / "gbk.jsonl"
    path.write_bytes(jsonl(*TAKEN["many messages"], message(fixmedins_name="仁和堂大药房（解放路店）")).decode("utf-8")
                     .encode("gbk"))
    taken = []
    real = nhsa_json._plain_piece

    def spy(*args):
        found = real(*args)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(nhsa_json, "_plain_piece", spy)
    pieced = read_all(path, processes=False)
    assert taken == [True] and pieced[1] == 301
    assert pieced[0][-1]["fixmedins_name"] == "仁和堂大药房（解放路店）"
    monkeypatch.setattr(nhsa_json, "_readable_in_pieces", lambda path, encoding: False)
    source = Source(path, "json")
    one_pass = list(nhsa_json.read_messages(path, None, source))
    assert source.encoding == "gb18030"
    assert pieced == (pa.Table.from_batches(one_pass).to_pylist(), source.records, source.bad_records)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False),
                          st.integers(-2**60, 2**60).map(float),
                          st.sampled_from([0.0, -0.0, 1e-4, 9.999e-5, 1e16, 9999999999999998.0, 1e15, 5e-324,
                                           1.7976931348623157e308, 0.1, 32.4, 100000.0, 1 / 3])), max_size=40))
def test_floats_are_written_as_python_writes_them(xs):
    got = nhsa_arrow.float_text(pa.array(xs, pa.float64())).to_pylist()
    assert got == [None if x is None else str(x) for x in xs]
