"""The Spark command line: ``tracecode check --engine spark`` and the spark-submit entry file
(``tracecode/spark_engine.py``)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from tracecode.commands.options import CLOSE_DAYS
from tracecode.errors import ExitCode, InputFileError, TracecodeError
from tracecode.inputs.columns import load_column_mapping
from tracecode.outputs.export import ENCODINGS, HEADERS, check_out_dir
from tracecode.outputs.textout import format_table
from tracecode.rules.catalogue import RULE_IDS
from tracecode.rules.results import RuleSummary
from tracecode.spark.engine import run_checks_spark
from tracecode.spark.ingest import (
    ingest_raw,
    lake_files,
    open_input,
    upload_files,
    write_lake,
)
from tracecode.spark.layout import SparkInput, _is_local, _local_path, is_lake
from tracecode.spark.output import write_findings
from tracecode.spark.session import spark_failure, spark_session


def run_cli(*, inputs: tuple[str, ...] | list[str], out_dir: Path | None, month: str | None, catalog: Path | None,
            close_days: int, rules: str | None, master: str | None, mask: bool, force: bool, encoding: str,
            headers: str, kind: str, columns_file: Path | None, to_parquet: str | None,
            spark_conf: tuple[str, ...] | list[str], quiet: bool) -> list[RuleSummary]:
    """`tracecode check --engine spark` and `spark_engine.py`: check, write the findings files,
    print the per-rule summary."""
    if out_dir is None:
        raise click.UsageError("--engine spark needs --out DIR (where the findings files are written)")
    if not inputs:
        raise click.UsageError("--engine spark needs --input (a folder written by ingest --to-parquet, or upload files)")
    try:
        return _run_cli(inputs=inputs, out_dir=out_dir, month=month, catalog=catalog, close_days=close_days,
                        rules=rules, master=master, mask=mask, force=force, encoding=encoding, headers=headers,
                        kind=kind, columns_file=columns_file, to_parquet=to_parquet, spark_conf=spark_conf,
                        quiet=quiet)
    except TracecodeError:
        raise
    except Exception as exc:  # a Java or Python-worker failure: one line, not a JVM stack trace
        clear = spark_failure(exc)
        if clear is None:
            raise
        raise clear from None


def _run_cli(*, inputs, out_dir, month, catalog, close_days, rules, master, mask, force, encoding, headers, kind,
             columns_file, to_parquet, spark_conf, quiet) -> list[RuleSummary]:

    if encoding not in ENCODINGS or headers not in HEADERS:
        raise click.UsageError(f"--encoding is one of {', '.join(ENCODINGS)}; --headers one of {', '.join(HEADERS)}")
    check_out_dir(Path(out_dir), force)  # before minutes of Spark work, not after
    conf = {}
    for item in spark_conf or ():
        if "=" not in item:
            raise click.UsageError(f"--spark-conf {item!r}: write KEY=VALUE")
        key, value = item.split("=", 1)
        conf[key.strip()] = value.strip()
    mapping = None
    if columns_file is not None:
        mapping = load_column_mapping(Path(columns_file))
    say = (lambda text: None) if quiet else (lambda text: click.echo(text, err=True))
    _preflight([str(i) for i in inputs])  # a wrong path fails now, not after the JVM started
    t0 = time.perf_counter()
    conf.setdefault("spark.ui.showConsoleProgress", "false")  # the stages are reported below, one line each
    spark = spark_session(master, conf=conf, log_level=None if os.environ.get("TRACECODE_SPARK_LOG") else "OFF")
    say(f"Spark {spark.version} ({spark.sparkContext.master}) started in {time.perf_counter() - t0:.1f} s")

    inputs = list(inputs)
    if to_parquet and not is_lake(spark, inputs):
        # Upload files: add them to the Parquet layout (file ids continue, files already there
        # are skipped), then check the whole layout, history included.
        last_id, known = lake_files(spark, to_parquet)
        raw = ingest_raw(spark, inputs, kind=kind, columns=mapping, first_file_id=last_id + 1,
                         known_fingerprints=known, log=say, allow_none=True)
        if raw is not None:
            try:
                written = write_lake(raw, to_parquet)
            finally:
                raw.close()
            say(f"Wrote {written:,} code rows as Parquet under {to_parquet}")
        inputs = [str(to_parquet)]
    elif to_parquet:
        raise click.UsageError("--to-parquet goes with upload files as --input, not with a Parquet folder")
    data = open_input(spark, inputs, kind=kind, columns=mapping)
    try:
        result = run_checks_spark(spark, data, month=month, catalog=catalog, close_days=close_days,
                                  rules=rules.split(",") if rules else None, log=say)
        try:
            exported = write_findings(result, Path(out_dir), mask=mask, encoding=encoding, headers=headers,
                                      force=force, mask_key_dir=_mask_key_dir(inputs, data))
        finally:
            result.close()
    finally:
        data.close()
    click.echo(format_table(
        ["rule", "label", "severity", "codes", "rows", "pharmacies", "amount"],
        [[r.rule, r.label_zh, r.severity, r.codes, r.rows, r.pharmacies, r.amount_text] for r in result.rules]))
    for warning in exported.warnings:
        click.echo(f"Warning: {warning}", err=True)
    say(f"check {result.month} on Spark: {result.findings:,} findings in {result.seconds:.1f} s; "
        f"files in {out_dir}")
    return result.rules


def _preflight(inputs: list[str]) -> None:
    """Check local --input paths before Spark starts: missing paths, and upload files that
    cannot be read (the errors `tracecode ingest` gives). A Parquet layout is checked by
    :func:`read_lake` once Spark runs."""
    local = [i for i in inputs if _is_local(i)]
    if len(local) != len(inputs):
        return
    for item in local:
        if not _local_path(item).exists():
            raise InputFileError(f"{item}: no such file or folder",
                                 hint="--input is a folder written by tracecode ingest --to-parquet, or upload files")
    if len(local) == 1 and _local_path(local[0]).is_dir() and any(
            (_local_path(local[0]) / sub).exists() for sub in ("events", "files", "rejects")):
        return
    upload_files(local)


def _mask_key_dir(inputs, data: SparkInput) -> Path | None:
    """Where the masking key of insured-person ids lives: in the Parquet folder (local), so
    that masked ids stay comparable across exports of it; else nowhere (a key per run)."""
    if data.kind == "lake" and _is_local(data.source):
        return _local_path(data.source)
    return None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--input", "inputs", multiple=True, required=True, metavar="DIR|FILE",
              help="A folder written by `tracecode ingest --to-parquet` or `export --parquet` (local or "
                   "hdfs://, s3a://; summaries kept in DIR/summaries/), or upload files / folders of them "
                   "(CSV, .xlsx, .json, .parquet).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for suspicious_codes.csv, suspicious_events.csv, rejects.csv, summary.csv.")
@click.option("--month", default=None, metavar="YYYY-MM")
@click.option("--catalog", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--close-days", default=3, show_default=True, type=CLOSE_DAYS)
@click.option("--rules", default=None, metavar="RULE,RULE", help=f"Default: all of {', '.join(RULE_IDS)}.")
@click.option("--master", default=None, help="Spark master URL (default: spark-submit's, else local[*]).")
@click.option("--spark-conf", multiple=True, metavar="KEY=VALUE")
@click.option("--mask/--no-mask", default=True, show_default=True)
@click.option("--encoding", default="utf-8-sig", show_default=True)
@click.option("--headers", default="nhsa", show_default=True)
@click.option("--kind", default="auto", show_default=True)
@click.option("--columns", "columns_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to-parquet", default=None, metavar="DIR")
@click.option("--force", is_flag=True)
@click.option("--quiet", "-q", is_flag=True)
def main(**kwargs):
    """Run tracecode's rules on Spark (spark-submit entry point); see docs/SPARK.md."""
    try:
        run_cli(**kwargs)
    except TracecodeError as exc:
        click.echo(f"Error: {exc}", err=True)
        if exc.hint:
            click.echo(f"Hint: {exc.hint}", err=True)
        sys.exit(ExitCode.ERROR)

