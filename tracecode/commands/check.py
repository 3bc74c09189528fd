"""check: run the detection rules and store the findings."""

from __future__ import annotations

from pathlib import Path

import click

from tracecode.cases.sync import sync_cases
from tracecode.commands.options import (
    close_days_option,
    current_lang,
    db_option,
    lang_option,
    memory_option,
    month_option,
    quiet_option,
    rules_option,
    say,
    scope_words,
    show_progress,
)
from tracecode.outputs.textout import rule_table
from tracecode.rules.runner import run_checks
from tracecode.store.database import open_store


@click.command()
@db_option
@month_option("检查该月：报告该月有被标记行的结果，依据截至月底的全部历史。默认：全部月份。"
              "Report the findings with a flagged row in this month, judged against all history up to its end.")
@click.option("--catalog", "catalog", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="药品目录 CSV：med_list_codg,code_prefix,pack_units（可选）。Drug catalogue CSV (optional).")
@close_days_option
@rules_option
@memory_option
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="spark：等同于 tracecode spark check（选项见其 --help）。spark: the same as `tracecode spark check`.")
@click.option("--input", "inputs", multiple=True, hidden=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None, hidden=True)
@click.option("--master", default=None, hidden=True)
@click.option("--spark-conf", multiple=True, hidden=True)
@click.option("--to-parquet", default=None, hidden=True)
@click.option("--kind", type=click.Choice(["auto", "sale", "return"]), default="auto", hidden=True)
@click.option("--columns", "columns_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), hidden=True)
@click.option("--mask/--no-mask", default=True, hidden=True)
@click.option("--force", is_flag=True, hidden=True)
@lang_option
@quiet_option
def check(db_path: str, month: str | None, catalog: Path | None, close_days: int, rules: str | None,
          memory_limit: str | None, engine: str, inputs: tuple[str, ...], out_dir: Path | None, master: str | None,
          spark_conf: tuple[str, ...], to_parquet: str | None, kind: str, columns_file: Path | None, mask: bool,
          force: bool, quiet: bool) -> None:
    """运行检测规则并保存结果（表 findings、finding_events，视图 evidence）。
    Run the rules and store their findings.

    每条规则输出一行：该月有结果的追溯码数、被标记行数和药店数。重新检查某月会替换该月的结果；结果同时并入案件（tracecode cases），已有决定不会丢失。
    不带 --catalog 时，split_overuse 不核对每盒数量，product_mismatch 按多数销售记录判断追溯码的产品。

    \b
    示例 Example:
      tracecode check --db city.duckdb --month 2026-10 --catalog catalog.csv
      tracecode check --db city.duckdb --rules cross_pharmacy_reuse,recycled_resale
      tracecode spark check --input lake/ --month 2026-10 --out out/2026-10
    """
    if engine == "spark":  # the old spelling of `tracecode spark check`, kept as an alias
        from tracecode.commands.spark import run_cli

        run_cli(inputs=inputs, out_dir=out_dir, month=month, catalog=catalog, close_days=close_days, rules=rules,
                master=master, mask=mask, force=force, encoding="utf-8-sig", headers="nhsa", kind=kind,
                columns_file=columns_file, to_parquet=to_parquet, spark_conf=spark_conf, quiet=quiet)
        return
    if inputs or out_dir is not None or master or to_parquet or spark_conf:
        raise click.UsageError("--input, --out, --master, --spark-conf and --to-parquet go with tracecode spark check "
                              "(or check --engine spark)")
    con = open_store(db_path, create=False, memory_limit=memory_limit)
    try:
        result = run_checks(con, month=month, catalog=catalog, close_days=close_days,
                            rules=rules.split(",") if rules else None, progress=show_progress(quiet),
                            on_store=sync_cases)
    finally:
        con.close()
    click.echo(rule_table(result.rules, current_lang()))
    if not quiet:
        click.echo(say("check.done", month=scope_words(result.month), findings=result.findings, seconds=result.seconds), err=True)

