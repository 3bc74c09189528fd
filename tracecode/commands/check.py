"""check: run the detection rules and store the findings."""

from __future__ import annotations

from pathlib import Path

import click

from tracecode.cases.sync import sync_cases
from tracecode.commands.options import (
    CLOSE_DAYS,
    db_option,
    memory_option,
    quiet_option,
    show_progress,
)
from tracecode.outputs.textout import format_table
from tracecode.rules.catalogue import RULE_IDS
from tracecode.rules.runner import run_checks
from tracecode.store.database import open_store


@click.command()
@db_option
@click.option("--month", default=None, metavar="YYYY-MM",
              help="Report the findings with a flagged row in this month, judged against all history up to "
                   "its end. Default: everything.")
@click.option("--catalog", "catalog", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Drug catalogue CSV: med_list_codg,code_prefix,pack_units (optional).")
@click.option("--close-days", default=3, show_default=True, type=CLOSE_DAYS,
              help="cross_pharmacy_reuse: sales at two pharmacies at most this many days apart are a "
                   "suspected counterfeit, further apart a suspected recycled drug.")
@click.option("--rules", "rules", default=None, metavar="RULE,RULE",
              help=f"Run only these rules (default: all): {', '.join(RULE_IDS)}.")
@memory_option
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="spark: run the same rule SQL on Apache Spark over --input, writing the findings files "
                   "into --out (docs/SPARK.md).")
@click.option("--input", "inputs", multiple=True, metavar="DIR|FILE",
              help="--engine spark: a folder written by `ingest --to-parquet` or `export --parquet` (local, "
                   "hdfs://, s3a://; the check keeps its summaries in DIR/summaries/ so the next one reads only "
                   "new files), or upload files / folders of them (read and normalised inside Spark). Repeatable.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="--engine spark: folder for suspicious_codes.csv, suspicious_events.csv, rejects.csv, "
                   "summary.csv (as `tracecode export` writes them).")
@click.option("--master", default=None, metavar="URL",
              help="--engine spark: Spark master, e.g. local[4], yarn, spark://host:7077 (default: local[*], "
                   "or what spark-submit set).")
@click.option("--spark-conf", multiple=True, metavar="KEY=VALUE", help="--engine spark: a Spark setting. Repeatable.")
@click.option("--to-parquet", default=None, metavar="DIR",
              help="--engine spark with upload files: add them to this Parquet layout first (created if "
                   "new), then check the whole layout.")
@click.option("--kind", type=click.Choice(["auto", "sale", "return"]), default="auto", show_default=True,
              help="--engine spark with upload files: as for ingest.")
@click.option("--columns", "columns_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="--engine spark with upload files: header mapping, as for ingest.")
@click.option("--no-mask", is_flag=True, help="--engine spark: write insured-person ids unmasked.")
@click.option("--force", is_flag=True, help="--engine spark: write into a non-empty --out folder.")
@quiet_option
def check(db_path: str, month: str | None, catalog: Path | None, close_days: int, rules: str | None,
          memory_limit: str | None, engine: str, inputs: tuple[str, ...], out_dir: Path | None, master: str | None,
          spark_conf: tuple[str, ...], to_parquet: str | None, kind: str, columns_file: Path | None, no_mask: bool,
          force: bool, quiet: bool) -> None:
    """Run the rules and store their findings (tables findings, finding_events; view evidence).

    Prints one line per rule: codes with a finding, flagged rows and pharmacies in the
    checked month. Re-running a month replaces its findings; the findings are taken into
    cases (`tracecode cases`), which keep every decision. Without --catalog,
    split_overuse does not check pack units and product_mismatch judges a code's product
    by the drug most of its sales are billed as.

    \b
    Example:
      tracecode check --db city.duckdb --month 2026-10 --catalog catalog.csv
      tracecode check --db city.duckdb --rules cross_pharmacy_reuse,recycled_resale
      tracecode check --engine spark --input lake/ --month 2026-10 --out out/2026-10
    """
    if engine == "spark":
        from tracecode.commands.spark import run_cli

        run_cli(inputs=inputs, out_dir=out_dir, month=month, catalog=catalog, close_days=close_days, rules=rules,
                master=master, mask=not no_mask, force=force, encoding="utf-8-sig", headers="nhsa", kind=kind,
                columns_file=columns_file, to_parquet=to_parquet, spark_conf=spark_conf, quiet=quiet)
        return
    if inputs or out_dir is not None or master or to_parquet or spark_conf:
        raise click.UsageError("--input, --out, --master, --spark-conf and --to-parquet go with --engine spark")
    con = open_store(db_path, create=False, memory_limit=memory_limit)
    try:
        result = run_checks(con, month=month, catalog=catalog, close_days=close_days,
                            rules=rules.split(",") if rules else None, progress=show_progress(quiet),
                            on_store=sync_cases)
    finally:
        con.close()
    click.echo(format_table(
        ["rule", "label", "severity", "codes", "rows", "pharmacies"],
        [[r.rule, r.label_zh, r.severity, r.codes, r.rows, r.pharmacies] for r in result.rules]))
    if not quiet:
        click.echo(f"check {result.month}: {result.findings:,} findings stored in {result.seconds:.1f} s", err=True)
