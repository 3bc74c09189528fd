"""The Spark command line: ``tracecode spark check`` (alias ``check --engine spark``) and the spark-submit entry file
(``tracecode/spark_engine.py``)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from tracecode.commands.options import (
    close_days_option,
    current_lang,
    lang_option,
    mask_option,
    month_option,
    quiet_option,
    rules_option,
    scope_words,
)
from tracecode.errors import ExitCode, InputFileError, OutputError, TracecodeError
from tracecode.inputs.columns import load_column_mapping
from tracecode.messages import error_text, text
from tracecode.outputs.export import ENCODINGS, HEADERS, check_out_dir
from tracecode.outputs.textout import rule_table
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
from tracecode.store.layout import is_masked


def run_cli(*, inputs: tuple[str, ...] | list[str], out_dir: Path | None, month: str | None, catalog: Path | None,
            close_days: int, rules: str | None, master: str | None, mask: bool, force: bool, encoding: str,
            headers: str, kind: str, columns_file: Path | None, to_parquet: str | None,
            spark_conf: tuple[str, ...] | list[str], quiet: bool) -> list[RuleSummary]:
    """`tracecode spark check` and `spark_engine.py`: check, write the findings files,
    print the per-rule summary."""
    if out_dir is None:
        raise click.UsageError("tracecode spark check needs --out DIR (where the findings files are written)")
    if not inputs:
        raise click.UsageError("tracecode spark check needs --input (a folder written by ingest --to-parquet, or upload files)")
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
    lang = current_lang()
    say = (lambda text: None) if quiet else (lambda text: click.echo(error_text(text, lang), err=True))
    _preflight([str(i) for i in inputs])  # a wrong path fails now, not after the JVM started
    if to_parquet and _is_local(str(to_parquet)) and is_masked(_local_path(str(to_parquet))):
        raise OutputError(f"{to_parquet} holds masked person ids (export --parquet); Spark would add raw ones",
                          hint="add the files with tracecode ingest --to-parquet (it masks them alike), "
                               "or give --to-parquet another folder")
    t0 = time.perf_counter()
    conf.setdefault("spark.ui.showConsoleProgress", "false")  # the stages are reported below, one line each
    spark = spark_session(master, conf=conf, log_level=None if os.environ.get("TRACECODE_SPARK_LOG") else "OFF")
    say(text("spark.started", current_lang(), version=spark.version, master=spark.sparkContext.master,
             seconds=time.perf_counter() - t0))

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
            say(text("parquet.written", current_lang(), rows=written, path=to_parquet))
        inputs = [str(to_parquet)]
    elif to_parquet:
        raise click.UsageError("--to-parquet goes with upload files as --input, not with a Parquet folder")
    data = open_input(spark, inputs, kind=kind, columns=mapping)
    try:
        result = run_checks_spark(spark, data, month=month, catalog=catalog, close_days=close_days,
                                  rules=rules.split(",") if rules else None, log=say)
        try:
            # a masked layout's ids are masked already: masked again they would match no other export
            already = data.kind == "lake" and _is_local(data.source) and is_masked(_local_path(data.source))
            exported = write_findings(result, Path(out_dir), mask=mask and not already, encoding=encoding,
                                      headers=headers,
                                      force=force, mask_key_dir=_mask_key_dir(inputs, data), lang=current_lang())
        finally:
            result.close()
    finally:
        data.close()
    click.echo(rule_table(result.rules, current_lang()))
    for warning in exported.warnings:
        click.echo(text("warning", current_lang(), message=error_text(warning, current_lang())), err=True)
    say(text("check.done_spark", current_lang(), month=scope_words(result.month), findings=result.findings,
             seconds=result.seconds, out=out_dir))
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


def spark_check_options(command):
    """The options of `tracecode spark check` and of the spark-submit entry file."""
    options = [
        click.option("--input", "inputs", multiple=True, required=True, metavar="DIR|FILE",
                     help="ingest --to-parquet 或 export --parquet 写出的文件夹（本地、hdfs://、s3a://；汇总保存在 "
                          "DIR/summaries/），或上传文件及其文件夹（CSV、.xlsx、.json、.parquet）。可重复。"
                          "A Parquet layout folder, or upload files. Repeatable."),
        click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
                     help="写出 suspicious_codes.csv、suspicious_events.csv、rejects.csv、summary.csv 的文件夹。"
                          "Folder for the findings files."),
        month_option("检查的月份。The month to check."),
        click.option("--catalog", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="药品目录 CSV（可选）。Drug catalogue CSV (optional)."),
        close_days_option,
        rules_option,
        click.option("--master", default=None, metavar="URL",
                     help="Spark master，如 local[4]、yarn、spark://host:7077（默认 spark-submit 的设置，否则 local[*]）。"),
        click.option("--spark-conf", multiple=True, metavar="KEY=VALUE", help="Spark 设置，可重复。A Spark setting."),
        mask_option,
        click.option("--encoding", type=click.Choice(ENCODINGS), default="utf-8-sig", show_default=True,
                     help="输出文件编码。Encoding of the files."),
        click.option("--headers", type=click.Choice(HEADERS), default="nhsa", show_default=True,
                     help="列名：NHSA 字段名或中文。Column headers."),
        click.option("--kind", type=click.Choice(["auto", "sale", "return"]), default="auto", show_default=True,
                     help="上传文件的类型，同 ingest。As for ingest."),
        click.option("--columns", "columns_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="列名映射文件，同 ingest。Header mapping, as for ingest."),
        click.option("--to-parquet", default=None, metavar="DIR",
                     help="先把上传文件加入此 Parquet 文件夹（新建或追加），再检查整个文件夹。"
                          "Add the upload files to this Parquet layout first."),
        click.option("--force", is_flag=True, help="允许写入非空的 --out 文件夹。Write into a non-empty --out."),
        lang_option,
        quiet_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group()
def spark() -> None:
    """在 Apache Spark 上运行同样的规则（见 docs/SPARK.md）。Run tracecode on Apache Spark."""


@spark.command("check")
@spark_check_options
def spark_check(**kwargs) -> None:
    """在 Spark 上检查 --input 并把结果文件写入 --out（与 tracecode export 的文件相同）。
    Check --input on Spark and write the findings files into --out.

    \b
    示例 Example:
      tracecode spark check --input lake/ --month 2026-10 --out out/2026-10
      tracecode spark check --master yarn --input hdfs:///lake --month 2026-10 --out out/
    """
    run_cli(**kwargs)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@spark_check_options
def main(**kwargs):
    """Run tracecode's rules on Spark (spark-submit entry point); see docs/SPARK.md."""
    try:
        run_cli(**kwargs)
    except TracecodeError as exc:
        lang = current_lang()
        click.echo(text("error", lang, message=error_text(str(exc), lang)), err=True)
        if exc.hint:
            click.echo(text("hint", lang, hint=error_text(exc.hint, lang)), err=True)
        sys.exit(ExitCode.ERROR)
