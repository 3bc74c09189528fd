"""Both engines offer every method the engine-neutral runner calls (tracecode.rules.runner.Engine)."""

from __future__ import annotations

import inspect

import pytest

from tracecode.rules.duckdb_engine import DuckDBEngine
from tracecode.rules.runner import Engine

ENGINE_METHODS = sorted(name for name, _ in inspect.getmembers(Engine, inspect.isfunction) if not name.startswith("_"))


def _engines():
    yield DuckDBEngine
    pytest.importorskip("pyarrow")
    from tracecode.spark.engine import SparkEngine

    yield SparkEngine


def test_the_contract_is_the_documented_one():
    assert ENGINE_METHODS == ["define", "drop_temp_tables", "fetch", "keep_summaries", "materialize",
                              "register_columns", "require_month"]


@pytest.mark.parametrize("name", ENGINE_METHODS)
def test_every_engine_implements(name):
    for engine in _engines():
        assert callable(getattr(engine, name, None)), f"{engine.__name__} has no {name}()"
