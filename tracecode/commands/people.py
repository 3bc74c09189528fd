"""people / rings: who is behind the recycled packs (professional buyers, recycling rings)."""

from __future__ import annotations

import click

from tracecode.analysis.people import DEFAULT_MIN_PACKS as PEOPLE_MIN_PACKS
from tracecode.analysis.people import Analysis
from tracecode.analysis.rings import DEFAULT_MIN_PACKS as RING_MIN_PACKS
from tracecode.analysis.rings import find_rings
from tracecode.commands.options import db_option, memory_option
from tracecode.outputs.textout import format_table
from tracecode.store.database import open_store

month_option = click.option(
    "--month", default=None, metavar="YYYY-MM",
    help="Use the findings of `check --month` of this month (the resales in it). Default: the findings "
         "of `check` over all months.")
mask_option = click.option(
    "--mask/--no-mask", default=True, show_default=True,
    help="Mask insured-person ids (--no-mask: full ids, for the bureau staff who must act on them).")
limit_option = click.option("--limit", default=30, show_default=True, type=click.IntRange(min=1),
                            help="Rows to print.")


def _short(text: str | None, n: int = 3) -> str:
    parts = (text or "").split("; ")
    return "; ".join(parts[:n]) + (f"; … (+{len(parts) - n})" if len(parts) > n else "")


def _days(x) -> str:
    return "" if x is None else f"{x:.1f}"


@click.command()
@db_option
@month_option
@click.option("--min-packs", default=PEOPLE_MIN_PACKS, show_default=True, type=click.IntRange(min=1),
              help="List the persons with at least this many insured packs sold again.")
@mask_option
@limit_option
@memory_option
def people(db_path: str, month: str | None, min_packs: int, mask: bool, limit: int, memory_limit: str | None) -> None:
    """Rank the insured persons whose insured whole packs were sold again (职业开药人).

    From the recycled_resale findings stored by `check`: for each person, the packs they
    bought on insurance that reappeared in another sale, the share of their insured packs
    that did, the drugs and their value, where they bought, where the packs reappeared and
    the median days in between. Person ids are masked unless --no-mask.

    \b
    Example:
      tracecode check  --db city.duckdb --month 2026-10
      tracecode people --db city.duckdb --month 2026-10 --min-packs 5
    """
    con = open_store(db_path, read_only=True, memory_limit=memory_limit)
    try:
        with Analysis(con, month) as a:
            ranked = a.people(min_packs, mask=mask)
            scope = a.scope
    finally:
        con.close()
    if not ranked:
        click.echo(f"people {scope}: no person has {min_packs} or more insured packs sold again.")
        return
    click.echo(format_table(
        ["#", "psn_no", "packs", "share", "drugs", "value", "bought at", "reappeared at", "days"],
        [[p.rank, p.psn_no, p.packs, f"{p.share * 100:.0f}% of {p.insured_packs}", p.drugs, p.value,
          _short(p.bought_at), _short(p.reappeared_at), _days(p.days_median)] for p in ranked[:limit]]))
    more = len(ranked) - limit
    click.echo(f"people {scope}: {len(ranked):,} person(s) with >= {min_packs} packs sold again"
               + (f" ({more:,} more not shown; export writes them all to persons.csv)" if more > 0 else ""), err=True)


@click.command()
@db_option
@month_option
@click.option("--min-packs", default=RING_MIN_PACKS, show_default=True, type=click.IntRange(min=1),
              help="A pharmacy pair joins the graph with at least this many packs flowing, a person with at "
                   "least this many packs sold again; rings with fewer packs are not listed.")
@mask_option
@limit_option
@memory_option
def rings(db_path: str, month: str | None, min_packs: int, mask: bool, limit: int, memory_limit: str | None) -> None:
    """Find recycling rings (团伙化回流): pharmacies feeding each other insured packs.

    An edge A -> B counts the packs bought on insurance at pharmacy A and sold again at
    pharmacy B; persons with many packs sold again link where they bought to where the packs
    reappeared. A ring is a connected group of at least two pharmacies; rings are ranked by
    packs and described by members, heaviest flows, persons, drugs and time span.

    \b
    Example:
      tracecode rings --db city.duckdb --month 2026-10
    """
    con = open_store(db_path, read_only=True, memory_limit=memory_limit)
    try:
        with Analysis(con, month) as a:
            found = find_rings(a, min_packs, mask=mask)
            scope = a.scope
    finally:
        con.close()
    if not found:
        click.echo(f"rings {scope}: no ring (no group of pharmacies with {min_packs} or more packs flowing).")
        return
    for r in found[:limit]:
        click.echo(f"{r.ring_id}  {len(r.members)} pharmacies  {r.packs:,} packs  {r.persons:,} persons  "
                   f"{r.drugs:,} drugs  {str(r.first_bought)[:10]} .. {str(r.last_resold)[:10]}"
                   + (f"  value {r.value:,.2f}" if r.value is not None else ""))
        click.echo("  members: " + ", ".join(f"{m} ({r.roles[m]})" for m in r.members))
        click.echo("  flows:   " + _short(r.top_flows(), 5))
        if r.top_persons:
            click.echo("  persons: " + "; ".join(f"{p} x{n}" for p, n in r.top_persons[:3])
                       + (f"; … (+{r.persons - 3})" if r.persons > 3 else ""))
        click.echo("  drugs:   " + "; ".join(f"{d} x{n}" for d, n in r.top_drugs[:3]))
        if r.linking_persons:
            click.echo(f"  linked by persons with >= {min_packs} packs: " + _short("; ".join(r.linking_persons), 3))
    more = len(found) - limit
    click.echo(f"rings {scope}: {len(found):,} ring(s)" + (f" ({more:,} more not shown)" if more > 0 else ""),
               err=True)
