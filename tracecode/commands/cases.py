"""cases: list, show, set, export and import the cases check keeps (docs/CASES.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import click

from tracecode.cases.statuses import DISMISS_REASONS, STATUS_LABELS, CaseError
from tracecode.cases.store import (
    LIST_COLUMNS,
    Decision,
    apply_decisions,
    case_evidence,
    case_history,
    get_case,
    list_cases,
)
from tracecode.commands.options import current_lang, db_option, lang_option, mask_key_file_option, say
from tracecode.errors import ExitCode
from tracecode.messages import error_text
from tracecode.outputs.textout import format_table
from tracecode.privacy import mask_key, mask_person
from tracecode.store.database import open_store

STATUS = click.Choice(list(STATUS_LABELS))


def _heads(columns: list[str]) -> list[str]:
    """The table heads of ``columns`` in the running language (csv and json keep the names)."""
    return [say(f"case_col.{c}") for c in columns]


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return value


@click.group()
def cases() -> None:
    """Cases: a finding followed across months (one per rule and code), with its status,
    decision and history. `check` opens and updates them; people decide them here.

    \b
    Statuses: new 新发现, reviewing 核查中, appealed 申诉中, confirmed 确认违规, dismissed 已排除.
    Example:
      tracecode cases list --db city.duckdb --status new
      tracecode cases set TC-CPR-1a2b3c4d5e --status dismissed --reason 扫码错误 --by 张三
      tracecode cases export --db city.duckdb --out cases.xlsx --status new
      tracecode cases import cases.xlsx --by 张三
    """


@cases.command("list")
@db_option
@click.option("--status", type=STATUS, default=None)
@click.option("--rule", default=None, metavar="RULE")
@click.option("--pharmacy", default=None, metavar="CODE", help="Cases with a flagged row at this pharmacy.")
@click.option("--month", default=None, metavar="YYYY-MM", help="Cases with a flagged row in this month.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@lang_option
def list_command(db_path: str, status: str | None, rule: str | None, pharmacy: str | None, month: str | None,
                 fmt: str) -> None:
    """List cases (json: one array of objects)."""
    con = open_store(db_path, read_only=True)
    try:
        rows = list_cases(con, status=status, rule=rule, pharmacy=pharmacy, month=month)
    finally:
        con.close()
    if fmt == "json":
        click.echo(json.dumps([{k: _plain(v) for k, v in r.items()} for r in rows], ensure_ascii=False, indent=1))
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(LIST_COLUMNS)
        writer.writerows([[_plain(r[c]) for c in LIST_COLUMNS] for r in rows])
        click.echo(out.getvalue(), nl=False)
    else:
        cols = ["case_id", "rule", "drug_trac_codg", "status", "flagged_rows", "pharmacies", "amount",
                "recovered", "last_month"]
        click.echo(format_table(_heads(cols), [[say(f"case_status.{r[c]}") if c == "status" else r[c] for c in cols]
                                               for r in rows]))
        click.echo(say("cases.listed", n=len(rows)), err=True)


@cases.command("show")
@db_option
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True)
@click.option("--no-mask", is_flag=True, help="Show insured-person ids unmasked.")
@lang_option
@mask_key_file_option
def show_command(db_path: str, case_id: str, as_json: bool, no_mask: bool) -> None:
    """A case, its flagged rows, and its whole history oldest first."""
    con = open_store(db_path, read_only=True)
    try:
        case = get_case(con, case_id)
        if case is None:
            raise CaseError(f"no such case: {case_id}", hint="`tracecode cases list` lists them")
        evidence = case_evidence(con, case_id)
        history = case_history(con, case_id)
        key = mask_key(con)
    finally:
        con.close()
    if not no_mask:
        for row in evidence:
            row["psn_no"] = mask_person(row["psn_no"], key)
    if as_json:
        click.echo(json.dumps({"case": {k: _plain(v) for k, v in case.items()},
                               "evidence": [{k: _plain(v) for k, v in r.items()} for r in evidence],
                               "history": [{k: _plain(v) for k, v in r.items()} for r in history]},
                              ensure_ascii=False, indent=1))
        return
    click.echo(format_table(_heads(["field", "value"]), [[say(f"case_col.{k}"), _plain(v)] for k, v in case.items()]))
    click.echo("\n" + say("cases.flagged_rows"))
    cols = ["month", "fixmedins_code", "sel_retn_time", "rtal_docno", "code_raw", "amount", "psn_no", "source_file",
            "src_line"]
    click.echo(format_table(_heads(cols), [[_plain(r[c]) for c in cols] for r in evidence]))
    click.echo("\n" + say("cases.history"))
    cols = ["at", "by", "from_status", "to_status", "reason", "detail"]
    click.echo(format_table(_heads(cols), [[_plain(r[c]) for c in cols] for r in history]))


@cases.command("set")
@db_option
@click.argument("case_ids", nargs=-1, required=True, metavar="CASE_ID...")
@click.option("--status", type=click.Choice([s for s in STATUS_LABELS if s != "new"]), required=True)
@click.option("--reason", default=None, help=f"dismissed: {', '.join(DISMISS_REASONS)} (其他: + free text).")
@click.option("--recovered", default=None, metavar="YUAN", help="confirmed: the amount recovered.")
@click.option("--until", default=None, metavar="YYYY-MM-DD", help="dismissed: suppressed until this date.")
@click.option("--by", "by", required=True, metavar="NAME", help="Who decides (kept in the history).")
@lang_option
def set_command(db_path: str, case_ids: tuple[str, ...], status: str, reason: str | None, recovered: str | None,
                until: str | None, by: str) -> None:
    """Set the status of cases (all or none)."""
    con = open_store(db_path, create=False)
    try:
        problems = apply_decisions(con, [Decision(c, status, reason, recovered, until, where=c) for c in case_ids], by)
    finally:
        con.close()
    _fail_on(problems)
    click.echo(say("cases.set", n=len(case_ids), status=status, label=say(f"case_status.{status}")), err=True)


@cases.command("export")
@db_option
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.xlsx")
@click.option("--status", type=STATUS, default=None)
@click.option("--month", default=None, metavar="YYYY-MM")
@click.option("--per-pharmacy", is_flag=True, help="One workbook per pharmacy: FILE-<pharmacy>.xlsx.")
@lang_option
def export_command(db_path: str, out: Path, status: str | None, month: str | None, per_pharmacy: bool) -> None:
    """Write the workbook an inspector fills in (decision, reason, recovered, until, note)."""
    from tracecode.cases.workbook import write_workbook

    if out.suffix.lower() != ".xlsx":
        raise click.UsageError(error_text("--out names an .xlsx file", current_lang()))
    con = open_store(db_path, read_only=True)
    try:
        rows = list_cases(con, status=status, month=month)
        groups: dict[str, list[dict[str, Any]]] = {}
        if per_pharmacy:
            for code in sorted({p for r in rows for p in (r["pharmacy_list"] or "").split(",") if p}):
                groups[code] = list_cases(con, status=status, month=month, pharmacy=code)
    finally:
        con.close()
    if per_pharmacy:
        for code, part in groups.items():
            write_workbook(out.with_name(f"{out.stem}-{code}{out.suffix}"), part, lang=current_lang())
        click.echo(say("cases.workbooks", n=len(groups), cases=len(rows)), err=True)
    else:
        write_workbook(out, rows, lang=current_lang())
        click.echo(say("cases.workbook", path=out, cases=len(rows)), err=True)


@cases.command("import")
@db_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.xlsx|FILE.csv")
@click.option("--by", "by", required=True, metavar="NAME")
@lang_option
def import_command(db_path: str, file: Path, by: str) -> None:
    """Apply a filled-in workbook: all or nothing; every bad row is listed."""
    from tracecode.cases.workbook import read_decisions

    decisions, problems = read_decisions(file)
    if problems:
        _fail_on(problems)
    con = open_store(db_path, create=False)
    try:
        problems = apply_decisions(con, decisions, by)
    finally:
        con.close()
    _fail_on(problems)
    click.echo(say("cases.imported", path=file, n=len(decisions)), err=True)


def _fail_on(problems: list) -> None:
    if not problems:
        return
    lang = current_lang()
    for p in problems:
        line = say("cases.problem", where=error_text(p.where, lang), field=p.field, reason=error_text(p.reason, lang))
        click.echo(say("error", message=line), err=True)
    click.echo(say("cases.not_applied", n=len(problems)), err=True)
    raise SystemExit(ExitCode.ERROR)


@cases.command("sync")
@db_option
@click.option("--findings", "folder", required=True, type=click.Path(file_okay=False, path_type=Path),
              metavar="DIR", help="The --out folder of `check --engine spark` (its suspicious_events.csv).")
@click.option("--month", default=None, metavar="YYYY-MM", help="The month that Spark check was run for.")
@lang_option
def sync_command(db_path: str, folder: Path, month: str | None) -> None:
    """Take a Spark check's findings into the cases of this store (docs/SPARK.md)."""
    from tracecode.cases.handover import sync_from_folder

    con = open_store(db_path)
    try:
        counts = sync_from_folder(con, folder, month)
    finally:
        con.close()
    click.echo(say("cases.synced", path=folder, opened=counts["opened"], reopened=counts["reopened"], rows=counts["rows"]),
               err=True)
