"""Rank fusion: a search's rankings (dense, BM25, sparse) as one, by weighted reciprocal
rank fusion, and the passages of that ranking, where two chunks that share lines read as
one passage.

The weights and `RRF_K` were chosen on tests/data/retrieval_questions.jsonl
(`python -m bench.retrieval`; docs/ARCHITECTURE.md, "Retrieval").
"""

from __future__ import annotations

from collections.abc import Sequence

from core.models import Passage

RRF_K = 5
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 0.3
SPARSE_WEIGHT = 0.5
# Two chunks that share lines are one passage in results: the lower-ranked one joins
# the higher while their lines together span at most this many, and is dropped otherwise.
MERGE_LINES = 2


def fuse(rankings: Sequence[tuple[Sequence[str], float]]) -> list[tuple[str, float]]:
    """(id, score) of every id the rankings hold, best first: each (ranking, weight) adds
    weight / (RRF_K + rank) to the ids it ranks (rank from 1)."""
    fused: dict[str, float] = {}
    for ranking, weight in rankings:
        for rank, cid in enumerate(ranking):
            fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank + 1)
    return sorted(fused.items(), key=lambda kv: -kv[1])


def add_passage(out: list[Passage], found: Passage) -> None:
    """Add `found`, ranked below every passage of `out`, to `out`: on its own; joined to
    the passage it shares lines with, while their lines together span at most
    `MERGE_LINES`; or not at all (those lines are listed already, in a passage that
    ranks higher)."""
    listed = next((n for n, p in enumerate(out) if overlap(p, found)), None)
    if listed is None:
        out.append(found)
    elif union_lines(out[listed], found) <= MERGE_LINES:
        out[listed] = merged(out[listed], found)


def overlap(a: Passage, b: Passage) -> bool:
    return a.source_id == b.source_id and b.line_start <= a.line_end and b.line_end >= a.line_start


def union_lines(a: Passage, b: Passage) -> int:
    return max(a.line_end, b.line_end) - min(a.line_start, b.line_start) + 1


def merged(kept: Passage, extra: Passage) -> Passage:
    """One passage of two overlapping chunks: the higher-ranked one's id and score, the
    union of their lines, their texts (and glosses) joined with shared sentences once."""
    if kept.gloss and extra.gloss:
        gloss = join(kept.gloss, extra.gloss)
    else:
        gloss = kept.gloss or extra.gloss
    return kept.model_copy(
        update={
            "line_start": min(kept.line_start, extra.line_start),
            "line_end": max(kept.line_end, extra.line_end),
            "text": join(kept.text, extra.text),
            "gloss": gloss,
        }
    )


def join(a: str, b: str) -> str:
    """Two runs of sentences of one source as one run, in reading order: chunks overlap
    by a sentence, so one's end is the other's start."""
    if b in a:
        return a
    if a in b:
        return b

    def shared(first: str, second: str) -> int:
        """How many characters `second` starts with that `first` ends with."""
        longest = min(len(first), len(second)) - 1
        return next((n for n in range(longest, 0, -1) if first.endswith(second[:n])), 0)

    ab, ba = shared(a, b), shared(b, a)
    if ab == ba == 0:
        return f"{a} … {b}"
    return a + b[ab:] if ab >= ba else b + a[ba:]
