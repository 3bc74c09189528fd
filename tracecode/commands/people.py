"""people / rings: who is behind the recycled packs (professional buyers, recycling rings)."""

from __future__ import annotations

import click

from tracecode.analysis.people import DEFAULT_MIN_PACKS as PEOPLE_MIN_PACKS
from tracecode.analysis.people import Analysis
from tracecode.analysis.rings import DEFAULT_MIN_PACKS as RING_MIN_PACKS
from tracecode.analysis.rings import find_rings
from tracecode.commands.options import (
    db_option,
    lang_option,
    mask_option,
    memory_option,
    say,
    scope_words,
)
from tracecode.commands.options import month_option as _month_option
from tracecode.messages import MESSAGES
from tracecode.outputs.textout import format_table

ROLE_KEYS = {k for k in MESSAGES if k.startswith("role.")}
from tracecode.store.database import open_store

month_option = _month_option(
    "使用该月 check --month 的结果（该月的再次销售）。默认：不带 --month 的 check 的结果。"
    "Use the findings of `check --month` of this month. Default: those of `check` over all months.")
limit_option = click.option("--limit", default=30, show_default=True, type=click.IntRange(min=1),
                            help="显示的行数。Rows to print.")


def _short(text: str | None, n: int = 3) -> str:
    parts = (text or "").split("; ")
    return "; ".join(parts[:n]) + (f"; … (+{len(parts) - n})" if len(parts) > n else "")


def _days(x) -> str:
    return "" if x is None else f"{x:.1f}"


@click.command()
@db_option
@month_option
@click.option("--min-packs", default=PEOPLE_MIN_PACKS, show_default=True, type=click.IntRange(min=1),
              help="列出医保药品被再次销售至少此盒数的人员。Minimum packs sold again.")
@mask_option
@limit_option
@memory_option
@lang_option
def people(db_path: str, month: str | None, min_packs: int, mask: bool, limit: int, memory_limit: str | None) -> None:
    """按医保整盒药品被再次销售的数量给参保人排名（职业开药人）。
    Rank the insured persons whose insured whole packs were sold again (职业开药人).

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
        click.echo(say("people.none", scope=scope_words(scope), n=min_packs))
        return
    click.echo(format_table(
        [say(f"col.{k}") for k in ("file_no", "psn_no", "packs", "share", "drugs", "value", "bought_at",
                                   "reappeared_at", "days")],
        [[p.rank, p.psn_no, p.packs, say("people.share", share=p.share * 100, total=p.insured_packs), p.drugs, p.value,
          _short(p.bought_at), _short(p.reappeared_at), _days(p.days_median)] for p in ranked[:limit]]))
    more = len(ranked) - limit
    click.echo(say("people.count", scope=scope_words(scope), count=len(ranked), n=min_packs,
                   more=say("people.more", n=more) if more > 0 else ""), err=True)


@click.command()
@db_option
@month_option
@click.option("--min-packs", default=RING_MIN_PACKS, show_default=True, type=click.IntRange(min=1),
              help="药店之间流动至少此盒数才计入，人员至少此盒数才关联。A pharmacy pair joins the graph with at least this many packs flowing, a person with at "
                   "least this many packs sold again; rings with fewer packs are not listed.")
@mask_option
@limit_option
@memory_option
@lang_option
def rings(db_path: str, month: str | None, min_packs: int, mask: bool, limit: int, memory_limit: str | None) -> None:
    """查找回流团伙：互相输送医保药品的药店群。
    Find recycling rings (团伙化回流): pharmacies feeding each other insured packs.

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
        click.echo(say("rings.none", scope=scope_words(scope), n=min_packs))
        return
    for r in found[:limit]:
        click.echo(say("rings.head", ring=r.ring_id, members=len(r.members), packs=r.packs, persons=r.persons,
                       drugs=r.drugs, first=str(r.first_bought)[:10], last=str(r.last_resold)[:10],
                       value=say("rings.value", value=r.value) if r.value is not None else ""))
        click.echo(say("rings.members", text=", ".join(f"{m} ({_role(r.roles[m])})" for m in r.members)))
        click.echo(say("rings.flows", text=_short(r.top_flows(), 5)))
        if r.top_persons:
            click.echo(say("rings.persons", text="; ".join(f"{p} x{n}" for p, n in r.top_persons[:3])
                           + (f"; … (+{r.persons - 3})" if r.persons > 3 else "")))
        click.echo(say("rings.drugs", text="; ".join(f"{d} x{n}" for d, n in r.top_drugs[:3])))
        if r.linking_persons:
            click.echo(say("rings.linked", n=min_packs, text=_short("; ".join(r.linking_persons), 3)))
    more = len(found) - limit
    click.echo(say("rings.count", scope=scope_words(scope), count=len(found),
                   more=say("rings.more", n=more) if more > 0 else ""), err=True)


def _role(role: str) -> str:
    return say(f"role.{role}") if f"role.{role}" in ROLE_KEYS else role
