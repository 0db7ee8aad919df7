"""Benchmark: orchestration overhead per turn, with a zero-latency scripted model and
a fixed retrieval result (so model and retrieval time are excluded).

Prints ms per turn for the whole graph (select, retrieve, speak, checkpoint after
every node) with an in-memory checkpointer and with SQLite.

    python -m bench.overhead --turns 50 --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver

from agents.llm.scripted import ScriptedModel
from core.models import Passage
from core.settings import Settings
from graphs.checkpoint import open_checkpointer, serializer
from graphs.runner import new_show

PASSAGES = [
    Passage(
        source_id="panel",
        chunk_id=f"panel:{i}-{i}:x",
        line_start=i,
        line_end=i,
        text="計算資源こそが新しい通貨になる。",
        gloss="Compute is the new currency.",
    )
    for i in (3, 10)
]


def zero_latency_model() -> ScriptedModel:
    n = {"i": 0}

    def respond(_messages) -> str:
        n["i"] += 1
        return f"Point {n['i']} on chips {n['i'] * 3}, energy {n['i'] * 7} and wages {n['i']}."

    return ScriptedModel(responder=respond)


def one_run(turns: int, saver, work: Path) -> float:
    # The standard agenda: the zero-latency model's reply is no plan, and the plan is made
    # once per show, not per turn.
    settings = Settings(data_dir=work, out_dir=work / "out", turns=turns, agenda="standard")
    runner = new_show(
        settings,
        "Compute as the new currency",
        search=lambda q, k, s: PASSAGES[:k],
        checkpointer=saver,
        model=zero_latency_model(),
    )
    began = time.perf_counter()
    for _ in runner.run():
        pass
    elapsed = time.perf_counter() - began
    assert len(runner.debate.turns) == turns
    return elapsed / turns * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    one_run(12, InMemorySaver(serde=serializer()), work)  # warm imports and caches
    for label in ("memory", "sqlite"):
        samples = []
        for _ in range(args.runs):
            if label == "memory":
                samples.append(one_run(args.turns, InMemorySaver(serde=serializer()), work))
            else:
                with open_checkpointer(work / f"db{len(samples)}") as saver:
                    samples.append(one_run(args.turns, saver, work))
        print(
            f"{label:>6} checkpointer: {statistics.median(samples):.2f} ms/turn median "
            f"(min {min(samples):.2f}, max {max(samples):.2f}) over {args.runs} runs "
            f"of {args.turns} turns; includes saving the debate JSON after each turn"
        )


if __name__ == "__main__":
    main()
