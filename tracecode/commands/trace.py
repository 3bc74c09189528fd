"""trace: the full history of codes."""

from __future__ import annotations

import json

import click

from tracecode.commands.options import db_option
from tracecode.outputs.textout import format_table
from tracecode.outputs.trace import trace_code
from tracecode.store.database import open_store


@click.command()
@db_option
@click.option("--no-mask", is_flag=True, help="Show insured-person ids (人员编号) in full.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per code) instead of tables.")
@click.argument("codes", nargs=-1, required=True)
def trace(db_path: str, no_mask: bool, as_json: bool, codes: tuple[str, ...]) -> None:
    """Show the full history of traceability codes (追溯码): not found / sold once /
    sold N times, every event in time order and the rules it trips.

    Any spelling works: full-width digits, a leading apostrophe, GS1 with
    parentheses or GS separators. Invalid values as the outputs list them
    (00000000000000000000, 无, 8.12E+19) show who uploaded them.

    \b
    Example:
      tracecode trace --db city.duckdb 81234567890123456789
      tracecode trace --db city.duckdb "(01)06901234567892(21)ABC123"
    """
    con = open_store(db_path, read_only=True)
    try:
        histories = [trace_code(con, raw, mask=not no_mask) for raw in codes]
    finally:
        con.close()
    if as_json:
        for h in histories:
            click.echo(json.dumps({"query": h.query, "drug_trac_codg": h.code, "code_status": h.status,
                                   "invalid_reason": h.reason, "verdict": h.verdict,
                                   "events": h.events, "findings": h.findings}, ensure_ascii=False, default=str))
        return
    for i, h in enumerate(histories):
        if i:
            click.echo("")
        extra = f", {h.returns} return(s)" if h.returns else ""
        invalid = f" (invalid code: {h.reason})" if h.status != "valid" else ""
        click.echo(f"{h.code}{invalid}: {h.verdict}{extra}")
        if not h.events:
            continue
        click.echo(format_table(
            ["time", "kind", "pharmacy", "name", "receipt", "qty", "split", "insured", "person", "source"],
            [[f"{e['sel_retn_time']:%Y-%m-%d %H:%M:%S}", e["kind"], e["fixmedins_code"], e["fixmedins_name"] or "",
              e["rtal_docno"], e["qty"], "split" if e["trdn_flag"] else "whole", "yes" if e["insured"] else "no",
              e["psn_no"] or "", f"{e['file_name']}:{e['src_line']}"] for e in h.events]))
        if h.findings:
            click.echo("Rules tripped:")
            for f in h.findings:
                click.echo(f"  {f['rule']} ({f['label_zh']}, {', '.join(f['months'])}): {f['detail']}")
