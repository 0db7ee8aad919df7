"""Benchmark: `debate eval` over debates of the embedded model.

Runs `--runs` debates on the bundled SmolLM2-135M (round-robin, English, the
show's question, seeds 0..runs-1), evaluates each as `debate eval` does, and
prints per debate and on average: grounding rate, citation validity, support,
persona distinctiveness (host and three panelists: chance is 0.25), copy_rate,
distinct-2. Distinctiveness is also given pooled: one leave-one-out classifier
over the turns of all the debates, which has more turns per speaker to learn
from than a single 12-turn debate.

    python -m bench.eval --runs 5 --turns 12
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from agents.llm.embedded import EmbeddedModel
from graphs.checkpoint import open_checkpointer
from graphs.runner import new_show
from settings import Settings
from transcripts.evaluate import distinctiveness, e5_embed, evaluate
from transcripts.index import PassageIndex
from transcripts.store import DebateStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--topic", default=None)
    args = parser.parse_args()
    from cli import DEFAULT_TOPIC

    work = Path(tempfile.mkdtemp(prefix="bench-eval-"))
    index = PassageIndex(work / "data")
    index.ensure_bundled()
    model = EmbeddedModel()
    rows = []
    texts: list[str] = []
    labels: list[str] = []
    for seed in range(args.runs):
        settings = Settings(
            data_dir=work / "data", out_dir=work / "debates", turns=args.turns, seed=seed
        )
        with open_checkpointer(settings.data_dir) as saver:
            runner = new_show(
                settings,
                args.topic or DEFAULT_TOPIC,
                search=lambda q, k, sources=None: index.search(q, k, sources=sources),
                checkpointer=saver,
                model=model,
            )
            for _ in runner.run():
                pass
        debate = DebateStore(settings.out_dir).load(runner.debate.id)
        result = evaluate(debate, e5_embed)
        rows.append(result)
        spoken = [t for t in debate.turns if t.kind != "interjection"]
        texts += [t.text for t in spoken]
        labels += [t.speaker_id for t in spoken]
        print(
            f"run {seed}: {len(debate.turns)} turns, grounding {result.grounding_rate:.2f}, "
            f"citation validity {result.citation_validity:.2f}, support {result.support:.2f} "
            f"({len(result.unsupported)} below threshold), distinctiveness "
            f"{result.persona_distinctiveness:.2f}, copy_rate {result.copy_rate:.2f}, "
            f"distinct-2 {result.distinct_2:.2f}",
            flush=True,
        )

    def mean(name: str) -> float:
        return statistics.fmean(getattr(r, name) for r in rows)

    print(
        f"mean of {len(rows)}: grounding {mean('grounding_rate'):.2f}, citation validity "
        f"{mean('citation_validity'):.2f}, support {mean('support'):.2f}, distinctiveness "
        f"{mean('persona_distinctiveness'):.2f}, copy_rate {mean('copy_rate'):.2f}, "
        f"distinct-2 {mean('distinct_2'):.2f}"
    )
    pooled = distinctiveness(texts, labels, e5_embed)
    print(
        f"distinctiveness pooled over {len(texts)} turns of {len(rows)} debates, "
        f"{len(set(labels))} speakers: {pooled:.2f} (chance {1 / len(set(labels)):.2f})"
    )


if __name__ == "__main__":
    main()
