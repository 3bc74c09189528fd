"""Case statuses, their Chinese labels, the dismissal reasons and the allowed transitions.

Messages are raised in English and shown in the user's language by the message catalogue
(``tracecode.messages.ERROR_PHRASES``)."""

from __future__ import annotations

import datetime as dt

from tracecode.errors import TracecodeError

__all__ = ["DISMISS_REASONS", "STATUS_LABELS", "TRANSITIONS", "CaseError", "DecisionError", "check_decision"]

STATUS_LABELS = {
    "new": "新发现",
    "reviewing": "核查中",
    "appealed": "申诉中",
    "confirmed": "确认违规",
    "dismissed": "已排除",
}
CLOSED = ("confirmed", "dismissed")
DISMISS_REASONS = ("重复上传已更正", "扫码错误", "拆零", "退货后再售", "其他")

#: from -> the statuses a person may set. `new` is set only by check; a closed case is reopened
#: by a person (reviewing, or appealed for a confirmed one) or by check on new flagged rows.
#: confirmed -> confirmed and dismissed -> dismissed update the recovered amount / reason / until.
TRANSITIONS = {
    "new": ("reviewing", "appealed", "confirmed", "dismissed"),
    "reviewing": ("appealed", "confirmed", "dismissed"),
    "appealed": ("reviewing", "confirmed", "dismissed"),
    "confirmed": ("confirmed", "appealed", "reviewing"),
    "dismissed": ("dismissed", "reviewing"),
}


class CaseError(TracecodeError):
    """A cases command cannot do what was asked (unknown case, bad decision, bad file)."""


class DecisionError(ValueError):
    """One field of a decision is not allowed: ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def check_decision(current: str, status: str, reason: str | None, recovered: str | float | None,
                   until: str | dt.date | None) -> tuple[str | None, float | None, dt.date | None]:
    """Validate one decision on a case in status ``current``; return (reason, recovered, until)
    as stored. Raises DecisionError naming the field."""
    if status not in STATUS_LABELS:
        raise DecisionError("status", f"unknown status {status!r}; choose from "
                                      f"{', '.join(s for s in STATUS_LABELS if s != 'new')}")
    if status not in TRANSITIONS.get(current, ()):
        allowed = ", ".join(TRANSITIONS.get(current, ())) or "-"
        raise DecisionError("status", f"a case {current} cannot be set to {status}; it can be set to: {allowed}")
    reason = (reason or "").strip() or None
    if status == "dismissed":
        if reason is None or not any(reason == r or (r == "其他" and reason.startswith("其他")) for r in DISMISS_REASONS):
            raise DecisionError("reason", f"a dismissal needs one of the reasons {', '.join(DISMISS_REASONS)} "
                                          "(其他 may add words: 其他：…)")
    amount = None
    if recovered is not None and str(recovered).strip() != "":
        if status != "confirmed":
            raise DecisionError("recovered", "the amount recovered is for confirmed only")
        try:
            amount = float(str(recovered).strip())
        except ValueError:
            raise DecisionError("recovered", f"the amount recovered is not a number: {recovered!r}") from None
        if not amount >= 0 or amount == float("inf"):
            raise DecisionError("recovered", f"the amount recovered must be a number >= 0: {recovered!r}")
    day = None
    if until is not None and str(until).strip() != "":
        if status != "dismissed":
            raise DecisionError("until", "--until is for dismissed only")
        if isinstance(until, dt.datetime):
            day = until.date()
        elif isinstance(until, dt.date):
            day = until
        else:
            try:
                day = dt.date.fromisoformat(str(until).strip())
            except ValueError:
                raise DecisionError("until", f"a date is written YYYY-MM-DD: {until!r}") from None
    return reason, amount, day
