"""What a check runs: the rules asked for, the stages they need, and the relation that
gathers their output."""

from __future__ import annotations

from typing import Iterable

from tracecode.errors import RuleError
from tracecode.rules.catalogue import RuleInfo, list_rules
from tracecode.sqlfiles import SqlFile, check_identifier

__all__ = ["BASE_RELATIONS", "flagged_sql", "select_rules", "stage_plan"]

#: Relations that are tables of the store or prepared by the runner, not stages (besides the
#: kept summaries and their ``<table>_files``).
BASE_RELATIONS = frozenset({"events", "files", "deletes", "drug_catalog"})


def select_rules(rules: Iterable[str] | None) -> list[RuleInfo]:
    """The rules named in ``rules`` (ids, or comma-separated lists of ids; None: every rule),
    in the canonical order. RuleError for an unknown id or an empty selection."""
    available = list_rules()
    if rules is None:
        return available
    wanted = []
    for item in rules:
        for part in str(item).split(","):
            part = part.strip()
            if part and part not in wanted:
                wanted.append(part)
    by_id = {r.id: r for r in available}
    unknown = [r for r in wanted if r not in by_id]
    if unknown:
        raise RuleError(f"unknown rule{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
                        hint=f"rules are: {', '.join(by_id)}")
    if not wanted:
        raise RuleError("no rule selected", hint=f"rules are: {', '.join(by_id)}")
    return [r for r in available if r.id in wanted]


def stage_plan(stages: list[SqlFile], rule_files: list[SqlFile]) -> list[SqlFile]:
    """The stages the selected rules need (transitively), in file order."""
    by_name = {s.name: s for s in stages}
    persisted = {s.meta["persist"]: s.name for s in stages if s.meta.get("persist")}
    base = BASE_RELATIONS | set(persisted) | {f"{table}_files" for table in persisted}
    wanted: set[str] = set()
    todo = ["code_events"]  # the evidence of code-level findings
    for f in rule_files:
        todo.extend(f.needs)
    while todo:
        name = todo.pop()
        name = persisted.get(name, name)
        if name in wanted or name in base:
            continue
        if name not in by_name:
            raise RuleError(f"a SQL file needs {name!r}, which no stage produces")
        wanted.add(name)
        todo.extend(by_name[name].needs)
    return [s for s in stages if s.name in wanted]


def flagged_sql(rule_names: list[str]) -> str:
    """The relation ``flagged``: every rule's output (relations ``rule_<id>``) with its rule id."""
    for name in rule_names:
        check_identifier(name)
    return "\nUNION ALL\n".join(
        f"SELECT CAST('{name}' AS VARCHAR) AS rule, code_key, drug_trac_codg, event_id, detail "
        f'FROM "rule_{name}"' for name in rule_names)
