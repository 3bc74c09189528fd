"""export, scan."""

from __future__ import annotations

from pathlib import Path

import click

from tracecode.commands.options import (
    close_days_option,
    columns_option,
    current_lang,
    db_option,
    lang_option,
    mask_option,
    month_option,
    quiet_option,
    say,
    scope_words,
    show_progress,
)
from tracecode.errors import ExitCode
from tracecode.messages import error_text
from tracecode.outputs.export import ENCODINGS, HEADERS, ExportResult
from tracecode.outputs.export import export as export_files
from tracecode.store.database import open_store

out_option = click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
                          help="写出 CSV 文件的文件夹（自动创建；除非 --force，必须为空）。Folder for the CSV files.")
per_pharmacy_option = click.option(
    "--per-pharmacy", is_flag=True,
    help="另写 pharmacies/<药店编号>/，每家药店只含本店记录，便于下发。Also one folder per pharmacy.")
encoding_option = click.option(
    "--encoding", type=click.Choice(ENCODINGS), default="utf-8-sig", show_default=True,
    help="utf-8-sig：带 BOM 的 UTF-8（Excel 正确显示中文）；gbk 供旧工具使用。File encoding.")
headers_option = click.option(
    "--headers", type=click.Choice(HEADERS), default="nhsa", show_default=True,
    help="列名：NHSA 字段名（fixmedins_code…）或中文（定点医药机构编号…）。Column headers.")
force_option = click.option("--force", is_flag=True, help="覆盖 --out 中以前导出的文件。Overwrite an earlier export in --out.")


@click.command()
@db_option
@month_option("要导出的已检查月份。默认：不带 --month 的 check 的结果（全部月份）。"
              "The checked month to export. Default: the findings of `check` over all months.")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="写出 CSV 文件的文件夹（自动创建；除非 --force，必须为空）。Folder for the CSV files.")
@per_pharmacy_option
@encoding_option
@headers_option
@mask_option
@force_option
@click.option("--parquet", "parquet_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="另外（或仅）把整个数据库写成 Parquet 文件夹，供 tracecode spark check --input 读取。Also (or only) write the whole database — every month, normalised and hashed rows, "
                   "rejects, files — as the Parquet layout `check --engine spark --input` reads.")
@lang_option
@quiet_option
def export(db_path: str, month: str | None, out_dir: Path | None, per_pharmacy: bool, encoding: str, headers: str,
           mask: bool, force: bool, parquet_dir: Path | None, quiet: bool) -> None:
    """把 check 的结果写成 CSV 文件（可用 Excel 打开）；说明和原因按 --lang 的语言写出。
    Write the findings of `check` to CSV files for Excel.

    \b
    suspicious_codes.csv   one row per code and rule (what was found, why)
    suspicious_events.csv  every row of those codes; flagged = 1 for the rows blamed
    rejects.csv            records that could not be read: file, line, field, reason
    summary.csv            per pharmacy: rows uploaded, findings per rule, share flagged
    persons.csv, rings.csv, ring_edges.csv   who is behind the recycled packs

    Insured-person ids are masked unless --no-mask. With --per-pharmacy each
    pharmacy gets pharmacies/<code>/ holding only its own rows: other pharmacies
    are counted ("sold at 3 pharmacies") but never named.

    \b
    Example:
      tracecode export --db city.duckdb --month 2026-10 --out out/2026-10 --per-pharmacy
      tracecode export --db city.duckdb --month 2026-10 --out out/gbk --encoding gbk --headers zh
      tracecode export --db city.duckdb --parquet lake/     # for check --engine spark
    """
    if out_dir is None and parquet_dir is None:
        raise click.UsageError("give --out DIR (the CSV files), --parquet DIR (the Parquet layout), or both")
    con = open_store(db_path, read_only=True)
    try:
        if parquet_dir is not None:
            from tracecode.store.layout import export_layout

            rows = export_layout(con, parquet_dir, force=force, mask=mask)
            click.echo(say("parquet.written", rows=rows, path=parquet_dir), err=True)
        if out_dir is not None:
            result = export_files(con, out_dir, month=month, per_pharmacy=per_pharmacy, encoding=encoding,
                                  headers=headers, mask=mask, force=force, db_label=db_path, lang=current_lang())
            report_written(result, quiet=quiet)
    finally:
        con.close()


def report_written(result: ExportResult, quiet: bool = False) -> None:
    """The files written, on stderr (stdout stays free for data)."""
    for warning in result.warnings:
        click.echo(say("warning", message=error_text(warning, current_lang())), err=True)
    if quiet:
        return
    click.echo(say("export.done", scope=scope_words(result.scope), out=result.out_dir), err=True)
    for name, rows in result.rows.items():
        click.echo(say("export.file", name=name, rows=rows), err=True)
    if result.pharmacies:
        click.echo(say("export.folders", n=result.pharmacies), err=True)


@click.command()
@click.option("--db", "db_path", default=None, type=click.Path(dir_okay=False),
              help="把数据保存在此数据库中（默认：临时数据库，结束时删除）。Keep the data in this database.")
@click.option("--returns", "returns", multiple=True, type=click.Path(path_type=Path),
              help="退货（3506）文件，可重复。A return file; repeatable.")
@click.option("--catalog", "catalog", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="药品目录 CSV：med_list_codg,code_prefix,pack_units。Drug catalogue CSV.")
@columns_option
@close_days_option
@out_option
@per_pharmacy_option
@encoding_option
@headers_option
@mask_option
@force_option
@click.option("--fail-on-findings", is_flag=True,
              help="发现问题时退出码为 3（供脚本使用）；出错仍为 1。Exit 3 when anything was found.")
@lang_option
@quiet_option
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def scan(db_path: str | None, returns: tuple[Path, ...], catalog: Path | None, columns: dict[str, str] | None,
         close_days: int, out_dir: Path,
         per_pharmacy: bool, encoding: str, headers: str, mask: bool, force: bool, fail_on_findings: bool,
         quiet: bool, files: tuple[Path, ...]) -> None:
    """一次性检查销售文件并写出 CSV 文件：药店在上传截止前自查，或快速查看。
    Check sale files in one go and write the CSV files: a pharmacy's self-check
    before the upload deadline, or a quick look.

    Loads FILES (sales; a file whose name says return/retn/退 is read as returns)
    and --returns files into a temporary database, runs every rule over all
    months, writes the export files to --out and prints what was found in
    plain words.

    \b
    Example:
      tracecode scan --out check/ sales_2026-10.csv
      tracecode scan --returns returns_2026-10.csv --catalog catalog.csv --out check/ sales_2026-10.xlsx
    Exit code: 0, or 3 with --fail-on-findings when something was found; 1 on errors.
    """
    from tracecode.outputs.scan import scan as run_scan
    from tracecode.outputs.scan import summary_lines

    outcome = run_scan(files, out_dir, returns=returns, catalog=catalog, columns=columns, close_days=close_days,
                       db_path=db_path,
                       per_pharmacy=per_pharmacy, encoding=encoding, headers=headers, mask=mask,
                       force=force, progress=show_progress(quiet),
                       on_file=None if quiet else lambda text: click.echo(text, err=True), lang=current_lang())
    for warning in outcome.export.warnings:
        click.echo(say("warning", message=error_text(warning, current_lang())), err=True)
    for line in summary_lines(outcome, current_lang()):
        click.echo(line)
    if fail_on_findings and outcome.export.total_findings:
        click.get_current_context().exit(ExitCode.FINDINGS)
