"""The exported CSVs opened by a real spreadsheet program (LibreOffice Calc, headless, as a
double-click opens them): every code and id cell keeps all its digits, and the value read back
is the code after the documented rule (one leading tab removed)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import pytest

from tracecode.outputs.export_write import TEXT_ID_COLUMNS, exact, write_csv

openpyxl = pytest.importorskip("openpyxl")
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed: "
                                "apt-get install libreoffice-calc-nogui (.ci/run does)")

GOLDEN = Path(__file__).parent / "golden" / "export"
CODE = "82141354479797212345"  # 20 digits: a number to a spreadsheet, 8.21413544797972E+19
SETL_ID = "330100012345678901"


def open_in_calc(csvs: list[Path], work: Path) -> dict[Path, list[tuple]]:
    """Each CSV converted to xlsx by LibreOffice (UTF-8, comma; types detected as on a
    double-click) and read back with openpyxl: the rows of its first sheet."""
    flat = work / "in"
    flat.mkdir()
    names = {}
    for n, src in enumerate(csvs):
        dst = flat / f"f{n}_{src.name}"
        shutil.copy(src, dst)
        names[dst.with_suffix(".xlsx").name] = src
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{work / 'profile'}",
                    "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx", "--outdir", str(work / "out"),
                    *[str(p) for p in sorted(flat.iterdir())]],
                   check=True, capture_output=True, timeout=600)
    read = {}
    for name, src in names.items():
        book = openpyxl.load_workbook(work / "out" / name, read_only=True)
        read[src] = list(book.worksheets[0].iter_rows(values_only=True))
        book.close()
    return read


def csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def test_every_code_and_id_cell_keeps_its_digits(tmp_path):
    exports = [p for case in ("all", "2026-02_no_mask") for p in sorted((GOLDEN / case).rglob("*.csv"))]
    ours = tmp_path / "codes.csv"
    write_csv(ours, ["drug_trac_codg", "setl_id", "psn_no", "qty"], [[CODE, SETL_ID, "110101199001011234", 2]])
    read = open_in_calc([*exports, ours], tmp_path)
    checked = 0
    for path, sheet in read.items():
        rows = csv_rows(path)
        header = rows[0]
        assert len(sheet) == len(rows), path
        for row, cells in zip(rows[1:], sheet[1:]):
            for name, text, got in zip(header, row, cells):
                if name in TEXT_ID_COLUMNS and text:
                    assert isinstance(got, str) and exact(got) == exact(text), (path, name, text, got)
                    checked += 1
    assert checked > 100
    assert [exact(v) for v in read[ours][1][:3]] == [CODE, SETL_ID, "110101199001011234"]
    assert read[ours][1][3] == 2  # a count stays a number


def test_without_the_tab_the_code_is_damaged(tmp_path):
    """The control: the same code written plain comes back as a float (the test can fail)."""
    plain = tmp_path / "plain.csv"
    plain.write_text(f"drug_trac_codg\n{CODE}\n", encoding="utf-8-sig")
    got = open_in_calc([plain], tmp_path)[plain][1][0]
    assert not isinstance(got, str) and str(int(got)) != CODE
