"""Benchmark: echo and throughput of embedded-model debates.

Prints, per run and on average: copy_rate (share of turns after the first more
than half of whose word 5-grams were said before), distinct-2, completion
tokens per wall second of the whole debate, and that rate over the raw
llama-cpp decode rate measured in the same process around that debate.

Completion tokens are every token the model generated in the debate, as an
API's usage reports them: drafts redone for echoing included, the persona
openers a turn was started with excluded (the model was given those). The
stricter `kept` ratio counts only the tokens of the turns as saved.

    python -m bench.debate --runs 3 --turns 12

`--read-ahead both` runs every seed with and without the read-ahead lane in one
process, alternating which goes first, and prints the mean wall time of a debate
each way and their ratio (the machine's drift cancels out in the pairs).
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
from graphs.context import SourceSearch
from graphs.runner import new_show
from settings import Settings
from transcripts.index import PassageIndex
from transcripts.metrics import copy_rate, distinct_n


def raw_decode_rate(model: EmbeddedModel, tokens: int = 200) -> float:
    """Tokens/s of plain llama-cpp generation (prompt excluded) on the model's own llama
    thread, like every debate call: the better of decoding on all the model's threads
    and on the fewer it decodes with in a debate (the rest read ahead)."""
    import llama_cpp

    def measure(llm, threads: int) -> float:
        llama_cpp.llama_set_n_threads(llm._ctx.ctx, threads, model.n_threads)
        prompt = llm.tokenize(b"The future of money is")
        llm.reset()
        llm.eval(prompt[:-1])
        began = time.perf_counter()
        produced = 0
        for _token in llm.generate(prompt[-1:], temp=0.7, reset=False):
            produced += 1
            if produced >= tokens:
                break
        return produced / (time.perf_counter() - began)

    return max(
        statistics.median(
            model.call(lambda llm, t=threads: measure(llm, t), slot="__raw__") for _ in range(3)
        )
        for threads in sorted({model.decode_threads, model.n_threads})
    )


class WithoutReadAhead:
    """The model as it runs with no read-ahead lane: every attribute but `read_ahead`,
    so the graph makes no guess and replies decode on all the model's threads."""

    def __init__(self, inner: EmbeddedModel) -> None:
        self._inner = inner

    def __getattr__(self, name: str):  # noqa: ANN204  (any attribute of the model)
        if name == "read_ahead":
            raise AttributeError(name)
        return getattr(self._inner, name)


def generated_part(turn, panel) -> str:
    """The turn's text without the persona opener it was started with, if any (an opener
    may name the guest a question is put to: `$first`)."""
    persona = panel[turn.speaker_id]
    names = [p.name for p in panel.values()]
    for opener in [*persona.openers.get("en", []), *persona.summary_openers.get("en", [])]:
        for filled in {opener.replace("$first", name) for name in names}:
            if turn.text.startswith(filled):
                return turn.text[len(filled) :]
    return turn.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--policy", default="round-robin")
    parser.add_argument("--agenda", default="auto", choices=["auto", "model", "standard"])
    parser.add_argument("--show", action="store_true", help="print each debate's turns")
    parser.add_argument(
        "--read-ahead",
        default="on",
        choices=["on", "off", "both"],
        help="run with the read-ahead lane, without it, or each seed both ways (alternating)",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-debate-"))
    index = PassageIndex(work / "data")
    index.ensure_bundled()
    index.search("warm up", 1)
    search = SourceSearch(index)  # as `debate run` searches: with claims and the draft check
    model = EmbeddedModel()
    # The machine's speed drifts over a benchmark (here by up to ~15% within a minute), so
    # the raw rate is measured before the first debate and after each one, and each
    # debate is set against the mean of the two measured around it.
    raws = [raw_decode_rate(model)]
    rows = []
    runs = []
    schedule: list[tuple[int, str]] = []
    for seed in range(args.runs):
        if args.read_ahead == "both":
            pair = ["on", "off"] if seed % 2 == 0 else ["off", "on"]
            schedule += [(seed, mode) for mode in pair]
        else:
            schedule.append((seed, args.read_ahead))
    for seed, mode in schedule:
        settings = Settings(
            data_dir=work / "data",
            out_dir=work / "out",
            turns=args.turns,
            seed=seed,
            policy=args.policy,
            agenda=args.agenda,
        )
        with open_checkpointer(settings.data_dir) as saver:
            runner = new_show(
                settings,
                "Compute as the new currency",
                search=search,
                checkpointer=saver,
                model=model if mode == "on" else WithoutReadAhead(model),  # type: ignore[arg-type]
            )
            ahead_before = model.read_ahead_tokens
            began = time.perf_counter()
            discarded = 0
            for ev in runner.run():
                if isinstance(ev, events.TurnDiscarded):
                    discarded += 1
            wall = time.perf_counter() - began
        debate = runner.debate
        panel = {p.id: p for p in runner.panel}
        texts = [t.text for t in debate.turns]
        generated = sum(t.tokens_out for t in debate.turns)
        # Only tokens of the turns as kept count; discarded drafts are waste. A persona's
        # opener was given to the model, not generated by it: it does not count either.
        out_tokens = sum(model.count_tokens(generated_part(t, panel)) for t in debate.turns)
        ahead = model.read_ahead_tokens - ahead_before
        runs.append((debate, wall, out_tokens, generated, discarded, ahead, seed, mode))
        raws.append(raw_decode_rate(model))
    print(
        f"raw llama-cpp decode: {statistics.mean(raws):.1f} tokens/s on average "
        f"(before the first debate and after each: {', '.join(f'{r:.1f}' for r in raws)}; "
        f"the better of {model.decode_threads} and {model.n_threads} threads)"
    )
    for run, (debate, wall, out_tokens, generated, discarded, ahead, seed, mode) in enumerate(runs):
        texts = [t.text for t in debate.turns]
        rate = generated / wall
        raw = (raws[run] + raws[run + 1]) / 2
        rows.append(
            (copy_rate(texts), distinct_n(texts, 2), rate, rate / raw, out_tokens / wall / raw)
        )
        print(
            f"run {run} (seed {seed}, read-ahead {mode}): turns={len(texts)} "
            f"copy_rate={rows[-1][0]:.2f} "
            f"distinct-2={rows[-1][1]:.2f} completion_tokens={generated} kept={out_tokens} "
            f"wall={wall:.1f}s tokens/s={rate:.1f} raw={raw:.1f} ratio={rate / raw:.2f} "
            f"kept_ratio={rows[-1][4]:.2f} redrafts={discarded} "
            f"prompt_tokens={sum(t.tokens_in for t in debate.turns)} read_ahead={ahead} "
            f"agenda={debate.settings.agenda}"
        )
        if args.show:
            for t in debate.turns:
                print(f"  [{t.index} {t.speaker_id} {t.kind}] {t.text}")
    print(
        f"mean over {len(rows)} runs: copy_rate={statistics.mean(r[0] for r in rows):.2f} "
        f"distinct-2={statistics.mean(r[1] for r in rows):.2f} "
        f"tokens/s={statistics.mean(r[2] for r in rows):.1f} "
        f"ratio={statistics.mean(r[3] for r in rows):.2f} "
        f"kept_ratio={statistics.mean(r[4] for r in rows):.2f}"
    )
    if args.read_ahead == "both":
        walls = {m: [r[1] for r in runs if r[7] == m] for m in ("on", "off")}
        rates = {m: [r[3] / r[1] for r in runs if r[7] == m] for m in ("on", "off")}
        texts = {(r[6], r[7]): [t.text for t in r[0].turns] for r in runs}
        same = sum(texts[(s, "on")] == texts[(s, "off")] for s in range(args.runs))
        on, off = statistics.mean(walls["on"]), statistics.mean(walls["off"])
        print(
            f"read-ahead over {args.runs} seeds: wall per debate {on:.2f} s with it, "
            f"{off:.2f} s without (ratio with/without {on / off:.3f}; it saves "
            f"{(off - on) / off:.1%} of a debate's wall time); completion tokens/s "
            f"{statistics.mean(rates['on']):.1f} with, {statistics.mean(rates['off']):.1f} "
            f"without; the same texts both ways for {same} of {args.runs} seeds"
        )


if __name__ == "__main__":
    main()
