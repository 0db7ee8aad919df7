"""Benchmark: checkpoint cost on SQLite, and the resume time of a 50-turn debate.

A scripted zero-latency model runs a 50-turn show checkpointed to SQLite; the
saver's writes are timed. A second, steerable show is stopped before its
closing turn and resumed: the time from resuming to the next turn starting is
printed.

    python -m bench.checkpoint --turns 50
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.overhead import PASSAGES, zero_latency_model
from graphs import events
from graphs.checkpoint import open_checkpointer
from graphs.runner import new_show, resume_show
from settings import Settings


class Timed:
    """Wraps a checkpointer's write methods and records their durations."""

    def __init__(self, saver) -> None:
        self.samples: list[float] = []
        for name in ("put", "put_writes"):
            original = getattr(saver, name)

            def timed(*a, _original=original, **kw):
                began = time.perf_counter()
                try:
                    return _original(*a, **kw)
                finally:
                    self.samples.append(time.perf_counter() - began)

            setattr(saver, name, timed)


def search(query, k, sources=None):
    return PASSAGES[:k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    per_turn, resumes, p99 = [], [], []
    for run in range(args.runs):
        work = Path(tempfile.mkdtemp(prefix="bench-ckpt-"))
        settings = Settings(data_dir=work / "data", out_dir=work / "out", turns=args.turns)
        with open_checkpointer(settings.data_dir) as saver:
            timed = Timed(saver)
            full = new_show(
                settings,
                "Compute as the new currency",
                search=search,
                checkpointer=saver,
                model=zero_latency_model(),
            )
            for _ in full.run():
                pass
            per_turn.append(sum(timed.samples) / len(full.debate.turns) * 1000)
            ordered = sorted(timed.samples)
            p99.append(ordered[int(0.99 * (len(ordered) - 1))] * 1000)
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
        with open_checkpointer(settings.data_dir) as saver:
            resumed = resume_show(
                settings,
                runner.debate.id,
                search=search,
                checkpointer=saver,
                model=zero_latency_model(),
            )
            for ev in resumed.run():
                if isinstance(ev, events.TurnStarted):
                    resumes.append((time.perf_counter() - began) * 1000)
                    break
        print(
            f"run {run}: checkpoint writes {per_turn[-1]:.2f} ms per turn "
            f"(p99 write {p99[-1]:.2f} ms); resume after {done} turns to the next turn "
            f"{resumes[-1]:.1f} ms"
        )
    print(
        f"median: SQLite checkpoint time {statistics.median(per_turn):.2f} ms per turn, "
        f"p99 write {statistics.median(p99):.2f} ms, resume of a {args.turns}-turn debate "
        f"{statistics.median(resumes):.1f} ms"
    )


if __name__ == "__main__":
    main()
