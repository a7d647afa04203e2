"""Cell suppression: which counts of a table with margins may be published.

A table here is a grid of ``R`` rows and ``C`` columns of non-negative counts with
its margins, held as one ``(R + 1) x (C + 1)`` array: row ``R`` holds the column
totals, column ``C`` the row totals, and ``[R][C]`` the grand total. Every entry is
*published*, *suppressed* (shown as hidden), or *free*: not published at all,
because the layout does not show it (the row totals of a one-column table would
only repeat its cells).

Invariants kept by :func:`suppress`:

* **Primary.** Every *sensitive* entry (the caller says which: those counting
  fewer people than the threshold) is suppressed.
* **Protected.** From everything published — the other cells, the row and column
  totals, the grand total — and the fact that counts are whole numbers of zero or
  more, an attacker can neither pin any suppressed entry to one value nor show
  that a sensitive entry is below the threshold: its largest value consistent with
  what was published is at least ``max(threshold, value + 1)``.

Why not the usual rule of thumb, "no row or column with exactly one suppressed
cell, repeated until nothing changes"? It is not enough. A cell that joins two
blocks of suppressed cells can be had back from the sum of the rows of one block
minus the sum of its columns, although every row and column holds two or more
suppressed cells; and a suppressed zero cannot go below zero, so a small cell
whose partners are zeros is given back by a total. Both are tests in
``tests/test_suppress.py``.

How: published tables are additive, so a table is a network. Rows and columns
are nodes; an entry joins its row's node to its column's; each node's entries sum
to zero once margins count negatively. Changing unknown entries while keeping
every published number is then a *circulation* over the unknown entries, each of
which can grow without bound and shrink at most by its value. An entry can be
moved iff a cycle passes through it, and a sensitive entry's largest value is its
own plus the maximum flow that can come back round to it. The check is exact
(the constraint matrix of a network is totally unimodular, so whole numbers lose
nothing) and needs no solver. Where a sensitive entry is short of protection, the
cheapest path of published entries that closes the missing flow is suppressed too
(small inner cells first; margins, and the grand total most, are dear). Adding a
suppression never takes protection away from another entry, so one pass over
the sensitive entries ends protected; :func:`check` proves it again before
anything is returned.

This module does no I/O and knows nothing of records: tests drive it with plain
numbers, and an independent attacker (a linear program) tries to recover every
suppressed entry.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import Final

from vault.errors import VaultError

__all__ = ["Pos", "SuppressionError", "check", "suppress"]

Pos = tuple[int, int]
_INF: Final = float("inf")
# What suppressing a published entry costs, by where it stands: a row or column
# total hides what a whole line adds up to, the grand total all of it.
_MARGIN_WEIGHT: Final = 4
_TOTAL_WEIGHT: Final = 16


class SuppressionError(VaultError):
    """A table whose suppression could not be proven safe: nothing is published."""


# An arc of the network: (entry number, the node it leads to, whether it runs the
# way its entry grows, the entry's value).
_Arc = tuple[int, int, bool, int]
_Path = list[tuple[int, _Arc]]


class _Network:
    """A table with margins as a network of row and column nodes.

    Node ``i`` (``0 <= i <= R``) is row ``i`` (``R``: the row of column totals);
    node ``R + 1 + j`` is column ``j`` (``C``: the column of row totals). The
    entry ``(i, j)``, numbered ``i * (C + 1) + j``, joins them. It counts
    positively in both of its nodes' sums when it is an inner cell or the grand
    total, negatively when it is a margin; growing it sends flow from row to
    column in the first case and the other way in the second. Growing has no
    limit; shrinking stops at zero.
    """

    def __init__(self, values: Sequence[Sequence[int]]) -> None:
        self.rows = len(values) - 1
        self.cols = len(values[0]) - 1 if values else -1
        if self.rows < 0 or self.cols < 0 or any(len(r) != self.cols + 1 for r in values):
            raise ValueError("a table with margins is a non-empty rectangle")
        self.values = [list(r) for r in values]
        for row in self.values:
            for v in row:
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise ValueError("counts are whole numbers of zero or more")
        r, c = self.rows, self.cols
        for i in range(r + 1):
            if sum(self.values[i][:c]) != self.values[i][c]:
                raise ValueError(f"row {i} does not add up to its total")
        for j in range(c + 1):
            if sum(self.values[i][j] for i in range(r)) != self.values[r][j]:
                raise ValueError(f"column {j} does not add up to its total")
        self.nodes = r + c + 2
        # Both arcs of every entry, by the node they leave; and apart, the arcs of
        # entries not published (suppressed or free), which most searches walk.
        self.arcs: list[list[_Arc]] = [[] for _ in range(self.nodes)]
        for i in range(r + 1):
            for j in range(c + 1):
                tail, head = self.grows((i, j))
                eid, value = self.eid((i, j)), self.values[i][j]
                self.arcs[tail].append((eid, head, True, value))
                self.arcs[head].append((eid, tail, False, value))
        self.unknown = bytearray((r + 1) * (c + 1))
        self.unknown_arcs: list[list[_Arc]] = [[] for _ in range(self.nodes)]

    def eid(self, pos: Pos) -> int:
        return pos[0] * (self.cols + 1) + pos[1]

    def pos(self, eid: int) -> Pos:
        return divmod(eid, self.cols + 1)

    def hide(self, positions: Iterable[Pos]) -> None:
        """Count ``positions`` as not published from now on."""
        for pos in positions:
            eid = self.eid(pos)
            if self.unknown[eid]:
                continue
            self.unknown[eid] = 1
            for node in self.grows(pos):
                self.unknown_arcs[node].extend(a for a in self.arcs[node] if a[0] == eid)

    def grows(self, pos: Pos) -> tuple[int, int]:
        """The arc along which ``pos`` grows: (from node, to node)."""
        i, j = pos
        row, col = i, self.rows + 1 + j
        inner_or_total = (i < self.rows) == (j < self.cols)
        return (row, col) if inner_or_total else (col, row)

    def weight(self, eid: int) -> int:
        i, j = self.pos(eid)
        margins = (i == self.rows) + (j == self.cols)
        factor = (1, _MARGIN_WEIGHT, _TOTAL_WEIGHT)[margins]
        return factor * (self.values[i][j] + 1)

    @staticmethod
    def room(arc: _Arc, moved: dict[int, int]) -> float:
        """What may still go along ``arc``, less what was pushed already."""
        return _INF if arc[2] else arc[3] + moved.get(arc[0], 0)

    @staticmethod
    def push(path: _Path, amount: float, moved: dict[int, int]) -> None:
        """Send ``amount`` round ``path`` (pairs of node left and arc taken)."""
        step = 1 if amount == _INF else int(amount)
        for _node, (eid, _other, along, _value) in path:
            moved[eid] = moved.get(eid, 0) + (step if along else -step)

    def flow(self, source: int, sink: int, skip: int, need: float) -> tuple[float, dict[int, int]]:
        """The flow from ``source`` to ``sink`` over unknown entries but ``skip``,
        up to ``need`` (augmenting paths, fewest arcs first)."""
        moved: dict[int, int] = {}
        total: float = 0
        while total < need:
            path = self._path(source, sink, skip, moved)
            if path is None:
                break
            room = min(self.room(arc, moved) for _n, arc in path)
            if room == _INF:
                return _INF, moved
            self.push(path, room, moved)
            total += room
        return total, moved

    def _path(self, source: int, sink: int, skip: int, moved: dict[int, int]) -> _Path | None:
        # Breadth first from the source until a node with an arc into the sink is
        # found (the sink has few entries, the table many): this loop is the cost
        # of suppression, so it stays plain.
        get = moved.get
        into: dict[int, _Arc] = {}
        for eid, other, along, value in self.unknown_arcs[sink]:
            # The same entry, crossed the other way: from ``other`` into the sink.
            if eid != skip and (not along or value + get(eid, 0) > 0):
                into.setdefault(other, (eid, sink, not along, value))
        if not into:
            return None
        if source in into:
            return [(source, into[source])]
        back: list[tuple[int, _Arc] | None] = [None] * self.nodes
        seen = bytearray(self.nodes)
        seen[source] = 1
        queue = [source]
        for node in queue:
            for arc in self.unknown_arcs[node]:
                eid, other, along, value = arc
                if seen[other] or eid == skip or (not along and value + get(eid, 0) <= 0):
                    continue
                seen[other] = 1
                back[other] = (node, arc)
                last = into.get(other)
                if last is not None:
                    return [*self._trace(back, source, other), (other, last)]
                queue.append(other)
        return None

    @staticmethod
    def _trace(back: list[tuple[int, _Arc] | None], source: int, sink: int) -> _Path:
        path: _Path = []
        node = sink
        while node != source:
            step = back[node]
            assert step is not None
            path.append(step)
            node = step[0]
        path.reverse()
        return path

    def cheapest(self, source: int, sink: int, skip: int, moved: dict[int, int]) -> _Path | None:
        """The path from ``source`` to ``sink`` whose published entries cost least
        to suppress (unknown entries cost nothing), with room on every arc."""
        best = [_INF] * self.nodes
        back: list[tuple[int, _Arc] | None] = [None] * self.nodes
        best[source] = 0
        heap: list[tuple[float, int]] = [(0, source)]
        while heap:
            cost, node = heapq.heappop(heap)
            if node == sink:
                return self._trace(back, source, sink)
            if cost > best[node]:
                continue
            for arc in self.arcs[node]:
                eid, other, along, value = arc
                if eid == skip or (not along and value + moved.get(eid, 0) <= 0):
                    continue
                step = cost + (0 if self.unknown[eid] else self.weight(eid))
                if step < best[other]:
                    best[other] = step
                    back[other] = (node, arc)
                    heapq.heappush(heap, (step, other))
        return None

    def need(self, pos: Pos, threshold: int) -> int:
        i, j = pos
        return max(1, threshold - self.values[i][j])


def suppress(
    values: Sequence[Sequence[int]],
    sensitive: Iterable[Pos],
    *,
    threshold: int,
    free: Iterable[Pos] = (),
) -> frozenset[Pos]:
    """The entries to suppress: every sensitive one, and enough others that none
    can be recovered from what is published (see the module's invariants).

    ``values`` is the table with its margins, which must add up; ``free`` entries
    are not published at all and are never returned.
    """
    if threshold < 1:
        raise ValueError("the threshold is 1 or more")
    net = _Network(values)
    free_set = set(free)
    primary = sorted(set(sensitive) - free_set, key=lambda p: (net.values[p[0]][p[1]], p))
    hidden = set(primary)
    net.hide(free_set)
    net.hide(hidden)
    for pos in primary:
        tail, head = net.grows(pos)
        eid = net.eid(pos)
        need = net.need(pos, threshold)
        got, moved = net.flow(head, tail, eid, need)
        while got < need:
            path = net.cheapest(head, tail, eid, moved)
            if path is None:  # pragma: no cover - suppressing everything always closes a cycle
                raise SuppressionError("statistics: a cell could not be protected")
            added = {net.pos(arc[0]) for _n, arc in path if not net.unknown[arc[0]]}
            hidden |= added
            net.hide(added)
            room = min(net.room(arc, moved) for _n, arc in path)
            if room == _INF:
                break
            net.push(path, room, moved)
            got += room
    result = frozenset(hidden)
    check(values, result, primary, threshold=threshold, free=free_set)
    return result


def check(
    values: Sequence[Sequence[int]],
    suppressed: Iterable[Pos],
    sensitive: Iterable[Pos],
    *,
    threshold: int,
    free: Iterable[Pos] = (),
) -> None:
    """Raise :class:`SuppressionError` unless every sensitive entry is suppressed
    and protected, and no suppressed entry is pinned to one value."""
    net = _Network(values)
    hidden = set(suppressed)
    net.hide(hidden)
    net.hide(free)
    sensitive = set(sensitive)
    for pos in sensitive:
        if not net.unknown[net.eid(pos)]:
            raise SuppressionError("statistics: a small cell would be published")
        tail, head = net.grows(pos)
        need = net.need(pos, threshold)
        if net.flow(head, tail, net.eid(pos), need)[0] < need:
            raise SuppressionError("statistics: a small cell could be bounded below the threshold")
    # A sensitive entry was just shown to grow; the others must move at all.
    for pos in hidden - sensitive:
        tail, head = net.grows(pos)
        eid = net.eid(pos)
        # It can grow if flow comes back round from its head, shrink if from its tail.
        if net.flow(head, tail, eid, 1)[0] < 1 and not (
            values[pos[0]][pos[1]] > 0 and net.flow(tail, head, eid, 1)[0] >= 1
        ):
            raise SuppressionError("statistics: a suppressed cell could be recovered")
