"""Cell suppression, attacked: an adversary who knows every published number of a
table (cells, row and column totals, grand total) and that counts are whole
numbers of zero or more solves for each suppressed entry's smallest and largest
value with a linear program (exact here: the constraints form a network matrix,
so the program's bounds are whole numbers). No suppressed entry may come out
pinned to one value, and no small cell may be shown to lie below the threshold.

The attacker shares no code with :mod:`vault.suppress`: it is built from the
table's sums alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from vault.suppress import Pos, SuppressionError, check, suppress


def with_margins(cells: Sequence[Sequence[int]]) -> list[list[int]]:
    rows = [[*row, sum(row)] for row in cells]
    return [*rows, [sum(col) for col in zip(*rows, strict=True)]]


def attack(
    values: Sequence[Sequence[int]], hidden: Iterable[Pos], free: Iterable[Pos] = ()
) -> dict[Pos, tuple[float, float]]:
    """The smallest and largest value of every hidden entry that agrees with all
    that is published (free entries are unknown too, and are not asked about)."""
    r, c = len(values) - 1, len(values[0]) - 1
    hidden = set(hidden)
    unknown = sorted(hidden | set(free))
    index = {pos: k for k, pos in enumerate(unknown)}
    lines: list[tuple[list[Pos], Pos]] = [
        ([(i, j) for j in range(c)], (i, c)) for i in range(r + 1)
    ] + [([(i, j) for i in range(r)], (r, j)) for j in range(c + 1)]
    a_eq, b_eq = [], []
    for parts, total in lines:
        row = [0.0] * len(unknown)
        rhs = 0.0
        for pos, sign in [*((p, 1) for p in parts), (total, -1)]:
            if pos in index:
                row[index[pos]] += sign
            else:
                rhs -= sign * values[pos[0]][pos[1]]
        if any(row):
            a_eq.append(row)
            b_eq.append(rhs)
        else:
            assert rhs == 0
    out = {}
    for pos in hidden:
        bounds = []
        for direction in (1, -1):
            goal = [0.0] * len(unknown)
            goal[index[pos]] = direction
            res = linprog(goal, A_eq=a_eq or None, b_eq=b_eq or None, bounds=(0, None))
            if res.status == 3:
                bounds.append(-direction * math.inf)
            else:
                assert res.status == 0, res.message
                bounds.append(direction * res.fun)
        out[pos] = (bounds[0], bounds[1])
    return out


def assert_safe(
    values: list[list[int]],
    hidden: frozenset[Pos],
    sensitive: set[Pos],
    threshold: int,
    free: Iterable[Pos] = (),
) -> None:
    assert sensitive <= hidden
    for pos, (low, high) in attack(values, hidden, free).items():
        assert high - low > 0.5, f"entry {pos} is given back: {low}"
        if pos in sensitive:
            assert high >= threshold - 1e-6, f"small entry {pos} is shown below {threshold}"


def small(values: list[list[int]], threshold: int, free: Iterable[Pos] = ()) -> set[Pos]:
    skip = set(free)
    return {
        (i, j)
        for i, row in enumerate(values)
        for j, v in enumerate(row)
        if 0 < v < threshold and (i, j) not in skip
    }


def test_the_rule_of_thumb_is_not_enough_and_suppress_is() -> None:
    """Two blocks of suppressed cells joined by one cell: every row and column
    holds two suppressed cells, yet the joining cell is the difference of the
    first block's row totals and column totals. And a small cell whose partners
    are zeros is pinned, because zeros cannot go lower."""
    cells = [
        [2, 1, 9, 9],
        [1, 2, 1, 9],
        [9, 9, 2, 1],
        [9, 9, 1, 2],
    ]
    values = with_margins(cells)
    thumb = frozenset({(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 2), (2, 3), (3, 2), (3, 3)})
    lines = [[p for p in thumb if p[0] == i] for i in range(4)]
    lines += [[p for p in thumb if p[1] == j] for j in range(4)]
    assert all(len(line) >= 2 for line in lines)
    assert attack(values, thumb)[(1, 2)] == (1, 1)
    with pytest.raises(SuppressionError):
        check(values, thumb, small(values, 3), threshold=3)

    zeros = with_margins([[3, 0, 5], [0, 0, 6], [4, 7, 8]])
    thumb = frozenset({(0, 0), (0, 1), (1, 0), (1, 1)})
    assert attack(zeros, thumb)[(0, 0)] == (3, 3)

    for table in (values, zeros):
        sensitive = small(table, 4)
        hidden = suppress(table, sensitive, threshold=4)
        assert_safe(table, hidden, sensitive, 4)


def test_a_small_total_is_suppressed_and_protected() -> None:
    values = with_margins([[1, 0], [0, 2], [0, 0]])  # every line small, grand total 3
    sensitive = small(values, 5)
    hidden = suppress(values, sensitive, threshold=5)
    assert (3, 2) in hidden
    assert_safe(values, hidden, sensitive, 5)


def test_one_dimension_publishes_cells_and_the_total_only() -> None:
    """A one-column table: its row totals repeat the cells, so they are free."""
    values = with_margins([[7], [2], [9], [0]])
    free = {(i, 1) for i in range(5)}
    sensitive = small(values, 5, free)
    hidden = suppress(values, sensitive, threshold=5, free=free)
    assert hidden == {(1, 0), (0, 0)}  # the smallest partner, not the total
    assert_safe(values, hidden, sensitive, 5, free)


def test_a_cell_at_the_threshold_is_published_and_nothing_else_moves() -> None:
    values = with_margins([[5, 6], [7, 8]])
    assert suppress(values, small(values, 5), threshold=5) == frozenset()


def test_bad_tables_are_refused() -> None:
    with pytest.raises(ValueError, match="add up"):
        suppress([[1, 2], [1, 3]], (), threshold=3)
    with pytest.raises(ValueError, match="zero or more"):
        suppress([[-1, -1], [-1, -1]], (), threshold=3)


# Mostly small counts, with zeros, so that suppression has work to do.
_count = st.one_of(st.integers(0, 4), st.integers(0, 30))


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[list[int]], set[Pos], int]:
    rows = draw(st.integers(1, 4))
    cols = draw(st.integers(1, 4))
    cells = [[draw(_count) for _ in range(cols)] for _ in range(rows)]
    values = with_margins(cells)
    free: set[Pos] = set()
    if cols == 1:  # the layout of one dimension: row totals are not published
        free = {(i, 1) for i in range(rows + 1)}
    return values, free, draw(st.integers(2, 6))


@settings(max_examples=40, deadline=None)
@given(tables())
def test_no_suppressed_entry_is_recovered_from_the_totals(
    table: tuple[list[list[int]], set[Pos], int],
) -> None:
    values, free, threshold = table
    sensitive = small(values, threshold, free)
    hidden = suppress(values, sensitive, threshold=threshold, free=free)
    assert not hidden & free
    assert_safe(values, hidden, sensitive, threshold, free)
