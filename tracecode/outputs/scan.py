"""One-shot check of a few files: ingest into a temporary database, run every rule, export,
and say in plain words what was found. A pharmacy's self-check before the upload deadline."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tracecode.errors import InputFileError
from tracecode.messages import DEFAULT_LANG, RULE_WORDS, stored_text, text
from tracecode.outputs.export import (
    FILE_NAMES,
    ExportResult,
    check_out_dir,
    export,
    rule_catalog,
)
from tracecode.scratch import scratch_folder
from tracecode.store.database import open_store
from tracecode.store.ingest import FileResult, ingest_files


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
         columns: dict[str, str] | None = None, close_days: int = 3, db_path: str | Path | None = None, per_pharmacy: bool = False,
         encoding: str = "utf-8-sig", headers: str = "nhsa", mask: bool = True, force: bool = False,
         progress: bool = False, on_file: Callable[[str], None] | None = None,
         lang: str = DEFAULT_LANG) -> ScanOutcome:
    """Ingest ``files`` (sales, or returns by their name) and ``returns``, check all months,
    export to ``out_dir``. Without ``db_path`` the database lives in a private temporary folder
    that is deleted at the end (a killed scan's, by the next scan: :mod:`tracecode.scratch`).

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
    with nullcontext(None) if db_path else scratch_folder() as tmp:
        con = open_store(db_path or tmp / "scan.duckdb")
        try:
            def told(result: FileResult) -> None:
                outcome.files.append(result)
                if on_file:
                    on_file(_file_line(result, lang))

            ingest_files(con, files, kind="auto", columns=columns, progress=progress, on_result=told)
            ingest_files(con, returns, kind="return", columns=columns, progress=progress, on_result=told)
            outcome.months = [r[0] for r in con.execute(
                "SELECT DISTINCT month FROM events WHERE month <> '' ORDER BY month").fetchall()]
            outcome.pharmacies = con.execute("SELECT count(DISTINCT fixmedins_code) FROM events").fetchall()[0][0]
            run_checks(con, month=None, catalog=catalog, close_days=close_days)
            outcome.export = export(con, out_dir, per_pharmacy=per_pharmacy, encoding=encoding, headers=headers,
                                    mask=mask, force=force, db_label=str(db_path or "the scan"), require_rows=False,
                                    lang=lang)
        finally:
            con.close()
    return outcome


def _file_line(result: FileResult, lang: str = DEFAULT_LANG) -> str:
    if result.status == "skipped":
        return f"{result.path}: {stored_text(result.message, lang)}"
    rejected = text("scan.file_rejected", lang, n=result.rows_rejected) if result.rows_rejected else ""
    kind = text(f"kind.{result.kind}", lang) if result.kind in ("sale", "return") else result.kind
    return text("scan.file", lang, path=result.path, records=result.rows_read, kind=kind, rejected=rejected)


def summary_lines(outcome: ScanOutcome, lang: str = DEFAULT_LANG) -> list[str]:
    """A few lines in plain words: what was read, what was found per rule, where the files are."""
    out = outcome.out_dir
    months = outcome.months
    span = "" if not months else (text("scan.span_one", lang, month=months[0]) if len(months) == 1
                                  else text("scan.span_many", lang, first=months[0], last=months[-1]))
    lines = [text("scan.checked", lang, records=outcome.records, files=len(outcome.files),
                  pharmacies=outcome.pharmacies, span=span)]
    if outcome.rejected:
        lines.append(text("scan.rejected", lang, n=outcome.rejected, path=out / "rejects.csv"))
    result = outcome.export
    found = result.findings if result else {}
    labels = dict(rule_catalog())
    if not any(found.values()):
        lines.append(text("scan.nothing", lang))
    else:
        codes = out / "suspicious_codes.csv"
        for rule, _ in rule_catalog():
            n = found.get(rule, 0)
            if not n:
                continue
            words = RULE_WORDS.get(rule)
            if words is None:
                lines.append(text("scan.found_other", lang, n=n, rule=rule, path=codes))
                continue
            what, advice = words.zh if lang != "en" else (words.en_one if n == 1 else words.en_many, words.en_advice)
            lines.append(text("scan.found", lang, n=n, what=what, label=labels.get(rule, rule), advice=advice,
                              path=codes))
        for rule in sorted(set(found) - set(labels)):
            lines.append(text("scan.found_other", lang, n=found[rule], rule=rule, path=codes))
    names = list(FILE_NAMES) + [n for n in (result.rows if result else {}) if n not in FILE_NAMES]
    lines.append(text("scan.files", lang, files=", ".join(str(out / n) for n in names)))
    if result and result.pharmacies:
        lines.append(text("scan.folders", lang, path=out / "pharmacies"))
    return lines
