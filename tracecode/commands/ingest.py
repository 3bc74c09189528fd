"""ingest, status, synth."""

from __future__ import annotations

from pathlib import Path

import click

from tracecode.commands.options import (
    columns_option,
    current_lang,
    db_option,
    lang_option,
    mask_key_file_option,
    memory_option,
    quiet_option,
    say,
    show_progress,
)
from tracecode.errors import is_interrupt
from tracecode.messages import stored_text
from tracecode.outputs.textout import format_table
from tracecode.rules.summaries import update_summaries
from tracecode.store.database import open_store
from tracecode.store.ingest import KINDS, FileResult, ingest_files, loading_memory
from tracecode.store.status import store_status


@click.command()
@db_option
@click.option("--kind", type=click.Choice(KINDS), default="auto", show_default=True,
              help="sale = 3505 销售，return = 3506 退货，purchase = 3503 采购，purchase_return = 3504 采购退货，"
                   "delete = 3507 删除（撤销本药店此前上传的、定点医药机构批次流水号相同的记录）；"
                   "auto：JSON 报文自带 infno，其他文件名含 delete/3507/删除 为删除，含 return/retn/退 为退货。 "
                   "auto: JSON messages say it themselves (infno); other files are deletes when their name contains "
                   "'delete', '3507' or '删除', returns when it contains 'return', 'retn' or '退', else sales.")
@columns_option
@click.option("--to-parquet", "parquet_dir", type=click.Path(file_okay=False, path_type=Path),
              help="另把读入的行写成 Parquet（供 tracecode spark check）。Also write the loaded rows, normalised and hashed, as Parquet partitioned by month and "
                   "code-hash bucket (for `check --engine spark`).")
@mask_key_file_option
@memory_option
@lang_option
@quiet_option
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def ingest(db_path: str, kind: str, columns: dict[str, str] | None, parquet_dir: Path | None, memory_limit: str | None,
           quiet: bool, files: tuple[Path, ...]) -> None:
    """把销售（3505）或退货（3506）上传文件读入数据库。
    Load sale (3505) or return (3506) uploads into the database.

    FILES 可以是 CSV（UTF-8 或 GBK，NHSA 字段名或中文表头）、Excel .xlsx、NHSA JSON 报文
    （.json / .jsonl）或 Parquet。每个文件一个事务；内容相同的文件不会重复读入。
    无法读取的记录写入 rejects 表，注明文件、行号、字段和原因。

    FILES are CSV (UTF-8 or GBK, NHSA field names or Chinese headers such as
    定点医药机构编号, 零售单据号, 追溯码, 销售/退货时间), Excel .xlsx, NHSA JSON messages
    (.json / .jsonl) or Parquet. Each file is loaded in one transaction; a file
    loaded before (same content) adds nothing. Unreadable records go to the
    rejects table with file, line, field and reason.

    \b
    Example:
      tracecode ingest --db city.duckdb uploads/2026-10/*.csv
      tracecode ingest --db city.duckdb --kind return returns_2026-10.csv
      tracecode ingest --db city.duckdb --to-parquet lake/ uploads/2026-10/*.csv
    """
    con = open_store(db_path, memory_limit=memory_limit)
    try:
        if parquet_dir is not None:  # a lake masked with another key: said before anything is loaded
            from tracecode.store.layout import check_layout_key

            check_layout_key(con, parquet_dir)
        # The rules' summary tables (a narrow copy of the rows, the rows of repeating codes) are
        # brought up to date here, so that `check` never has to read the history; after Ctrl-C
        # the next ingest or check does it.
        # Python's share of the memory limit is still held after the load: DuckDB keeps its share.
        with loading_memory(con):
            try:
                ingest_files(con, files, kind=kind, columns=columns, progress=show_progress(quiet),
                             on_result=_report_file, reader_processes=True)
            except BaseException as exc:
                if not is_interrupt(exc):
                    update_summaries(con)
                    # The files loaded before the failing one stay in the store: the lake gets them too.
                    _write_lake(con, parquet_dir)
                raise
            update_summaries(con)
            _write_lake(con, parquet_dir)
    finally:
        con.close()


def _write_lake(con, parquet_dir: Path | None) -> None:
    """--to-parquet: the lake holds every upload file the store holds (the ones this run loaded,
    and any an earlier failed or killed run left out)."""
    if parquet_dir is None:
        return
    from tracecode.store.layout import write_missing

    rows = write_missing(con, parquet_dir)
    click.echo(say("parquet.written", rows=rows, path=parquet_dir), err=True)


def _report_file(result: FileResult) -> None:
    if result.status == "skipped":
        click.echo(say("ingest.skipped", path=result.path, message=stored_text(result.message, current_lang())), err=True)
        return
    rejected = say("ingest.rejected", n=result.rows_rejected) if result.rows_rejected else ""
    if result.deletes:
        rejected = say("ingest.deletes", n=result.deletes) + rejected
    if result.rows_skipped:
        rejected += say("ingest.blank_rows", n=result.rows_skipped)
    if result.header_line > 1:
        rejected += say("ingest.header_line", n=result.header_line)
    click.echo(say("ingest.file", path=result.path, records=result.rows_read, kind=kind_word(result.kind),
                   format=result.format, encoding=f", {result.encoding}" if result.encoding else "",
                   events=result.events, rejected=rejected), err=True)


def kind_word(kind: str) -> str:
    """销售/退货 (sale/return) for a stored kind."""
    return say(f"kind.{kind}") if kind in ("sale", "return", "purchase", "purchase_return", "delete", "mixed") else kind


@click.command()
@db_option
@lang_option
def status(db_path: str) -> None:
    """显示数据库的内容：文件、月份、各类行数、追溯码、药店、拒收记录。
    Show what the database holds: files, months, rows per kind, codes, pharmacies, rejects.

    \b
    Example:
      tracecode status --db city.duckdb
    """
    con = open_store(db_path, read_only=True)
    try:
        st = store_status(con)
    finally:
        con.close()
    kinds = ", ".join(f"{kind_word(k)}: {v:,}" for k, v in st.kinds.items()) or say("status.none")
    click.echo(say("status.db", path=db_path))
    click.echo(say("status.rows", events=st.events, kinds=kinds))
    click.echo(say("status.codes", codes=st.distinct_codes, invalid=st.invalid_codes))
    click.echo(say("status.counts", pharmacies=st.pharmacies, read=st.rows_read, stored=st.rows_stored,
                   rejects=st.rejects))
    click.echo("")
    click.echo(say("status.months"))
    click.echo(format_table([say("col.month"), say("col.sales"), say("col.returns")],
                            [[m["month"], m["sales"], m["returns"]] for m in st.months]))
    click.echo("")
    click.echo(say("status.files"))
    click.echo(format_table(
        [say(f"col.{k}") for k in ("file_no", "name", "kind", "format", "bytes", "records", "stored", "rejected",
                                   "code_rows", "blank_rows", "header_line", "fingerprint", "loaded")],
        [[f["file_id"], f["name"], kind_word(f["kind"]), f["format"], f["size"], f["rows_read"], f["rows_stored"],
          f["rows_rejected"], f["events"], f["rows_skipped"], f["header_line"], f["fingerprint"][:12],
          f"{f['loaded_at']:%Y-%m-%d %H:%M}"] for f in st.files]))


@click.command()
@click.option("--rows", required=True, help="要生成的销售行数，如 5000、100k、10M。Sale rows to write.")
@click.option("--months", default=2, show_default=True, type=click.IntRange(1, 120))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--start-month", default="2026-01", show_default=True, help="第一个月，YYYY-MM。First month.")
@click.option("--formats", type=click.Choice(["all", "csv", "nhsa-json"]), default="all", show_default=True,
              help="all: every input format (CSV UTF-8/GBK, xlsx, NHSA JSON of 2025 and 2021, Parquet); "
                   "csv: UTF-8 CSV only (benchmarks); nhsa-json: NHSA 3503-3506 JSON messages only.")
@lang_option
@quiet_option
def synth(rows: str, months: int, out_dir: Path, seed: int, start_month: str, formats: str, quiet: bool) -> None:
    """生成逼真的模拟上传文件，含每条规则的案例、药品目录（catalog.csv）和真实答案（truth.csv）。
    Write realistic synthetic uploads with every rule's cases injected, a catalogue
    (catalog.csv) and the ground truth (truth.csv). Sales, returns, and the purchases
    (3503/3504) of a subset of pharmacies.

    \b
    Example:
      tracecode synth --rows 5000 --months 2 --out data/sample
      tracecode synth --rows 1M --formats nhsa-json --out /tmp/json
    """
    from tracecode.synth import generate, parse_count

    try:
        count = parse_count(rows)
    except ValueError:
        raise click.BadParameter(f"{rows!r} is not a row count such as 5000, 100k or 10M", param_hint="--rows")
    if count <= 0:
        raise click.BadParameter("must be at least 1", param_hint="--rows")
    try:
        summary = generate(out_dir, count, months=months, seed=seed, start_month=start_month, formats=formats,
                           progress=show_progress(quiet))
    except ValueError as exc:  # too few rows for the planted cases, a bad --start-month
        raise click.BadParameter(str(exc)) from None
    click.echo(say("synth.done", n=len(summary.files), path=out_dir), err=True)
