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


# --- a bureau's key file: one mask per person across its databases ---------------------------

def _two_stores(tmp_path):
    from click.testing import CliRunner

    from tests.conftest import sale, write_csv
    from tracecode.cli import main

    rows = [sale(receipt="R1", psn="PSN0000000001"), sale(receipt="R2", psn="PSN0000000001", pharmacy="P002")]
    dbs = []
    for name in ("district1", "district2"):
        db = tmp_path / f"{name}.duckdb"
        f = write_csv(tmp_path / f"{name}.csv", rows)
        for args in (["ingest", "-q", "--db", str(db), str(f)], ["check", "-q", "--db", str(db)]):
            assert CliRunner().invoke(main, args).exit_code == 0
        dbs.append(db)
    return dbs


def _exported_ids(tmp_path, db, name: str, *extra: str, env: dict | None = None) -> set[str]:
    import csv

    from click.testing import CliRunner

    from tracecode.cli import main
    from tracecode.outputs.export_write import exact

    out = tmp_path / name
    result = CliRunner().invoke(main, ["export", "--db", str(db), "--out", str(out), "-q", *extra], env=env)
    assert result.exit_code == 0, result.output
    with open(out / "suspicious_events.csv", encoding="utf-8-sig", newline="") as fh:
        return {exact(r["psn_no"]) for r in csv.DictReader(fh)}


def test_one_key_file_gives_one_mask_across_databases_and_none_gives_two(tmp_path):
    first, second = _two_stores(tmp_path)
    key = tmp_path / "bureau.key"
    key.write_text("0123456789abcdef0123456789abcdef\n")
    own = _exported_ids(tmp_path, first, "a"), _exported_ids(tmp_path, second, "b")
    assert len(own[0]) == 1 and own[0] != own[1]  # each database masks with its own key
    shared = (_exported_ids(tmp_path, first, "c", "--mask-key-file", str(key)),
              _exported_ids(tmp_path, second, "d", env={"TRACECODE_MASK_KEY_FILE": str(key)}))
    assert shared[0] == shared[1] == {mask_person("PSN0000000001", "0123456789abcdef0123456789abcdef")}
    assert "PSN0000000001" not in shared[0]
    # the next command without the file masks with the database's key again (nothing kept)
    assert _exported_ids(tmp_path, first, "e") == own[0]


@pytest.mark.parametrize("content, words", [(None, "cannot read mask key file"),
                                            ("short\n", "holds 5 characters; at least 16 are needed")])
def test_a_bad_key_file_is_one_error_with_a_hint(tmp_path, content, words):
    from click.testing import CliRunner

    from tracecode.cli import main

    key = tmp_path / "bureau.key"
    if content is not None:
        key.write_text(content)
    result = CliRunner().invoke(main, ["trace", "--db", str(tmp_path / "none.duckdb"), "--mask-key-file", str(key),
                                       "81234567890123456789"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert [line for line in lines if line.startswith("Error: ")] == [next(x for x in lines if words in x)]
    assert any(line.startswith("Hint: ") and "openssl rand" in line for line in lines)
