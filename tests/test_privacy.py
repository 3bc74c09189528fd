"""Masking of insured-person ids (issue 17, item 7): never more than a third of an id, never
all of a short one; the SQL macro and the Python function agree."""

from __future__ import annotations

import duckdb
import pytest

from tracecode.privacy import MASK_MACRO, mask_person

IDS = ["Z9", "Z", "张三丰", "ABCDE", "ABCDEF", "330100199001011234", "33010000000000000001", "PSN1", "甲乙丙丁戊己"]


@pytest.mark.parametrize("value", IDS)
def test_a_mask_shows_at_most_a_third(value):
    masked = mask_person(value, "k")
    head, _, rest = masked.partition("***")
    tail = rest.split("#")[0]
    assert len(head) + len(tail) <= len(value) // 3
    assert value not in masked
    assert value.startswith(head) and value.endswith(tail)


def test_short_ids_reveal_nothing_and_long_ones_keep_3_and_2():
    assert mask_person("Z9", "k").startswith("***#")
    assert mask_person("张三丰", "k").startswith("张***#")
    assert mask_person("33010000000000000001", "k").startswith("330***01#")


def test_two_ids_with_the_same_ends_stay_apart():
    assert mask_person("Z9", "k") != mask_person("Z8", "k")


def test_sql_macro_masks_exactly_as_python():
    con = duckdb.connect()
    con.execute(MASK_MACRO)
    for value in IDS + ["", None]:
        assert con.execute("SELECT masked_id(?, 'k')", [value]).fetchone()[0] == mask_person(value, "k")
