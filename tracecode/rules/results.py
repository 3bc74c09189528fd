"""What a check found: the per-rule summary lines and the run's figures."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CheckResult", "RuleSummary"]


@dataclass
class RuleSummary:
    """One line of the summary: how much a rule found in the checked months."""

    rule: str
    label_zh: str
    severity: str
    codes: int  # codes with a finding
    rows: int  # flagged rows inside the checked months
    pharmacies: int  # distinct pharmacies of those rows
    amount: float | None = None  # yuan: price x quantity of those rows; None when none has a price

    @property
    def amount_text(self) -> str:
        """The amount as printed: yuan with two decimals, '-' when unknown."""
        return "-" if self.amount is None else f"{self.amount:,.2f}"


@dataclass
class CheckResult:
    """What a check run found and stored."""

    month: str  # 'YYYY-MM' or 'all'
    rules: list[RuleSummary]
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # step name -> seconds
    counts: dict[str, int] = field(default_factory=dict)  # relation -> rows

    @property
    def findings(self) -> int:
        """The number of findings (codes with a finding, summed over the rules)."""
        return sum(r.codes for r in self.rules)
