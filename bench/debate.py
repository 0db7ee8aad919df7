"""Benchmark: echo and throughput of embedded-model debates.

Prints, per run and on average: copy_rate (share of turns after the first more
than half of whose word 5-grams were said before), distinct-2, completion
tokens per wall second of the whole debate, and that rate over the raw
llama-cpp decode rate measured in the same process.

    python -m bench.debate --runs 3 --turns 12
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from agents.llm.embedded import EmbeddedModel
from graphs import events
from graphs.checkpoint import open_checkpointer
from graphs.runner import new_show
from settings import Settings
from transcripts.index import PassageIndex
from transcripts.metrics import copy_rate, distinct_n


def raw_decode_rate(model: EmbeddedModel, tokens: int = 200) -> float:
    """Tokens/s of plain llama-cpp generation (prompt excluded): same model, same
    threads, run on the model's own llama thread like every debate call."""

    def measure(llm) -> float:
        prompt = llm.tokenize(b"The future of money is")
        llm.reset()
        llm.eval(prompt)
        began = time.perf_counter()
        produced = 0
        for _token in llm.generate(prompt, temp=0.7, reset=False):
            produced += 1
            if produced >= tokens:
                break
        return produced / (time.perf_counter() - began)

    return statistics.median(model.call(measure, slot="__raw__") for _ in range(3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--policy", default="round-robin")
    parser.add_argument("--show", action="store_true", help="print each debate's turns")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-debate-"))
    index = PassageIndex(work / "data")
    index.ensure_bundled()
    index.search("warm up", 1)
    model = EmbeddedModel()
    raw_before = raw_decode_rate(model)
    rows = []
    runs = []
    for run in range(args.runs):
        settings = Settings(
            data_dir=work / "data",
            out_dir=work / "out",
            turns=args.turns,
            seed=run,
            policy=args.policy,
        )
        with open_checkpointer(settings.data_dir) as saver:
            runner = new_show(
                settings,
                "Compute as the new currency",
                search=lambda q, k, s: index.search(q, k, sources=s),
                checkpointer=saver,
                model=model,
            )
            began = time.perf_counter()
            discarded = 0
            for ev in runner.run():
                if isinstance(ev, events.TurnDiscarded):
                    discarded += 1
            wall = time.perf_counter() - began
        debate = runner.debate
        texts = [t.text for t in debate.turns]
        generated = sum(t.tokens_out for t in debate.turns)
        # Only tokens of the turns as kept count; discarded drafts are waste.
        out_tokens = sum(model.count_tokens(t.text) for t in debate.turns)
        runs.append((debate, wall, out_tokens, generated, discarded))
    raw_after = raw_decode_rate(model)
    raw = (raw_before + raw_after) / 2
    print(
        f"raw llama-cpp decode: {raw:.1f} tokens/s (before {raw_before:.1f}, after "
        f"{raw_after:.1f}; {model.n_threads} threads)"
    )
    for run, (debate, wall, out_tokens, generated, discarded) in enumerate(runs):
        texts = [t.text for t in debate.turns]
        rate = out_tokens / wall
        rows.append((copy_rate(texts), distinct_n(texts, 2), rate, rate / raw))
        print(
            f"run {run}: turns={len(texts)} copy_rate={rows[-1][0]:.2f} "
            f"distinct-2={rows[-1][1]:.2f} kept_tokens={out_tokens} generated={generated} "
            f"wall={wall:.1f}s "
            f"tokens/s={rate:.1f} ratio={rate / raw:.2f} redrafts={discarded} "
            f"prompt_tokens={sum(t.tokens_in for t in debate.turns)}"
        )
        if args.show:
            for t in debate.turns:
                print(f"  [{t.index} {t.speaker_id} {t.kind}] {t.text}")
    print(
        f"mean over {len(rows)} runs: copy_rate={statistics.mean(r[0] for r in rows):.2f} "
        f"distinct-2={statistics.mean(r[1] for r in rows):.2f} "
        f"tokens/s={statistics.mean(r[2] for r in rows):.1f} "
        f"ratio={statistics.mean(r[3] for r in rows):.2f}"
    )


if __name__ == "__main__":
    main()
