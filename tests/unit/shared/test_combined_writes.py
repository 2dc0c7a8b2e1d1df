"""A use case's decided writes go as one statement: each write's parameters renumbered after the ones before it,
and its CTE names made its own, so the same write can appear twice."""

from __future__ import annotations

from shared.db import Write, combined_writes


def test_writes_are_renumbered_and_named_apart_in_order() -> None:
    entry = Write(
        ctes=(
            "{w}entry AS (INSERT INTO e (a, b) VALUES ($1, $2) RETURNING id)",
            "{w}line AS (SELECT id, $3 FROM {w}entry)",
        ),
        args=("a", "b", 3),
    )
    account = Write(ctes=("{w}account AS (UPDATE account SET balance = $2 WHERE id = $1)",), args=("id", 10))
    statement, args = combined_writes([entry, account, entry])
    assert statement == (
        "WITH w0_entry AS (INSERT INTO e (a, b) VALUES ($1, $2) RETURNING id),\n"
        "w0_line AS (SELECT id, $3 FROM w0_entry),\n"
        "w1_account AS (UPDATE account SET balance = $5 WHERE id = $4),\n"
        "w2_entry AS (INSERT INTO e (a, b) VALUES ($6, $7) RETURNING id),\n"
        "w2_line AS (SELECT id, $8 FROM w2_entry)\n"
        "SELECT"
    )
    assert args == ["a", "b", 3, "id", 10, "a", "b", 3]


def test_a_parameter_above_nine_is_renumbered_whole() -> None:
    many = Write(ctes=("{w}x AS (SELECT $1, $10, $12)",), args=tuple(range(12)))
    statement, _ = combined_writes([many, many])
    assert "w1_x AS (SELECT $13, $22, $24)" in statement
