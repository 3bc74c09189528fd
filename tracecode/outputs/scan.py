"""One-shot check of a few files: ingest into a temporary database, run every rule, export,
and say in plain words what was found. A pharmacy's self-check before the upload deadline."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tracecode.errors import InputFileError
from tracecode.outputs.export import (
    FILE_NAMES,
    ExportResult,
    check_out_dir,
    export,
    rule_catalog,
)
from tracecode.store.database import open_store
from tracecode.store.ingest import FileResult, ingest_files

#: What each rule means for the person who uploaded the rows, and what to do.
RULE_WORDS: dict[str, tuple[str, str, str]] = {
    # rule: (singular, plural, advice)
    "duplicate_upload": ("code uploaded twice under the same receipt", "codes uploaded twice under the same receipt",
                         "a data error: delete the extra copies before the deadline"),
    "return_without_sale": ("return with no matching sale", "returns with no matching sale",
                            "upload the missing sale or correct the return"),
    "same_pharmacy_repeat": ("code sold more than once as a whole pack at one pharmacy",
                             "codes sold more than once as a whole pack at one pharmacy",
                             "one pack is sold once: check the receipts and the scanning"),
    "cross_pharmacy_reuse": ("code also sold at another pharmacy", "codes also sold at another pharmacy",
                             "possible copied code or recycled pack (回流药)"),
    "recycled_resale": ("code sold again after an insured sale", "codes sold again after an insured sale",
                        "possible recycled pack (回流药)"),
    "split_overuse": ("code with split-pack (拆零) sales that do not add up",
                      "codes with split-pack (拆零) sales that do not add up",
                      "check the split quantities and the pack size"),
    "invalid_code": ("value that is not a valid traceability code", "values that are not valid traceability codes",
                     "rescan the pack; never type or paste codes through Excel"),
    "product_mismatch": ("code scanned on another drug than the one billed",
                         "codes scanned on another drug than the one billed",
                         "scan the pack that is actually sold"),
}


@dataclass
class ScanOutcome:
    """What a scan read, found and wrote."""

    out_dir: Path
    files: list[FileResult] = field(default_factory=list)
    export: ExportResult | None = None
    months: list[str] = field(default_factory=list)
    pharmacies: int = 0

    @property
    def records(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)


def scan(files: Iterable[Path], out_dir: Path, *, returns: Iterable[Path] = (), catalog: Path | None = None,
         close_days: int = 3, db_path: str | Path | None = None, per_pharmacy: bool = False,
         encoding: str = "utf-8-sig", headers: str = "nhsa", mask: bool = True, force: bool = False,
         progress: bool = False, on_file: Callable[[str], None] | None = None) -> ScanOutcome:
    """Ingest ``files`` (sales, or returns by their name) and ``returns``, check all months,
    export to ``out_dir``. Without ``db_path`` the database lives in a temporary folder that is
    deleted at the end.

    Example::

        outcome = scan([Path("sales_2026-10.csv")], Path("check"))
        print("\\n".join(summary_lines(outcome)))
    """
    from tracecode.rules.runner import run_checks

    files, returns, out_dir = [Path(f) for f in files], [Path(f) for f in returns], Path(out_dir)
    check_out_dir(out_dir, force)  # before any work: say it now, not after a long load
    for path in [*files, *returns]:
        if not path.is_file():
            raise InputFileError(f"{path}: no such file", hint="check the path; quote names with spaces")
    outcome = ScanOutcome(out_dir)
    with tempfile.TemporaryDirectory(prefix="tracecode-scan-") as tmp:
        con = open_store(db_path or Path(tmp) / "scan.duckdb")
        try:
            def told(result: FileResult) -> None:
                outcome.files.append(result)
                if on_file:
                    on_file(_file_line(result))

            ingest_files(con, files, kind="auto", progress=progress, on_result=told)
            ingest_files(con, returns, kind="return", progress=progress, on_result=told)
            outcome.months = [r[0] for r in con.execute(
                "SELECT DISTINCT month FROM events WHERE month <> '' ORDER BY month").fetchall()]
            outcome.pharmacies = con.execute("SELECT count(DISTINCT fixmedins_code) FROM events").fetchall()[0][0]
            run_checks(con, month=None, catalog=catalog, close_days=close_days)
            outcome.export = export(con, out_dir, per_pharmacy=per_pharmacy, encoding=encoding, headers=headers,
                                    mask=mask, force=force, db_label=str(db_path or "the scan"), require_rows=False)
        finally:
            con.close()
    return outcome


def _file_line(result: FileResult) -> str:
    if result.status == "skipped":
        return f"{result.path}: {result.message}"
    rejected = f", {result.rows_rejected:,} could not be read" if result.rows_rejected else ""
    return f"{result.path}: {result.rows_read:,} {result.kind} records{rejected}"


def summary_lines(outcome: ScanOutcome) -> list[str]:
    """A few lines in plain words: what was read, what was found per rule, where the files are."""
    out = outcome.out_dir
    months = outcome.months
    span = "" if not months else (f", {months[0]}" if len(months) == 1 else f", {months[0]} to {months[-1]}")
    lines = [f"Checked {outcome.records:,} records from {len(outcome.files)} file(s) "
             f"({outcome.pharmacies:,} pharmacies{span})."]
    if outcome.rejected:
        lines.append(f"{outcome.rejected:,} record(s) could not be read — fix them and upload again: "
                     f"see {out / 'rejects.csv'}")
    result = outcome.export
    found = result.findings if result else {}
    labels = dict(rule_catalog())
    if not any(found.values()):
        lines.append("No re-used or invalid traceability codes found.")
    else:
        codes = out / "suspicious_codes.csv"
        for rule, _ in rule_catalog():
            n = found.get(rule, 0)
            if not n:
                continue
            one, many, advice = RULE_WORDS.get(rule, (f"finding of {rule}", f"findings of {rule}", "see the files"))
            lines.append(f"  {n:,} {one if n == 1 else many} ({labels.get(rule, rule)}) — {advice}: see {codes}")
        for rule in sorted(set(found) - set(labels)):
            lines.append(f"  {found[rule]:,} finding(s) of {rule}: see {codes}")
    names = list(FILE_NAMES) + [n for n in (result.rows if result else {}) if n not in FILE_NAMES]
    lines.append(f"Files: {', '.join(str(out / n) for n in names)}")
    if result and result.pharmacies:
        lines.append(f"One folder per pharmacy (its own rows only): {out / 'pharmacies'}")
    return lines
