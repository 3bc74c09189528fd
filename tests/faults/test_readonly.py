"""Issue 17: read-only paths, reproduced on a real read-only file system (a tmpfs mounted
read-only: as root a chmod does not stop a write). Skipped where mounting is not allowed."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.faults.test_regressions import checked, one_error, run, snapshot  # noqa: F401 (fixture)


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def readonly(tmp_path):
    """A folder whose file system turns read-only when ``freeze()`` is called."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if shutil.which("mount") is None or not _mount("-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)):
        pytest.skip("cannot mount a tmpfs here (needs root): read-only file systems are not tested")

    def freeze() -> None:
        assert _mount("-o", "remount,ro", str(folder)), "remount read-only failed"

    try:
        yield folder, freeze
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_export_and_report_into_a_read_only_folder_are_one_error(checked, readonly):  # noqa: F811
    folder, freeze = readonly
    assert run("check", "-q", "--db", str(checked), "--month", "2026-01").returncode == 0
    freeze()
    for args in (["export", "--db", str(checked), "--out", str(folder / "out")],
                 ["export", "--db", str(checked), "--out", str(folder)],
                 ["report", "--db", str(checked), "--month", "2026-01", "--out", str(folder / "report.html")]):
        error = one_error(run(*args))
        assert "read-only" in error.lower() or "permission" in error.lower() or "cannot" in error.lower(), error
    assert snapshot(folder) == {}


def test_a_store_on_a_read_only_file_system_reads_and_refuses_writes(checked, readonly, tmp_path):  # noqa: F811
    folder, freeze = readonly
    db = folder / "t.duckdb"
    shutil.copy(checked, db)
    new = tmp_path / "more.csv"
    new.write_text("fixmedins_code,rtal_docno,drug_trac_codg,sel_retn_time\nP9,R9,81234567890123456799,"
                   "2026-01-05 09:00:00\n", encoding="utf-8")
    freeze()
    before = db.read_bytes()
    status = run("status", "--db", str(db))
    assert status.returncode == 0 and "Traceback" not in status.stderr, status.stderr
    assert run("trace", "--db", str(db), "81234567890123456780").returncode == 0
    for args in (["ingest", "--db", str(db), str(new)], ["check", "--db", str(db)],
                 ["ingest", "--db", str(folder / "new.duckdb"), str(new)]):
        one_error(run(*args))
    assert db.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["t.duckdb"]
