"""What the monthly report shows, as plain data: gathered by :mod:`tracecode.outputs.report`,
drawn by :mod:`tracecode.outputs.report_html`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class RuleLine:
    rule: str
    label_zh: str
    severity: str
    codes: int  # findings (codes) this month
    flagged_rows: int
    pharmacies: int  # pharmacies with a flagged row this month
    previous: int | None  # codes last month; None when last month was not checked


@dataclass
class Case:
    """One finding with its evidence rows."""

    finding: dict
    events: list[dict]
    more_events: int = 0


@dataclass
class ReportData:
    month: str
    previous_month: str
    db_label: str
    generated_at: dt.datetime
    rules: list[RuleLine]
    rows: int  # code rows uploaded in the month
    records: int  # records read from the month's files
    pharmacies: int
    flagged_rows: int
    rejects: int
    reject_reasons: list[tuple[str, int]]
    history: list[tuple[str, dict[str, int] | None]]  # month -> rule -> codes (None: not checked)
    top_pharmacies: list[dict]
    top_drugs: list[dict]
    cases: dict[str, list[Case]] = field(default_factory=dict)
    masked: bool = True
    cases_html: str = ""  # the cases section, drawn by tracecode.outputs.report_cases.report_section
    lang: str = "zh"  # the language of the page's words (tracecode.messages, report.*)
    rings_html: str = ""  # the recycling-rings section, drawn by tracecode.outputs.report_rings.report_section

    @property
    def total_codes(self) -> int:
        return sum(r.codes for r in self.rules)
