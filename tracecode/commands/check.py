"""check: run the detection rules and store the findings."""

from __future__ import annotations

from pathlib import Path

import click

from tracecode.commands.options import db_option, memory_option, quiet_option, show_progress
from tracecode.rules import RULE_IDS, run_checks
from tracecode.store import open_store
from tracecode.textout import format_table


@click.command()
@db_option
@click.option("--month", default=None, metavar="YYYY-MM",
              help="Report the findings with a flagged row in this month, judged against all history up to "
                   "its end. Default: everything.")
@click.option("--catalog", "catalog", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Drug catalogue CSV: med_list_codg,code_prefix,pack_units (optional).")
@click.option("--close-days", default=3, show_default=True, type=click.IntRange(min=0),
              help="cross_pharmacy_reuse: sales at two pharmacies at most this many days apart are a "
                   "suspected counterfeit, further apart a suspected recycled drug.")
@click.option("--rules", "rules", default=None, metavar="RULE,RULE",
              help=f"Run only these rules (default: all): {', '.join(RULE_IDS)}.")
@memory_option
@quiet_option
def check(db_path: str, month: str | None, catalog: Path | None, close_days: int, rules: str | None,
          memory_limit: str | None, quiet: bool) -> None:
    """Run the rules and store their findings (tables findings, finding_events; view evidence).

    Prints one line per rule: codes with a finding, flagged rows and pharmacies in the
    checked month. Re-running a month replaces its findings. Without --catalog,
    split_overuse does not check pack units and product_mismatch judges a code's product
    by the drug most of its sales are billed as.

    \b
    Example:
      tracecode check --db city.duckdb --month 2026-10 --catalog catalog.csv
      tracecode check --db city.duckdb --rules cross_pharmacy_reuse,recycled_resale
    """
    con = open_store(db_path, create=False, memory_limit=memory_limit)
    try:
        result = run_checks(con, month=month, catalog=catalog, close_days=close_days,
                            rules=rules.split(",") if rules else None, progress=show_progress(quiet))
    finally:
        con.close()
    click.echo(format_table(
        ["rule", "label", "severity", "codes", "rows", "pharmacies"],
        [[r.rule, r.label_zh, r.severity, r.codes, r.rows, r.pharmacies] for r in result.rules]))
    if not quiet:
        click.echo(f"check {result.month}: {result.findings:,} findings stored in {result.seconds:.1f} s", err=True)


COMMANDS = [check]
