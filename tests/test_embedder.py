"""Query batching: texts that threads ask for at about the same time share one engine call."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from transcripts.embedder import _Batcher


class Engine:
    """An engine call that records what it was given; the first call can be held."""

    def __init__(self, hold_first: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, texts: list[str]) -> list[str]:
        self.calls.append(list(texts))
        self.started.set()
        self.release.wait(10)
        return [f"<{t}>" for t in texts]


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.002)
    assert condition()


def test_a_text_asked_for_alone_is_encoded_at_once_without_the_window():
    engine = Engine()
    batches = _Batcher(engine, window_s=5.0)
    began = time.perf_counter()
    assert batches(["only"]) == ["<only>"]
    assert time.perf_counter() - began < 1.0  # the 5 s window was not waited
    assert engine.calls == [["only"]]


def test_texts_asked_for_while_a_batch_runs_share_the_next_call():
    engine = Engine(hold_first=True)
    batches = _Batcher(engine, window_s=0.5)
    with ThreadPoolExecutor(9) as pool:
        first = pool.submit(batches, ["a"])
        engine.started.wait(10)  # the first call holds the engine
        rest = [pool.submit(batches, [f"t{i}", f"u{i}"]) for i in range(8)]
        wait_for(lambda: len(batches._pending) == 8)
        engine.release.set()
        assert first.result(10) == ["<a>"]
        for i, future in enumerate(rest):
            assert future.result(10) == [f"<t{i}>", f"<u{i}>"]  # each its own, in order
    assert len(engine.calls) == 2
    assert sorted(engine.calls[1]) == sorted(t for i in range(8) for t in (f"t{i}", f"u{i}"))
    assert batches.counts == {"batches": 2, "texts": 17}


def test_a_batch_holds_at_most_most_texts_and_the_rest_follow():
    engine = Engine(hold_first=True)  # holds every call until released
    batches = _Batcher(engine, window_s=0.3, most=4)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(batches, ["a"])
        engine.started.wait(10)
        rest = [pool.submit(batches, [f"t{i}"]) for i in range(6)]
        wait_for(lambda: len(engine.calls) == 2)  # a leader took four after the window
        assert len(batches._pending) == 2
        engine.release.set()
        assert first.result(10) == ["<a>"]
        assert [f.result(10) for f in rest] == [[f"<t{i}>"] for i in range(6)]
    assert [len(c) for c in engine.calls] == [1, 4, 2]


def test_a_failed_call_fails_every_thread_of_its_batch_and_not_the_next():
    started, release = threading.Event(), threading.Event()
    calls: list[list[str]] = []

    def engine(texts: list[str]) -> list[str]:
        calls.append(list(texts))
        if len(calls) == 1:
            started.set()
            release.wait(10)
            return ["<a>"]
        if len(calls) == 2:
            raise RuntimeError("engine failed")
        return [f"<{t}>" for t in texts]

    batches = _Batcher(engine, window_s=0.5)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(batches, ["a"])
        started.wait(10)
        failing = [pool.submit(batches, [t]) for t in ("b", "c")]
        wait_for(lambda: len(batches._pending) == 2)
        release.set()
        assert first.result(10) == ["<a>"]
        for future in failing:
            with pytest.raises(RuntimeError, match="engine failed"):
                future.result(10)
    assert batches(["d"]) == ["<d>"]


def test_batching_off_makes_one_call_per_thread():
    engine = Engine()
    batches = _Batcher(engine, window_s=0.05)
    batches.on = False
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda t: batches([t]), ["a", "b", "c", "d"]))
    assert got == [["<a>"], ["<b>"], ["<c>"], ["<d>"]]
    assert sorted(engine.calls) == [["a"], ["b"], ["c"], ["d"]]


def test_the_embedders_dense_queries_are_batched_and_give_the_vectors_of_single_calls():
    """Through the real engine: gathered queries get the vectors they get one at a time."""
    from transcripts.embedder import E5Embedder

    embedder = E5Embedder(engines=1)
    embedder.CACHE = 0
    texts = [f"Who should own the world's compute? ({i})" for i in range(6)]
    alone = [embedder.query([t])[0] for t in texts]
    before = embedder.counts()["batches"]
    gate = threading.Barrier(len(texts))

    def ask(text: str) -> list[float]:
        gate.wait()
        return embedder.query([text])[0]

    with ThreadPoolExecutor(len(texts)) as pool:
        together = list(pool.map(ask, texts))
    assert embedder.counts()["batches"] - before < len(texts)  # some were gathered
    for a, b in zip(alone, together, strict=True):
        assert sum(x * y for x, y in zip(a, b, strict=True)) > 0.999  # same vector
