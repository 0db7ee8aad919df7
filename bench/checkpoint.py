"""Benchmark: checkpoint write latency and the resume time of a 50-turn debate.

A scripted zero-latency model runs a 50-turn show checkpointed to SQLite (the
default) or to PostgreSQL (`--checkpoint-url postgresql://...`, or the
DEBATE_CHECKPOINT_URL environment variable); the saver's writes (`put` and
`put_writes`) are timed one by one, and summed per turn (the writes from one
turn's start to the next one's). A second, steerable show is stopped before its
closing turn and resumed with a new checkpointer, as a new process would: the
time from opening that checkpointer to the next turn starting is printed.

    python -m bench.checkpoint --turns 50
    python -m bench.checkpoint --checkpoint-url postgresql://USER:PASSWORD@127.0.0.1:5432/DB
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from bench.overhead import PASSAGES, zero_latency_model
from core.settings import Settings
from graphs import events
from graphs.checkpoint import mask_url, open_checkpointer
from graphs.runner import new_show, resume_show


class Timed:
    """Wraps a checkpointer's write methods; records each write's duration and its turn."""

    def __init__(self, saver) -> None:
        self.samples: list[float] = []
        self.per_turn: dict[int, float] = defaultdict(float)
        self.turn = -1  # the turn in progress (-1: before the first)
        self._lock = threading.Lock()
        for name in ("put", "put_writes"):
            original = getattr(saver, name)

            def timed(*a, _original=original, **kw):
                turn = self.turn
                began = time.perf_counter()
                try:
                    return _original(*a, **kw)
                finally:
                    spent = time.perf_counter() - began
                    with self._lock:
                        self.samples.append(spent)
                        self.per_turn[turn] += spent

            setattr(saver, name, timed)


def search(query, k, sources=None):
    return PASSAGES[:k]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[round(q * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--checkpoint-url",
        default=os.environ.get("DEBATE_CHECKPOINT_URL"),
        help="postgresql:// URL (default: SQLite in a temporary folder)",
    )
    args = parser.parse_args()
    url = args.checkpoint_url or None
    store = f"PostgreSQL ({mask_url(url)})" if url else "SQLite"
    print(f"checkpoints: {store}; {args.runs} runs of {args.turns} turns")
    figures: dict[str, list[float]] = defaultdict(list)
    for run in range(args.runs):
        work = Path(tempfile.mkdtemp(prefix="bench-ckpt-"))
        settings = Settings(data_dir=work / "data", out_dir=work / "out", turns=args.turns)
        with open_checkpointer(settings.data_dir, url) as saver:
            timed = Timed(saver)
            full = new_show(
                settings,
                "Compute as the new currency",
                search=search,
                checkpointer=saver,
                model=zero_latency_model(),
            )
            for ev in full.run():
                if isinstance(ev, events.TurnStarted):
                    timed.turn = ev.index
            writes = [s * 1000 for s in timed.samples]
            turns = [timed.per_turn[i] * 1000 for i in range(len(full.debate.turns))]
            runner = new_show(
                settings,
                "Compute as the new currency",
                search=search,
                checkpointer=saver,
                model=zero_latency_model(),
                steerable=True,
            )
            for ev in runner.run():
                if isinstance(ev, events.TurnFinished) and ev.turn.index == args.turns - 2:
                    runner.stop()
            done = len(runner.debate.turns)
        began = time.perf_counter()
        with open_checkpointer(settings.data_dir, url) as saver:
            resumed = resume_show(
                settings,
                runner.debate.id,
                search=search,
                checkpointer=saver,
                model=zero_latency_model(),
            )
            for ev in resumed.run():
                if isinstance(ev, events.TurnStarted):
                    resume_ms = (time.perf_counter() - began) * 1000
                    break
        run_figures = {
            "write_p50": pct(writes, 0.50),
            "write_p99": pct(writes, 0.99),
            "turn_p50": pct(turns, 0.50),
            "turn_p99": pct(turns, 0.99),
            "turn_mean": sum(writes) / len(turns),
            "resume": resume_ms,
        }
        for name, value in run_figures.items():
            figures[name].append(value)
        print(
            f"run {run}: {len(writes)} writes, p50 {run_figures['write_p50']:.2f} ms, "
            f"p99 {run_figures['write_p99']:.2f} ms; per turn p50 {run_figures['turn_p50']:.2f} "
            f"ms, p99 {run_figures['turn_p99']:.2f} ms (mean {run_figures['turn_mean']:.2f} ms); "
            f"resume after {done} turns to the next turn {resume_ms:.1f} ms"
        )
    m = {name: statistics.median(values) for name, values in figures.items()}
    print(
        f"median: {store.split(' ')[0]} checkpoint write p50 {m['write_p50']:.2f} ms, "
        f"p99 {m['write_p99']:.2f} ms; per turn p50 {m['turn_p50']:.2f} ms, "
        f"p99 {m['turn_p99']:.2f} ms (mean {m['turn_mean']:.2f} ms); resume of a "
        f"{args.turns}-turn debate {m['resume']:.1f} ms"
    )


if __name__ == "__main__":
    main()
