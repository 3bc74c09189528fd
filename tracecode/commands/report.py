"""report."""

from __future__ import annotations

from pathlib import Path

import click

from tracecode.commands.options import db_option
from tracecode.store.database import open_store


@click.command()
@db_option
@click.option("--month", required=True, metavar="YYYY-MM", help="The checked month to report on.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML file to write, e.g. report-2026-10.html.")
@click.option("--no-mask", is_flag=True, help="Show insured-person ids (人员编号) in full. Default: masked.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def report(db_path: str, month: str, out_file: Path, no_mask: bool, force: bool) -> None:
    """Write a one-page HTML report of a checked month for a bureau head (局领导):
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
        data = write_report(con, month, out_file, mask=not no_mask, force=force, db_label=db_path)
    finally:
        con.close()
    click.echo(f"Wrote {out_file}: {data.total_codes:,} suspicious codes in {data.month}, "
               f"{data.flagged_rows:,} of {data.rows:,} rows flagged, {data.rejects:,} records rejected", err=True)
