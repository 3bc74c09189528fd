"""The inspector's workbook: one row per case with its facts and empty decision columns
(decision, reason, recovered, until, note) with drop-down lists; read back all or nothing."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from tracecode.cases.statuses import DISMISS_REASONS, STATUS_LABELS, CaseError
from tracecode.cases.store import LIST_COLUMNS, Decision, Problem
from tracecode.messages import DEFAULT_LANG, text

__all__ = ["DECISION_COLUMNS", "read_decisions", "write_workbook"]

DECISION_COLUMNS = ["decision", "reason", "recovered", "until", "note"]
#: Facts kept as text in the workbook (codes and ids keep every digit).
_TEXT = {"case_id", "drug_trac_codg", "pharmacy_list", "rule", "status", "status_zh", "opened_month", "last_month"}


def write_workbook(path: Path, cases: list[dict[str, Any]], lang: str = DEFAULT_LANG) -> None:
    """Write the cases to ``path`` (.xlsx), decision columns empty, with drop-downs (their
    pop-up words in ``lang``)."""
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "cases"
    # the facts whose names are decision columns carry _now (what the case holds today)
    headers = [f"{c}_now" if c in DECISION_COLUMNS else c for c in LIST_COLUMNS] + DECISION_COLUMNS
    ws.append(headers)
    for case in cases:
        row = []
        for name in LIST_COLUMNS:
            value = case.get(name)
            row.append(str(value) if name in _TEXT and value is not None else value)
        ws.append(row + [None] * len(DECISION_COLUMNS))
    for r in range(2, len(cases) + 2):
        for name in _TEXT:
            ws.cell(row=r, column=headers.index(name) + 1).number_format = "@"
    last = max(len(cases) + 1, 2)

    def column(name: str) -> str:
        from openpyxl.utils import get_column_letter

        return get_column_letter(headers.index(name) + 1)

    lists = wb.create_sheet("lists")
    statuses = [s for s in STATUS_LABELS if s != "new"]
    for i, s in enumerate(statuses, 1):
        lists.cell(row=i, column=1, value=s)
        lists.cell(row=i, column=2, value=STATUS_LABELS[s])
    for i, reason in enumerate(DISMISS_REASONS, 1):
        lists.cell(row=i, column=3, value=reason)
    checks = [
        DataValidation(type="list", formula1=f"lists!$A$1:$A${len(statuses)}", allow_blank=True,
                       errorTitle="decision", error=text("cases.book_decision", lang)),
        DataValidation(type="list", formula1=f"lists!$C$1:$C${len(DISMISS_REASONS)}", allow_blank=True,
                       showErrorMessage=False),  # 其他 may carry free text
        DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                       errorTitle="recovered", error=text("cases.book_recovered", lang)),
        DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=True,
                       errorTitle="until", error=text("cases.book_until", lang)),
    ]
    for dv, name in zip(checks, ["decision", "reason", "recovered", "until"]):
        dv.add(f"{column(name)}2:{column(name)}{last}")
        ws.add_data_validation(dv)
    ws.freeze_panes = "B2"
    try:
        wb.save(path)
    except OSError as exc:
        raise CaseError(f"cannot write {path}: {exc.strerror or exc}") from None


def read_decisions(path: Path) -> tuple[list[Decision], list[Problem]]:
    """The filled-in rows of a workbook or CSV (rows with an empty decision are skipped)."""
    if not path.exists():
        raise CaseError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.reader(fh))
        except (OSError, UnicodeDecodeError) as exc:
            raise CaseError(f"{path}: cannot be read: {exc}") from None
    elif path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            raise CaseError(f"{path}: not a readable xlsx file ({type(exc).__name__})") from None
        ws = wb["cases"] if "cases" in wb.sheetnames else wb.worksheets[0]
        rows = [["" if v is None else v for v in r] for r in ws.iter_rows(values_only=True)]
        wb.close()
    else:
        raise CaseError(f"{path}: only .xlsx or .csv files are read")
    if not rows:
        raise CaseError(f"{path}: the file is empty")
    header = [str(h).strip() for h in rows[0]]
    missing = [c for c in ("case_id", "decision") if c not in header]
    if missing:
        raise CaseError(f"{path}: line 1 lacks the column(s) {', '.join(missing)}")
    at = {name: i for i, name in enumerate(header)}
    decisions: list[Decision] = []
    problems: list[Problem] = []
    for n, row in enumerate(rows[1:], start=2):
        def get(name: str, row: list = row) -> Any:
            i = at.get(name)
            return row[i] if i is not None and i < len(row) else ""

        status = str(get("decision")).strip()
        if not status:
            continue
        status = {label: sid for sid, label in STATUS_LABELS.items()}.get(status, status)
        where = f"{path.name} line {n}"
        version = get("version")
        try:
            version = int(float(version)) if str(version).strip() != "" else None
        except ValueError:
            problems.append(Problem(where, "version", f"the version is not a number: {version!r}"))
            continue
        until = get("until")
        decisions.append(Decision(
            case_id=str(get("case_id")).strip(), status=status, reason=str(get("reason")).strip() or None,
            recovered=get("recovered") if str(get("recovered")).strip() != "" else None,
            until=until if str(until).strip() != "" else None, note=str(get("note")).strip() or None,
            version=version, where=where))
    return decisions, problems
