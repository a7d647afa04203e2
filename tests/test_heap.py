"""Long loops collect cyclic garbage less often, and put the collector back as it
was: after an error too, and only once the last of overlapping blocks ends."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from vault.heap import BULK_THRESHOLD, bulk


@pytest.fixture(autouse=True)
def _thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_a_block_raises_the_threshold_and_restores_it() -> None:
    with bulk():
        assert gc.get_threshold() == (BULK_THRESHOLD, 10, 10)
        assert gc.isenabled()
    assert gc.get_threshold() == (700, 10, 10)


def test_an_error_inside_restores_it() -> None:
    with pytest.raises(ValueError, match="inside"), bulk():
        raise ValueError("inside")
    assert gc.get_threshold() == (700, 10, 10)


def test_cycles_are_still_collected_inside() -> None:
    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    collected = threading.Event()
    with bulk():
        a, b = Node(), Node()
        a.other, b.other = b, a
        weakref.finalize(a, collected.set)
        del a, b
        kept: list[list[int]] = [
            [] for _ in range(2 * BULK_THRESHOLD)
        ]  # new containers, held: a pass runs
        assert collected.is_set()
        del kept


def test_overlapping_blocks_restore_once_the_last_ends() -> None:
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with bulk():
            entered.set()
            release.wait(60)

    thread = threading.Thread(target=other)
    thread.start()
    assert entered.wait(60)
    with bulk():
        assert gc.get_threshold()[0] == BULK_THRESHOLD
    # This thread's block ended first: the other one's still holds.
    assert gc.get_threshold()[0] == BULK_THRESHOLD
    release.set()
    thread.join()
    assert gc.get_threshold() == (700, 10, 10)


def test_a_decorated_function_runs_inside() -> None:
    @bulk()
    def work() -> int:
        return gc.get_threshold()[0]

    assert work() == BULK_THRESHOLD
    assert gc.get_threshold() == (700, 10, 10)
