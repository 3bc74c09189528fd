"""Professional drug-buyers (tracecode.analysis.people, `tracecode people`): hand-built cases, the
synthetic sample's planted buyers, masking, month scope, the CSV file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracecode.cli import main
from tracecode.errors import UnknownMonth
from tracecode.store.ingest import ingest_files
from tracecode.analysis.people import PEOPLE_COLUMNS, Analysis, people
from tracecode.outputs.analysis_files import write_people_csv
from tracecode.privacy import mask_key, mask_person
from tracecode.rules.runner import run_checks
from tracecode.store.database import open_store

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"

HEADER = ["fixmedins_code", "fixmedins_name", "med_list_codg", "fixmedins_hilist_name", "rtal_docno", "setl_id",
          "psn_no", "mdtrt_setl_type", "trdn_flag", "sel_retn_cnt", "price", "sel_retn_time", "drug_trac_codg"]
RETURN_HEADER = ["fixmedins_code", "fixmedins_name", "med_list_codg", "rtal_docno", "medins_prod_sel_no",
                 "trdn_flag", "sel_retn_cnt", "sel_retn_time", "drug_trac_codg"]

BUYER = "330100000000012345"
ONE_PACK = "330100000000099999"
RETURNER = "330100000000055555"


def code(n: int) -> str:
    return f"810000{n:014d}"


class Sales:
    """Builds a sale upload row by row (each row its own receipt unless told)."""

    def __init__(self):
        self.rows: list[list] = []
        self.returns: list[list] = []
        self._receipt = 0

    def sale(self, pharmacy: str, c: str, time: str, psn: str | None = None, drug: str = "XA01",
             name: str = "阿莫西林胶囊", price: str = "20.50", split: str = "0", qty: str = "1") -> str:
        self._receipt += 1
        receipt = f"T{self._receipt:06d}"
        insured = psn is not None
        self.rows.append([pharmacy, f"药店{pharmacy}", drug, name, receipt, f"S{self._receipt}" if insured else "",
                          psn or "", "1" if insured else "2", split, qty, price, time, c])
        return receipt

    def give_back(self, pharmacy: str, c: str, time: str, receipt: str) -> None:
        self.returns.append([pharmacy, f"药店{pharmacy}", "XA01", f"RT{len(self.returns) + 1}", receipt, "0", "1",
                             time, c])

    def load(self, con, folder: Path) -> None:
        paths = []
        with open(folder / "sales.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(HEADER)
            w.writerows(self.rows)
        paths.append(folder / "sales.csv")
        ingest_files(con, paths, kind="sale")
        if self.returns:
            with open(folder / "returns.csv", "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(RETURN_HEADER)
                w.writerows(self.returns)
            ingest_files(con, [folder / "returns.csv"], kind="return")


def scenario() -> Sales:
    s = Sales()
    # the professional buyer: 12 insured packs at P001 (plus 4 kept), 6 resold at P002, 6 at P003
    for i in range(12):
        day = 2 + i // 3
        s.sale("P001", code(i), f"2026-01-{day:02d} 10:{i:02d}:00", psn=BUYER,
               drug="XA01" if i % 2 else "XB02", name="阿莫西林胶囊" if i % 2 else "布洛芬缓释胶囊")
        s.sale("P002" if i < 6 else "P003", code(i), f"2026-01-{day + 4:02d} 15:00:00")
    for i in range(12, 16):
        s.sale("P001", code(i), f"2026-01-03 11:{i:02d}:00", psn=BUYER)
    # a person with one recycled pack
    s.sale("P004", code(100), "2026-01-05 09:00:00", psn=ONE_PACK)
    s.sale("P005", code(100), "2026-01-15 09:00:00")
    # a pack bought on insurance, returned, and sold again by the same pharmacy: legitimate
    receipt = s.sale("P006", code(200), "2026-01-06 09:00:00", psn=RETURNER)
    s.give_back("P006", code(200), "2026-01-06 12:00:00", receipt)
    s.sale("P006", code(200), "2026-01-08 09:00:00", psn="330100000000077777")
    # an ordinary customer: insured packs never resold
    for i in range(300, 305):
        s.sale("P007", code(i), "2026-01-09 09:00:00", psn="330100000000066666")
    return s


@pytest.fixture(scope="module")
def checked_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("people")
    con = open_store(folder / "p.duckdb")
    scenario().load(con, folder)
    run_checks(con)
    run_checks(con, month="2026-01")
    con.close()
    return folder / "p.duckdb"


@pytest.fixture
def checked(checked_path):
    con = open_store(checked_path)
    yield con
    con.close()


def test_buyer_with_12_packs_at_two_pharmacies_ranks_first(checked):
    ranked = people(checked, min_packs=1, mask=False)
    top = ranked[0]
    assert top.rank == 1 and top.psn_no == BUYER
    assert top.packs == 12 and top.resales == 12
    assert top.insured_packs == 16 and top.share == pytest.approx(12 / 16)
    assert top.drugs == 2
    assert top.value == pytest.approx(12 * 20.50)
    assert top.bought_pharmacies == 1 and top.bought_at == "P001 x12"
    assert top.reappeared_pharmacies == 2 and top.reappeared_at == "P002 x6; P003 x6"
    assert top.days_median == pytest.approx(4 + 5 / 24, abs=0.01)  # 10:xx -> 15:00 four days later
    assert set(top.top_drugs.split("; ")) == {"阿莫西林胶囊 x6", "布洛芬缓释胶囊 x6"}


def test_returned_and_resold_pack_is_not_a_buyer(checked):
    ids = {p.psn_no for p in people(checked, min_packs=1, mask=False)}
    assert RETURNER not in ids
    assert "330100000000077777" not in ids  # the second buyer's pack was never resold
    assert "330100000000066666" not in ids
    assert ids == {BUYER, ONE_PACK}


def test_min_packs_filters_persons(checked):
    assert [p.psn_no for p in people(checked, min_packs=2, mask=False)] == [BUYER]
    assert people(checked, min_packs=13) == []
    with pytest.raises(ValueError):
        people(checked, min_packs=0)


def test_ids_are_masked_by_default(checked):
    ranked = people(checked, min_packs=1)
    key = mask_key(checked)
    assert ranked[0].psn_no == mask_person(BUYER, key)
    assert all(BUYER not in p.psn_no for p in ranked)


def test_month_scope_matches_check(tmp_path):
    con = open_store(tmp_path / "m.duckdb")
    s = Sales()
    for i in range(3):  # bought in January, resold in February
        s.sale("P001", code(i), "2026-01-10 10:00:00", psn=BUYER)
        s.sale("P002", code(i), "2026-02-10 10:00:00")
    s.sale("P009", code(50), "2026-01-10 10:00:00")  # January needs events of its own
    s.load(con, tmp_path)
    run_checks(con, month="2026-01")
    run_checks(con, month="2026-02")
    assert people(con, "2026-01", min_packs=1) == []
    feb = people(con, "2026-02", min_packs=1, mask=False)
    assert [(p.psn_no, p.packs, p.insured_packs) for p in feb] == [(BUYER, 3, 3)]
    with pytest.raises(UnknownMonth):
        people(con, None)  # never checked over all months
    with pytest.raises(UnknownMonth):
        people(con, "2026-13")
    con.close()


def test_chain_links_each_resale_to_the_latest_insured_purchase(tmp_path):
    con = open_store(tmp_path / "c.duckdb")
    s = Sales()
    for i in range(2):  # A (person 1, insured) -> B (person 2, insured) -> C (cash)
        s.sale("PA", code(i), "2026-01-02 10:00:00", psn="330100000000000001")
        s.sale("PB", code(i), "2026-01-08 10:00:00", psn="330100000000000002")
        s.sale("PC", code(i), "2026-01-15 10:00:00")
    s.load(con, tmp_path)
    run_checks(con)
    with Analysis(con) as a:
        flows = con.execute("SELECT src_pharmacy, dst_pharmacy, psn_no FROM recycled_flows "
                            "ORDER BY dst_pharmacy, drug_trac_codg").fetchall()
        ranked = a.people(1, mask=False)
    assert flows == [("PA", "PB", "330100000000000001")] * 2 + [("PB", "PC", "330100000000000002")] * 2
    assert [(p.psn_no, p.packs, p.reappeared_at) for p in ranked] == [
        ("330100000000000001", 2, "PB x2"), ("330100000000000002", 2, "PC x2")]
    con.close()


def test_cancelled_purchase_is_not_the_source(tmp_path):
    con = open_store(tmp_path / "r.duckdb")
    s = Sales()
    receipt = s.sale("PA", code(1), "2026-01-02 10:00:00", psn="330100000000000001")
    s.give_back("PA", code(1), "2026-01-02 12:00:00", receipt)
    s.sale("PA", code(1), "2026-01-05 10:00:00", psn="330100000000000002")
    s.sale("PB", code(1), "2026-01-12 10:00:00")
    s.load(con, tmp_path)
    run_checks(con)
    ranked = people(con, None, 1, mask=False)
    assert [(p.psn_no, p.bought_at, p.reappeared_at) for p in ranked] == [("330100000000000002", "PA x1", "PB x1")]
    con.close()


def test_every_flagged_resale_has_a_source(checked):
    """The flows cover exactly the rows recycled_resale flags in the scope."""
    flagged = checked.execute("SELECT count(*) FROM finding_events WHERE month = 'all' "
                              "AND rule = 'recycled_resale' AND flagged").fetchall()[0][0]
    with Analysis(checked) as a:
        assert a.flows == flagged == 13
    assert not {r[0] for r in checked.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}


def test_persons_csv(checked, tmp_path):
    out = tmp_path / "persons.csv"
    n = write_people_csv(checked, out, None, mask=True, encoding="gbk", min_packs=1, headers="zh")
    assert n == 2
    rows = list(csv.reader(out.read_text(encoding="gbk").splitlines()))
    assert rows[0][:3] == ["排名", "人员编号", "回流盒数"] and len(rows[0]) == len(PEOPLE_COLUMNS)
    assert rows[1][1] == "\t" + mask_person(BUYER, mask_key(checked)) and rows[1][2] == "12"  # an id: tab-led
    out2 = tmp_path / "p2.csv"
    write_people_csv(checked, out2, "2026-01", mask=False)
    raw = out2.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and BUYER.encode() in raw


def test_cli_people(checked_path):
    db = str(checked_path)
    result = CliRunner().invoke(main, ["people", "--db", db, "--month", "2026-01", "--min-packs", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["#", "psn_no", "packs"]
    assert "P002 x6; P003 x6" in lines[2] and BUYER not in result.stdout
    result = CliRunner().invoke(main, ["people", "--db", db, "--no-mask"])
    assert result.exit_code == 0 and BUYER in result.stdout and ONE_PACK not in result.stdout
    result = CliRunner().invoke(main, ["people", "--db", db, "--month", "2026-02"])
    assert result.exit_code == 1 and "not been checked" in result.output


# ------------------------------------------------------------------- the synthetic sample


def truth(name: str) -> list[dict]:
    with open(SAMPLE / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_sample_planted_buyers_rank_first(sample_db):
    con, months = sample_db
    planted = truth("truth_people.csv")
    assert planted
    found = {}
    for m in months:
        ranked = people(con, m, mask=False)
        if ranked:
            found[m] = ranked
    for p in planted:
        firsts = [r[0] for r in found.values() if r[0].psn_no == p["psn_no"]]
        assert len(firsts) == 1, f"planted buyer {p['psn_no']} is not first in exactly one month"
        top = firsts[0]
        assert top.packs == int(p["packs"]) and top.bought_at == f"{p['pharmacy']} x{p['packs']}"
        assert top.reappeared_pharmacies == 2
