"""Cases: a finding followed over months, with its status, decision and append-only history.

``statuses`` (the ids, Chinese labels, dismissal reasons and allowed transitions), ``sync``
(check takes its findings into cases, inside the check's transaction), ``store`` (list, show,
set), ``workbook`` (the inspector's workbook: export and all-or-nothing import), ``summary``
(the per-month figures export and report show). docs/CASES.md describes the cycle.
"""
