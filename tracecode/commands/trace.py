"""trace: the full history of codes."""

from __future__ import annotations

import json

import click

from tracecode.commands.options import (
    current_lang,
    db_option,
    lang_option,
    mask_option,
    say,
    scope_words,
)
from tracecode.messages import severity_text, stored_text
from tracecode.outputs.textout import format_table
from tracecode.outputs.trace import trace_code
from tracecode.store.database import open_store


@click.command()
@db_option
@mask_option
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（每个追溯码一个对象）。Print JSON instead of tables.")
@lang_option
@click.argument("codes", nargs=-1, required=True)
def trace(db_path: str, mask: bool, as_json: bool, codes: tuple[str, ...]) -> None:
    """显示追溯码的完整历史：未找到 / 销售 1 次 / 销售 N 次，按时间列出每条记录及触发的规则。
    任何写法都可以：全角数字、开头的撇号、带括号或 GS 分隔符的 GS1。

    Show the full history of traceability codes (追溯码): not found / sold once /
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
        histories = [trace_code(con, raw, mask=mask) for raw in codes]
    finally:
        con.close()
    if as_json:
        for h in histories:
            click.echo(json.dumps({"query": h.query, "drug_trac_codg": h.code, "code_status": h.status,
                                   "invalid_reason": h.reason, "verdict": h.verdict,
                                   "events": h.events, "findings": h.findings}, ensure_ascii=False, default=str))
        return
    lang = current_lang()
    for i, h in enumerate(histories):
        if i:
            click.echo("")
        extra = say("trace.returns", n=h.returns) if h.returns else ""
        invalid = say("trace.invalid", reason=h.reason) if h.status != "valid" else ""
        click.echo(f"{h.code}{invalid}: {verdict_words(h.sales, bool(h.events))}{extra}")
        if not h.events:
            continue
        click.echo(format_table(
            [say(f"col.{k}") for k in ("time", "kind", "pharmacy", "name", "receipt", "qty", "split", "insured",
                                       "person", "source")],
            [[f"{e['sel_retn_time']:%Y-%m-%d %H:%M:%S}",
              say(f"kind.{e['kind']}") + (say("trace.withdrawn") if e["withdrawn"] else ""), e["fixmedins_code"],
              e["fixmedins_name"] or "", e["rtal_docno"], e["qty"], say("split.yes" if e["trdn_flag"] else "split.no"),
              say("yes" if e["insured"] else "no"), e["psn_no"] or "", f"{e['file_name']}:{e['src_line']}"]
             for e in h.events]))
        if h.findings:
            click.echo(say("trace.rules"))
            for f in h.findings:
                months = ", ".join(scope_words(m) for m in f["months"])
                click.echo(f"  {f['rule']} ({f['label_zh']}, {severity_text(f['severity'], lang)}, {months}): "
                           f"{stored_text(f['detail'], lang)}")


def verdict_words(sales: int, found: bool) -> str:
    """未找到 / 销售 1 次 / 销售 N 次 (what the national app answers)."""
    if not found:
        return say("trace.not_found")
    return say("trace.once") if sales == 1 else say("trace.times", n=sales)
