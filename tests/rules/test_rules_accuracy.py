"""The rules against independent truths: the synthetic generator's ground truth (20k rows:
sales, returns, purchases and purchase returns; every rule scored), and its row-by-row
reference judge on random small histories (hypothesis)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracecode.codes.hashing import code_key
from tracecode.rules.runner import run_checks
from tracecode.store.database import open_store
from tracecode.store.ingest import ingest_files

synth = pytest.importorskip("tracecode.synth")

BENCH = Path(__file__).resolve().parents[2] / "bench" / "accuracy.py"


def _accuracy_module():
    spec = importlib.util.spec_from_file_location("tracecode_bench_accuracy", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("incremental", [False, True], ids=["all-then-check", "month-by-month"])
def test_synth_ground_truth_20k(tmp_path, incremental):
    acc = _accuracy_module().measure(20_000, months=3 if incremental else 2, seed=3, data_dir=tmp_path / "data",
                                     db_path=tmp_path / "acc.duckdb", incremental=incremental)
    report = "\n".join(f"{s.rule}: truth {s.truth} found {s.found} tp {s.true_positives}" for s in acc.scores)
    assert all(s.truth > 0 for s in acc.scores), report
    assert acc.false_positives == [], f"{report}\nfalse positives: {acc.false_positives[:10]}"
    assert acc.false_negatives == [], f"{report}\nfalse negatives: {acc.false_negatives[:10]}"
    assert all(s.precision == 1.0 and s.recall == 1.0 for s in acc.scores), report


def test_synth_deletes_are_what_clears_the_deleted_cases(tmp_path):
    """The control of the planted 3507 deletes: loaded without its deletes files, the same data
    has exactly the findings the deletes withdraw (the deleted duplicate, the wrong upload
    corrected, in both months) more than its truth; with them, none (the accuracy test above)."""
    import csv

    data = tmp_path / "data"
    synth.generate(data, 3000, months=2, seed=4, formats="csv")
    con = open_store(":memory:")
    uploads = [p for p in sorted(data.glob("*.csv")) if p.name.startswith(("purchase", "sales_", "returns_"))]
    ingest_files(con, uploads, kind="auto")
    for month in ("2026-01", "2026-02"):
        run_checks(con, month=month, catalog=data / "catalog.csv")
    found = {tuple(r) for r in con.execute("SELECT rule, drug_trac_codg, month FROM findings").fetchall()}
    con.close()
    with open(data / "truth.csv", encoding="utf-8") as fh:
        truth = {(r["rule"], r["drug_trac_codg"], r["month"]) for r in csv.DictReader(fh)}
    with open(data / "truth_cases.csv", encoding="utf-8") as fh:
        template = {r["drug_trac_codg"]: r["template"] for r in csv.DictReader(fh)}
    assert truth <= found
    extra = sorted((rule, template.get(code), month) for rule, code, month in found - truth)
    assert extra == sorted([(r, "benign_deleted_duplicate", m) for r in ("duplicate_upload",)
                            for m in ("2026-01", "2026-02")]
                           + [(r, "benign_deleted_and_corrected", m) for r in ("duplicate_upload", "product_mismatch")
                              for m in ("2026-01", "2026-02")]), extra


# --------------------------------------------------- random histories vs the reference judge

MONTHS = ("2026-01", "2026-02", "2026-03")
CODES = ("81000010000000000001", "81000010000000000002", "81000020000000000003", "81000020000000000004")
INVALID = ("00000000000000000000", "8.10000100000000E+19")
OWNER = {"8100001": "XA01", "8100002": "XB01"}  # the catalogue: product prefix -> drug
PACK_UNITS = {"XA01": 10, "XB01": 6}

event = st.fixed_dictionaries({
    "kind": st.sampled_from("SSSR"),
    "code": st.one_of(st.integers(0, len(CODES) - 1), st.integers(0, len(CODES) - 1),
                      st.integers(len(CODES), len(CODES) + len(INVALID) - 1)),
    "ph": st.sampled_from(("P1", "P2", "P3")),
    "doc": st.sampled_from(("R1", "R2", "R3")),
    "day": st.integers(0, 85),
    "hour": st.sampled_from((9, 9, 12, 18)),
    "trdn": st.sampled_from((0, 0, 1)),
    "qty": st.integers(1, 6),
    "insured": st.booleans(),
    "wrong_drug": st.sampled_from((False, False, False, True)),
})


def _to_events(raw: list[dict]):
    base = dt.datetime(2026, 1, 1)
    out = []
    for i, r in enumerate(raw):
        t = base + dt.timedelta(days=r["day"], hours=r["hour"])
        valid = r["code"] < len(CODES)
        code = CODES[r["code"]] if valid else INVALID[r["code"] - len(CODES)]
        owner = OWNER.get(code[:7], "XA01")
        med = ("XB01" if owner == "XA01" else "XA01") if r["wrong_drug"] else owner
        out.append(dict(r, eid=i, code=code, valid=valid, time=t, month=t.strftime("%Y-%m"),
                        ts=int((t - dt.datetime(1970, 1, 1)).total_seconds()), med=med, owner=owner))
    return out


def _load(con, events, file_id: int) -> None:
    """Insert ``events`` as file ``file_id`` (straight into the store, as ingest would)."""
    con.execute("INSERT INTO files VALUES (?, ?, ?, 1, ?, 'mixed', 'csv', 'utf-8', ?, ?, 0, ?, "
                "TIMESTAMP '2026-04-01 00:00:00', 0, 1)",
                [file_id, f"/x/sales_{file_id}.csv", f"sales_{file_id}.csv", f"fp{file_id}"] + [len(events)] * 3)
    for e in events:
        con.execute(
            """INSERT INTO events (event_id, code_key, drug_trac_codg, code_raw, code_status, code_scheme, product_id,
                   kind, fixmedins_code, med_list_codg, rtal_docno, setl_id, mdtrt_setl_type, trdn_flag, sel_retn_cnt,
                   qty, codes_in_line, sel_retn_time, ts, month, insured, file_id, src_line)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)""",
            [(file_id << 32) + e["eid"], code_key(e["code"]), e["code"], e["code"],
             "valid" if e["valid"] else "invalid", "nhsa20" if e["valid"] else None,
             e["code"][:7] if e["valid"] else None, "sale" if e["kind"] == "S" else "return", e["ph"], e["med"],
             e["doc"], "S" if e["insured"] and e["kind"] == "S" else None,
             "1" if e["insured"] and e["kind"] == "S" else "2", e["trdn"], e["qty"], e["qty"], e["time"], e["ts"],
             e["month"], e["insured"] and e["kind"] == "S", file_id, e["eid"] + 2])


def _oracle(events, *, whole: bool = False):
    """The reference judge's findings per month; ``whole``: over everything at once (month 'all')."""
    month_index = {m: i for i, m in enumerate(MONTHS)}
    oracle = [synth.OracleEvent(
        eid=month_index[e["month"]] * 1000 + e["eid"],  # ingest order: one file per month, in month order
        key=e["code"], valid=e["valid"], kind=e["kind"], ph=e["ph"], doc=e["doc"], ts=e["ts"],
        month=0 if whole else month_index[e["month"]], trdn=e["trdn"], qty=float(e["qty"]),
        insured=e["insured"] and e["kind"] == "S", med=e["med"], product=e["owner"]) for e in events]
    found = synth.reference_findings(oracle, PACK_UNITS, [0] if whole else range(len(MONTHS)))
    return {(rule, key, "all" if whole else MONTHS[m]) for rule, key, m in found}


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(event, min_size=1, max_size=14))
def test_random_histories_match_the_reference_judge(tmp_path_factory, raw):
    events = _to_events(raw)
    folder = tmp_path_factory.mktemp("h")
    catalog = folder / "catalog.csv"
    catalog.write_text("med_list_codg,code_prefix,pack_units\nXA01,8100001,10\nXB01,8100002,6\n", encoding="utf-8")
    con = open_store(":memory:")
    try:
        # One file per month, each checked as it arrives (the incremental summaries are kept in
        # step file by file), then every month checked again and everything at once.
        months = sorted({e["month"] for e in events})
        for file_id, month in enumerate(months, start=1):
            _load(con, [e for e in events if e["month"] == month], file_id)
            run_checks(con, month=month, catalog=catalog)
        for month in months:
            run_checks(con, month=month, catalog=catalog)
        run_checks(con, catalog=catalog)
        got = {tuple(r) for r in con.execute("SELECT rule, drug_trac_codg, month FROM findings").fetchall()}
    finally:
        con.close()
    want = _oracle(events) | _oracle(events, whole=True)
    assert got == want, f"extra {sorted(got - want)}, missing {sorted(want - got)}"
