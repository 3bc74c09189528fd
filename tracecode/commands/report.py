"""report."""

from __future__ import annotations

from pathlib import Path

import click

from tracecode.commands.options import (
    current_lang,
    db_option,
    lang_option,
    mask_option,
    month_option,
    say,
)
from tracecode.store.database import open_store


@click.command()
@db_option
@month_option("要报告的已检查月份。The checked month to report on.", required=True)
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="要写出的 HTML 文件，如 report-2026-10.html。The HTML file to write.")
@mask_option
@click.option("--force", is_flag=True, help="覆盖已存在的 --out 文件。Overwrite --out if it exists.")
@lang_option
def report(db_path: str, month: str, out_file: Path, mask: bool, force: bool) -> None:
    """为局领导写出已检查月份的单页 HTML 报告：各规则的数量及与上月的比较、各月趋势、被标记比例最高的药店、
    涉及最多的药品、每条规则最严重的案例及证据、拒收记录。
    Write a one-page HTML report of a checked month for a bureau head (局领导):
    counts per rule and versus last month, findings per rule over the months,
    the pharmacies with the largest flagged share, the drugs most involved, the
    worst cases of each rule with their evidence, and the rejected records.

    The page is self-contained (inline CSS and SVG charts, no network): open it
    in any browser, mail it, print it.

    \b
    Example:
      tracecode report --db city.duckdb --month 2026-10 --out report-2026-10.html
    """
    from tracecode.outputs.report import (
        write_report,  # imported here: keeps other commands' start-up short
    )

    con = open_store(db_path, read_only=True)
    try:
        data = write_report(con, month, out_file, mask=mask, force=force, db_label=db_path, lang=current_lang())
    finally:
        con.close()
    click.echo(say("report.done", path=out_file, codes=data.total_codes, month=data.month, flagged=data.flagged_rows,
                   rows=data.rows, rejects=data.rejects), err=True)
