"""Quality figures of a saved debate: attribution of each turn to its cited lines and the
names or figures it invents (an `Attribution`: `transcripts.attribution`, handed over by
`graphs`), beside the form figures: citation validity, grounding, balance, echo, persona
distinctiveness, agenda coverage; and, when asked, a judge model's ratings (a `Judge`:
`agents.judge`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np
from pydantic import BaseModel, Field

from core.models import Debate, Rating, Turn, Verdict, grounding
from core.services import Attribution, Embed
from core.text import copy_rate, distinct_n

TURN_NUMBER = "The turn's number, from 1, as replay and the debate's export number turns."


class TurnCheck(BaseModel):
    """One turn against its cited lines, as `debate eval` reports it."""

    turn: int = Field(ge=1, description=TURN_NUMBER)
    speaker_id: str
    kind: str
    anchors: list[str] = Field(description="The turn's citations, `source:start-end`.")
    judged: bool = Field(
        description="Judged for attribution (panelist turns); the host's turns are only "
        "checked for invented items."
    )
    attributable: bool | None = Field(
        description="Argues from its cited lines and invents nothing; None when not judged."
    )
    score: float | None = Field(description="The deciding score (see `threshold`).")
    rank: int | None = Field(
        description="Rank of the cited lines when the index is searched with the turn's "
        "words; None when not in the top k."
    )
    overlap: float | None = Field(description="Content-word share found in the cited lines.")
    invented: list[str] = Field(description="Names, dates, figures, quotations not in the source.")
    reason: str = Field(description="Why the turn fails; empty when it passes.")


class TurnRating(BaseModel):
    turn: int = Field(ge=1, description=TURN_NUMBER)
    rating: Rating | None = Field(description="None when the judge gave no usable answer.")


class JudgeReport(BaseModel):
    """A judge model's ratings of the panelist turns, beside the attribution verdicts."""

    model: str
    ratings: list[TurnRating]
    supported_share: float = Field(description="Rated turns rated 'supported'.")
    coherent_share: float
    in_character_share: float
    agreement: float = Field(
        description="Rated turns where 'supported' and the attribution verdict agree."
    )


class Evaluation(BaseModel):
    attributable_share: float = Field(
        description="Panelist turns that argue from their cited lines and invent nothing."
    )
    invented_share: float = Field(
        description="Panelist turns that name a person, date, figure or quotation found in "
        "neither the source, the questions nor the persona cards."
    )
    threshold: float = Field(description="Score at or above which a turn is attributable.")
    k: int = Field(description="How deep the index is searched for the cited lines.")
    turns: list[TurnCheck]
    citation_validity: float = Field(description="Citations inside their turn's passages.")
    grounding_rate: float = Field(
        description="Spoken turns that cite lines, all inside their passages "
        "(`core.models.grounding`)."
    )
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
    judge: JudgeReport | None = None


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


def turn_checks(debate: Debate, verdicts: Mapping[int, Verdict]) -> list[TurnCheck]:
    """Every spoken turn with its verdict from `judge_debate` (panelist turns judged
    whole, the host's checked for invented items), in turn order."""
    roles = {p.id: p.role for p in debate.personas}
    out = []
    for t in debate.turns:
        if t.kind == "interjection":
            continue
        v = verdicts.get(t.index)
        judged = roles.get(t.speaker_id) == "panelist"
        out.append(
            TurnCheck(
                turn=t.number,
                speaker_id=t.speaker_id,
                kind=t.kind,
                anchors=[c.anchor for c in t.citations],
                judged=judged,
                attributable=v.attributable if judged and v else None,
                score=v.score if judged and v else None,
                rank=v.rank if v else None,
                overlap=v.overlap if judged and v else None,
                invented=list(v.invented) if v else [],
                reason=v.reason if v else "",
            )
        )
    return out


def cosine_support(turns: Sequence[Turn], language: str, embed: Embed) -> list[float]:
    """The former support figure, kept for comparison (bench.eval): e5 cosine of each
    turn with the passage that covers its first valid citation (0.0 where none does)."""
    claims, sources, where = [], [], []
    for i, t in enumerate(turns):
        valid = [c for c in t.citations if c not in t.invalid_citations()]
        if not valid:
            continue
        c = valid[0]
        p = next(p for p in t.passages if p.covers(c.source_id, c.line_start, c.line_end))
        claims.append(t.text)
        sources.append(p.gloss if language == "en" and p.gloss else p.text)
        where.append(i)
    out = [0.0] * len(turns)
    if claims:
        a = _unit(np.asarray(embed(claims), dtype=float))
        b = _unit(np.asarray(embed(sources), dtype=float))
        for i, x, y in zip(where, a, b, strict=True):
            out[i] = float(x @ y)
    return out


def evaluate(
    debate: Debate,
    embed: Embed,
    attributor: Attribution,
    *,
    verdicts: Mapping[int, Verdict] | None = None,
) -> Evaluation:
    """The quality figures of `debate`: `embed` for persona distinctiveness, `attributor`
    (over the index the debate was searched in) for attribution; `verdicts` when they
    were already worked out by `judge_debate` with the same attributor."""
    spoken = [t for t in debate.turns if t.kind != "interjection"]
    cites = [(t, c) for t in spoken for c in t.citations]
    valid = [(t, c) for t, c in cites if c not in t.invalid_citations()]
    if verdicts is None:
        verdicts = attributor.judge_debate(debate)
    checks = turn_checks(debate, verdicts)
    judged = [c for c in checks if c.judged]
    panelists = {p.id for p in debate.personas if p.role == "panelist"}
    panel = [t for t in spoken if t.speaker_id in panelists]
    counts = Counter(t.speaker_id for t in panel)
    texts = [t.text for t in spoken]
    covered = {t.segment for t in panel}
    return Evaluation(
        attributable_share=(
            sum(1 for c in judged if c.attributable) / len(judged) if judged else 0.0
        ),
        invented_share=sum(1 for c in judged if c.invented) / len(judged) if judged else 0.0,
        threshold=attributor.threshold,
        k=attributor.k,
        turns=checks,
        citation_validity=len(valid) / len(cites) if cites else 0.0,
        grounding_rate=grounding(debate.turns),
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


class Judge(Protocol):
    """A judge model (`agents.judge.Judge`): its name, and its rating of one turn against
    its cited lines."""

    name: str

    def rate(self, *, name: str, title: str, stance: str, lines: str, text: str) -> Rating | None:
        """The rating of a turn (`text`) by a speaker (`name`, `title`, `stance`) against its
        cited lines; None when the judge gave no usable answer."""
        ...


def judge_turns(
    debate: Debate, judge: Judge, attributor: Attribution, checks: Sequence[TurnCheck]
) -> JudgeReport:
    """Have `judge` rate each judged turn of `checks` against its cited lines (gloss
    where there is one). A turn it gives no usable rating is kept with rating None."""
    by_number = {t.number: t for t in debate.turns}
    ratings: list[TurnRating] = []
    for check in checks:
        if not check.judged:
            continue
        turn = by_number[check.turn]
        persona = debate.persona(turn.speaker_id)
        lines = attributor.cited_text(turn.citations, turn.passages, gloss_only=True) or "-"
        rating = judge.rate(
            name=persona.name if persona else turn.speaker_id,
            title=persona.title if persona else "",
            stance=getattr(persona, "stance", "") if persona else "",
            lines=lines,
            text=turn.text,
        )
        ratings.append(TurnRating(turn=check.turn, rating=rating))
    rated = [r for r in ratings if r.rating is not None]
    verdict = {c.turn: c.attributable for c in checks}

    def share(ok: Callable[[TurnRating], bool]) -> float:
        return sum(1 for r in rated if ok(r)) / len(rated) if rated else 0.0

    return JudgeReport(
        model=judge.name,
        ratings=ratings,
        supported_share=share(lambda r: r.rating.supported == "supported"),  # type: ignore[union-attr]
        coherent_share=share(lambda r: r.rating.coherent),  # type: ignore[union-attr]
        in_character_share=share(lambda r: r.rating.in_character),  # type: ignore[union-attr]
        agreement=share(
            lambda r: (r.rating.supported == "supported") == bool(verdict.get(r.turn))  # type: ignore[union-attr]
        ),
    )


def with_verdicts(debate: Debate, verdicts: Mapping[int, Verdict]) -> Debate:
    """A copy of `debate` whose turns carry the verdicts of `Attribution.judge_debate`
    (`Turn.attribution`; None for a turn that has none)."""
    turns = [t.model_copy(update={"attribution": verdicts.get(t.index)}) for t in debate.turns]
    return debate.model_copy(update={"turns": turns})
