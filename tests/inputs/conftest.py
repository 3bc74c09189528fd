from __future__ import annotations

import pytest

from tracecode.inputs import nhsa_json


@pytest.fixture
def no_worker_processes(monkeypatch):
    """Message files are cut into 4 KB pieces, any file is large enough for worker processes,
    and starting them fails the test."""
    def no_workers(*args, **kwargs):
        raise AssertionError("worker processes started")

    monkeypatch.setattr(nhsa_json, "_parallel_batches", no_workers)
    monkeypatch.setattr(nhsa_json, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(nhsa_json, "CHUNK_BYTES", 4096)
