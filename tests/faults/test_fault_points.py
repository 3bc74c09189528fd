"""The fault points themselves: counted by name with TRACECODE_FAULT_COUNT, a kill at the n-th with
TRACECODE_FAULT_AT, nothing at all without either."""

from __future__ import annotations

from tests.conftest import sale, write_csv
from tests.faults.test_regressions import run


def test_an_ingest_passes_its_points_in_order(tmp_path):
    f1 = write_csv(tmp_path / "a.csv", [sale()])
    f2 = write_csv(tmp_path / "b.csv", [sale(receipt="R2", code="81234567890123456780")])
    count = tmp_path / "points.txt"
    result = run("ingest", "-q", "--db", str(tmp_path / "t.duckdb"), str(f1), str(f2),
                 env={"TRACECODE_FAULT_COUNT": str(count)})
    assert result.returncode == 0, result.stderr
    points = count.read_text(encoding="utf-8").split()
    per_file = ["ingest.file", "ingest.chunk", "ingest.commit", "ingest.committed"]
    assert points[:9] == per_file + per_file + ["ingest.code_index"]
    assert set(points[9:]) == {"summaries.stage"}


def test_the_nth_point_kills_and_no_variable_passes_them_all(tmp_path):
    f = write_csv(tmp_path / "a.csv", [sale()])
    killed = run("ingest", "-q", "--db", str(tmp_path / "k.duckdb"), str(f), env={"TRACECODE_FAULT_AT": "3"})
    assert killed.returncode == -9
    clean = run("ingest", "-q", "--db", str(tmp_path / "c.duckdb"), str(f))
    assert clean.returncode == 0, clean.stderr
    assert not list(tmp_path.glob("*.txt"))
