"""Benchmark: a produced show on the embedded model (host-directed, 3 segments, 15 turns).

Prints the share of host-directed picks that needed the deterministic fallback,
copy_rate and distinct-2, and each panelist's share of the panel's turns.

    python -m bench.show --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections import Counter
from pathlib import Path

from agents.llm.embedded import EmbeddedModel
from core.settings import Settings
from core.text import copy_rate, distinct_n
from graphs.checkpoint import open_checkpointer
from graphs.runner import new_show
from transcripts.index import PassageIndex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--turns", type=int, default=15)
    parser.add_argument("--policy", default="host-directed")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-show-"))
    index = PassageIndex(work / "data")
    index.ensure_bundled()
    model = EmbeddedModel()
    totals: Counter[str] = Counter()
    picks = fallbacks = 0
    copies, distinct = [], []
    for run in range(args.runs):
        settings = Settings(
            data_dir=work / "data",
            out_dir=work / "out",
            turns=args.turns,
            policy=args.policy,
            seed=run,
        )
        with open_checkpointer(settings.data_dir) as saver:
            runner = new_show(
                settings,
                "Compute as the new currency",
                search=lambda q, k, s: index.search(q, k, sources=s),
                checkpointer=saver,
                model=model,
            )
            for _ in runner.run():
                pass
        d = runner.debate
        panel = Counter(t.speaker_id for t in d.turns if t.speaker_id != "host")
        totals.update(panel)
        picks += d.metrics.model_picks
        fallbacks += d.metrics.fallback_picks
        texts = [t.text for t in d.turns]
        copies.append(copy_rate(texts))
        distinct.append(distinct_n(texts, 2))
        share = {k: round(v / sum(panel.values()), 2) for k, v in sorted(panel.items())}
        print(
            f"run {run}: segments={len(d.agenda)} turns={len(d.turns)} "
            f"picks={d.metrics.model_picks} fallbacks={d.metrics.fallback_picks} "
            f"copy_rate={copies[-1]:.2f} distinct-2={distinct[-1]:.2f} share={share}"
        )
    n = sum(totals.values())
    print(
        f"over {args.runs} runs: fallback share={fallbacks / max(picks, 1):.2f} "
        f"({fallbacks}/{picks}) copy_rate={statistics.mean(copies):.2f} "
        f"distinct-2={statistics.mean(distinct):.2f} speaking share="
        + ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(totals.items()))
    )


if __name__ == "__main__":
    main()
