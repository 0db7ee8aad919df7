"""Quality figures of a saved debate: grounding, support, balance, echo, distinctiveness."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel, Field

from transcripts.metrics import copy_rate, distinct_n
from transcripts.models import Debate

Embed = Callable[[Sequence[str]], np.ndarray]
SUPPORT_THRESHOLD = 0.80  # cosine similarity of e5 vectors below which a claim is flagged


class Unsupported(BaseModel):
    turn: int
    speaker_id: str
    anchor: str
    similarity: float


class Evaluation(BaseModel):
    citation_validity: float = Field(description="Citations inside their turn's passages.")
    grounding_rate: float = Field(description="Turns with at least one valid citation.")
    support: float = Field(description="Mean similarity of a turn and its cited passage.")
    unsupported: list[Unsupported]
    speaker_share: dict[str, float]
    copy_rate: float
    distinct_2: float
    persona_distinctiveness: float = Field(
        description="Leave-one-out nearest-centroid accuracy of telling the speakers "
        "(host and panelists) apart from their words alone."
    )
    agenda_coverage: float
    tokens_in: int
    tokens_out: int
    latency_ms: float
    cost_usd: float


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def distinctiveness(texts: Sequence[str], labels: Sequence[str], embed: Embed) -> float:
    """Leave-one-out: each turn goes to the speaker whose other turns' centroid is closest."""
    if len(set(labels)) < 2 or len(texts) < 3:
        return 0.0
    vectors = _unit(np.asarray(embed(list(texts)), dtype=float))
    hits = 0
    for i, label in enumerate(labels):
        best, best_sim = None, -2.0
        for speaker in set(labels):
            others = [j for j, lab in enumerate(labels) if lab == speaker and j != i]
            if not others:
                continue
            centroid = vectors[others].mean(axis=0)
            sim = float(vectors[i] @ centroid / (np.linalg.norm(centroid) or 1))
            if sim > best_sim:
                best, best_sim = speaker, sim
        hits += best == label
    return hits / len(labels)


def evaluate(debate: Debate, embed: Embed) -> Evaluation:
    spoken = [t for t in debate.turns if t.kind != "interjection"]
    cites = [(t, c) for t in spoken for c in t.citations]
    valid = [(t, c) for t, c in cites if c not in t.invalid_citations()]
    grounded = [t for t in spoken if any(c not in t.invalid_citations() for c in t.citations)]
    sims: list[float] = []
    unsupported: list[Unsupported] = []
    if valid:
        claims, sources = [], []
        for t, c in valid:
            p = next(p for p in t.passages if p.covers(c.source_id, c.line_start, c.line_end))
            claims.append(t.text)
            sources.append(p.gloss if debate.language == "en" and p.gloss else p.text)
        a = _unit(np.asarray(embed(claims), dtype=float))
        b = _unit(np.asarray(embed(sources), dtype=float))
        sims = [float(x @ y) for x, y in zip(a, b, strict=True)]
        unsupported = [
            Unsupported(
                turn=t.index, speaker_id=t.speaker_id, anchor=c.anchor, similarity=round(s, 3)
            )
            for (t, c), s in zip(valid, sims, strict=True)
            if s < SUPPORT_THRESHOLD
        ]
    panelists = {p.id for p in debate.personas if p.role == "panelist"}
    panel = [t for t in spoken if t.speaker_id in panelists]
    counts = Counter(t.speaker_id for t in panel)
    texts = [t.text for t in spoken]
    covered = {t.segment for t in panel}
    return Evaluation(
        citation_validity=len(valid) / len(cites) if cites else 0.0,
        grounding_rate=len(grounded) / len(spoken) if spoken else 0.0,
        support=float(np.mean(sims)) if sims else 0.0,
        unsupported=unsupported,
        speaker_share={k: counts[k] / len(panel) for k in sorted(counts)} if panel else {},
        copy_rate=copy_rate(texts),
        distinct_2=distinct_n(texts, 2),
        persona_distinctiveness=distinctiveness(
            [t.text for t in spoken], [t.speaker_id for t in spoken], embed
        ),
        agenda_coverage=(
            len(covered & set(range(len(debate.agenda)))) / len(debate.agenda)
            if debate.agenda
            else 0.0
        ),
        tokens_in=sum(t.tokens_in for t in debate.turns),
        tokens_out=sum(t.tokens_out for t in debate.turns),
        latency_ms=round(sum(t.latency_ms for t in debate.turns), 1),
        cost_usd=debate.metrics.cost_usd,
    )


def e5_embed(texts: Sequence[str]) -> np.ndarray:
    """Passage embeddings from the bundled multilingual-e5-small."""
    from transcripts.index import E5Embedder

    return np.asarray(E5Embedder().passage(list(texts)))
