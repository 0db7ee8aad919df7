"""Benchmark: the quality measures of `debate eval`, on labelled turns and on debates.

1. On the labelled turns of `tests/data/attribution_turns.jsonl` (faithful turns that
   argue from their cited lines of the bundled show, and fluent on-topic turns that do
   not): the separation (AUC) of each measure -- the former support (e5 cosine of a
   turn and its cited lines' gloss), the overlap and the search rank of the cited lines
   alone, and the shipped attribution score -- and the share of each class on the wrong
   side of each shipped rule (support >= 0.80; score >= threshold with nothing invented),
   for the turns the threshold was chosen on (split "tune"), the others ("check"), and
   all. Cheap: one index and a search per turn.
2. On debates of the embedded model (round-robin, English, the show's question, seeds
   0..runs-1), or on saved debates (`--saved DIR`): per debate and on average, the
   attributable share and the invented share of panelist turns, beside the form figures
   (grounding, citation validity, persona distinctiveness, copy_rate, distinct-2).
   Distinctiveness is also given pooled over all the debates' turns.

    python -m bench.eval --labelled-only
    python -m bench.eval --runs 3 --turns 12
    python -m bench.eval --saved debates
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.models import Debate
from episodes.evaluate import distinctiveness, evaluate
from graphs.session import e5_embed
from transcripts.attribution import Attributor, load_labelled, persona_texts
from transcripts.index import PassageIndex

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "attribution_turns.jsonl"
OLD_SUPPORT_THRESHOLD = 0.80  # the former `debate eval` flag


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties half)."""
    if not positive or not negative:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


def labelled(index: PassageIndex) -> None:
    from agents.personas import load_personas

    rows = load_labelled(LABELLED)
    attributor = Attributor(index)
    cards = persona_texts(load_personas().values())
    cited = [attributor.cited_text(r["citations"], gloss_only=True) or "" for r in rows]
    a = np.asarray(e5_embed([r["text"] for r in rows]), dtype=float)
    b = np.asarray(e5_embed(cited), dtype=float)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    for r, x, y in zip(rows, a, b, strict=True):
        r["support"] = float(x @ y)
        r["verdict"] = attributor.judge(
            r["text"], r["citations"], allowed=[r["question"], *cards], question=r["question"]
        )
    good = sum(r["label"] == "faithful" for r in rows)
    print(
        f"labelled turns: {len(rows)} ({good} faithful, {len(rows) - good} unfaithful: "
        + ", ".join(
            f"{k} {sum(r['kind'] == k for r in rows)}"
            for k in sorted({r["kind"] for r in rows if r["label"] != "faithful"})
        )
        + f"); attribution threshold {attributor.threshold:.2f}, rank weight "
        f"{attributor.rank_weight:.2f}, k {attributor.k}"
    )
    measures = {
        "support (e5 cosine)": lambda r: r["support"],
        "overlap alone": lambda r: r["verdict"].overlap,
        "rank alone (1/rank)": lambda r: 1 / r["verdict"].rank if r["verdict"].rank else 0.0,
        "attribution score": lambda r: r["verdict"].score,
    }
    rules = {
        "support >= 0.80": lambda r: r["support"] >= OLD_SUPPORT_THRESHOLD,
        "attributable (shipped)": lambda r: r["verdict"].attributable,
    }
    for split in ("tune", "check", "all"):
        part = [r for r in rows if split == "all" or r["split"] == split]
        pos = [r for r in part if r["label"] == "faithful"]
        neg = [r for r in part if r["label"] != "faithful"]
        print(f"  {split} ({len(pos)} faithful, {len(neg)} unfaithful)")
        for name, f in measures.items():
            good, bad = sorted(f(r) for r in pos), sorted(f(r) for r in neg)
            print(
                f"    AUC {name:<22} {auc(good, bad):.3f}  (faithful min {good[0]:.3f}, "
                f"median {statistics.median(good):.3f}; unfaithful median "
                f"{statistics.median(bad):.3f}, max {bad[-1]:.3f})"
            )
        for name, ok in rules.items():
            missed = sum(not ok(r) for r in pos) / len(pos)
            passed = sum(bool(ok(r)) for r in neg) / len(neg)
            print(f"    {name:<26} faithful failed {missed:.2f}, unfaithful passed {passed:.2f}")
    wrong = [
        r
        for r in rows
        if r["verdict"].attributable != (r["label"] == "faithful")  # shipped rule
    ]
    for r in wrong:
        v = r["verdict"]
        print(
            f"  wrong side: {r['id']} ({r['kind']}) score {v.score:.2f} rank {v.rank} "
            f"invented {list(v.invented)}"
        )


def debates(debates_: list[Debate], index: PassageIndex) -> None:
    attributor = Attributor(index)
    rows = []
    texts: list[str] = []
    labels: list[str] = []
    for debate in debates_:
        result = evaluate(debate, e5_embed, attributor)
        rows.append(result)
        judged = [c for c in result.turns if c.judged]
        spoken = [t for t in debate.turns if t.kind != "interjection"]
        texts += [t.text for t in spoken]
        labels += [t.speaker_id for t in spoken]
        print(
            f"debate {debate.id} (seed {debate.settings.seed}): {len(judged)} panelist turns, "
            f"attributable {result.attributable_share:.2f}, invented {result.invented_share:.2f}"
            f" · grounding {result.grounding_rate:.2f}, citation validity "
            f"{result.citation_validity:.2f}, distinctiveness "
            f"{result.persona_distinctiveness:.2f}, copy_rate {result.copy_rate:.2f}, "
            f"distinct-2 {result.distinct_2:.2f}",
            flush=True,
        )
        for c in judged:
            print(
                f"  #{c.turn} {c.speaker_id}: {'pass' if c.attributable else 'fail'} "
                f"score {c.score:.2f} rank {c.rank} invented {c.invented}"
            )

    def mean(name: str) -> float:
        return statistics.fmean(getattr(r, name) for r in rows)

    print(
        f"mean of {len(rows)}: attributable {mean('attributable_share'):.2f}, invented "
        f"{mean('invented_share'):.2f}, grounding {mean('grounding_rate'):.2f}, citation "
        f"validity {mean('citation_validity'):.2f}, distinctiveness "
        f"{mean('persona_distinctiveness'):.2f}, copy_rate {mean('copy_rate'):.2f}, "
        f"distinct-2 {mean('distinct_2'):.2f}"
    )
    if len(set(labels)) > 1:
        pooled = distinctiveness(texts, labels, e5_embed)
        print(
            f"distinctiveness pooled over {len(texts)} turns of {len(rows)} debates, "
            f"{len(set(labels))} speakers: {pooled:.2f} (chance {1 / len(set(labels)):.2f})"
        )


def run_debates(work: Path, index: PassageIndex, runs: int, turns: int, topic: str | None):
    from agents.llm.embedded import EmbeddedModel
    from cli import DEFAULT_TOPIC
    from core.settings import Settings
    from episodes.store import DebateStore
    from graphs.checkpoint import open_checkpointer
    from graphs.runner import new_show

    model = EmbeddedModel()
    out = []
    for seed in range(runs):
        settings = Settings(
            data_dir=work / "data", out_dir=work / "debates", turns=turns, seed=seed
        )
        with open_checkpointer(settings.data_dir) as saver:
            runner = new_show(
                settings,
                topic or DEFAULT_TOPIC,
                search=lambda q, k, sources=None: index.search(q, k, sources=sources),
                checkpointer=saver,
                model=model,
            )
            for _ in runner.run():
                pass
        out.append(DebateStore(settings.out_dir).load(runner.debate.id))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="debates to run (default 3)")
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--topic", default=None)
    parser.add_argument("--saved", type=Path, help="evaluate the debates saved in this folder")
    parser.add_argument("--labelled-only", action="store_true", help="skip the debates")
    parser.add_argument("--data-dir", type=Path, help="an index to reuse (default: a new one)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-eval-"))
    index = PassageIndex(args.data_dir or work / "data")
    index.ensure_bundled()
    labelled(index)
    if args.labelled_only:
        return
    if args.saved:
        from episodes.store import DebateStore

        store = DebateStore(args.saved)
        found = [store.load(str(p)) for p in sorted(args.saved.glob("*.json"))]
    else:
        found = run_debates(work, index, args.runs, args.turns, args.topic)
    debates(found, index)


if __name__ == "__main__":
    main()
