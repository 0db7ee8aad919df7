"""One outline from several debates on one topic: what they agree on, what stayed contested.

A claim is a substantive sentence a panelist said: one of the first sentences of
a panel turn that is neither a question nor a bare reaction ("You're right!").
Turns a fork copied from its parent are counted once, as the parent's: a
debate and its own fork share that history and do not agree with themselves.
Claims from every debate are embedded and grouped greedily by cosine
similarity, so the same point made in different words in different debates
lands in one group; a group made in at least two debates and never rebutted is
agreed. A contested point is a clash: a claim, and the rebuttal another
panelist made to it in the next turn, each with who said it, where; clashes
over the same claim in several debates are one point. Every point keeps its
traces: debate, turn (numbered from 1, as in replay and every export), speaker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from core.errors import UserError
from core.models import Debate, Turn
from episodes.export import speaker_label
from episodes.outline import LABELS as OUTLINE_LABELS
from episodes.outline import sentences
from episodes.render import render

Embed = Callable[[Sequence[str]], np.ndarray]
SAME_POINT = 0.9  # cosine of e5 vectors above which two claims are one point
CLAIMS_PER_TURN = 2


class Trace(BaseModel):
    debate_id: str
    turn: int = Field(ge=1, description="The turn's number, from 1, as replay and exports show.")
    speaker: str
    text: str
    challenged: bool = False


class MergedPoint(BaseModel):
    point: str
    debates: list[str]
    traces: list[Trace]


class ContestedPoint(MergedPoint):
    """Two opposed claims: `claim`, and the `rebuttal` another panelist made to it.
    `traces` holds both (and those of the same clash in other debates)."""

    claim: Trace
    rebuttal: Trace


class MergedOutline(BaseModel):
    topic: str
    debate_ids: list[str]
    language: str
    questions: list[str]
    agreed: list[MergedPoint] = Field(default_factory=list)
    contested: list[ContestedPoint] = Field(default_factory=list)
    simulated: list[str] = Field(default_factory=list)


# A reaction, not a claim: what a small model often opens a turn with.
_REACTION = re.compile(
    r"^(?:you'?re (?:right|wrong)|i (?:agree|disagree)|exactly|absolutely|indeed|"
    r"good point|great point|thank you|thanks|well said|yes|no|true|sure|right)\b[\s,.!…]*",
    re.I,
)
MIN_CLAIM_WORDS = 6
MIN_CLAIM_CHARS = 20  # for languages written without spaces


def substantive(sentence: str) -> bool:
    """Whether a sentence states something: not a question, not a bare reaction, long
    enough to carry a point."""
    s = sentence.strip()
    if not s or s.endswith(("?", "？")):
        return False
    rest = _REACTION.sub("", s)
    if len(rest) < len(s) and len(rest.split()) < MIN_CLAIM_WORDS:
        return False
    words = len(s.split())
    return words >= MIN_CLAIM_WORDS or (words <= 2 and len(s) >= MIN_CLAIM_CHARS)


def turn_claims(turn: Turn) -> list[str]:
    """The substantive sentences among a turn's first ones."""
    return [s for s in sentences(turn.text)[: CLAIMS_PER_TURN + 1] if substantive(s)][
        :CLAIMS_PER_TURN
    ]


def origin(debate: Debate, index: int, by_id: dict[str, Debate]) -> tuple[str, int]:
    """Where turn `index` of `debate` was first spoken: a fork's turns up to its fork point
    are its parent's (followed up the chain of debates at hand), so a debate and its fork
    share them once."""
    current = debate
    while current.parent_id and current.forked_at is not None and index <= current.forked_at:
        parent = by_id.get(current.parent_id)
        if parent is None:
            return (current.parent_id, index)
        current = parent
    return (current.id, index)


def _trace(debate: Debate, turn: Turn, text: str, challenged: bool = False) -> Trace:
    return Trace(
        debate_id=debate.id,
        turn=turn.number,
        speaker=speaker_label(debate, turn.speaker_id),
        text=text,
        challenged=challenged,
    )


def _is_panel(debate: Debate, turn: Turn) -> bool:
    persona = debate.persona(turn.speaker_id)
    return persona is not None and persona.role == "panelist" and turn.kind != "interjection"


def clashes(debate: Debate, by_id: dict[str, Debate], seen: set) -> list[ContestedPoint]:
    """Each rebuttal of `debate` with the claim it answers (the panel turn before it, by
    another speaker); turns already counted (`seen`, by origin) are skipped."""
    out = []
    turns = debate.turns
    for i, t in enumerate(turns):
        if t.kind != "rebuttal" or not _is_panel(debate, t) or i == 0:
            continue
        before = turns[i - 1]
        if not _is_panel(debate, before) or before.speaker_id == t.speaker_id:
            continue
        if t.addressed_to not in (None, before.speaker_id):
            continue
        key = ("clash", origin(debate, t.index, by_id))
        if key in seen:
            continue
        claim, reply = turn_claims(before), turn_claims(t)
        if not claim or not reply:
            continue
        seen.add(key)
        a = _trace(debate, before, claim[0], challenged=True)
        b = _trace(debate, t, reply[0])
        out.append(
            ContestedPoint(point=a.text, debates=[debate.id], traces=[a, b], claim=a, rebuttal=b)
        )
    return out


def claims(debate: Debate, by_id: dict[str, Debate] | None = None, seen: set | None = None):
    """The claims panelists made in one debate, with whether each was rebutted; turns
    already counted (`seen`, by origin) are skipped."""
    by_id = by_id if by_id is not None else {debate.id: debate}
    seen = seen if seen is not None else set()
    out = []
    turns = debate.turns
    for i, t in enumerate(turns):
        if not _is_panel(debate, t):
            continue
        key = ("claim", origin(debate, t.index, by_id))
        if key in seen:
            continue
        seen.add(key)
        nxt = turns[i + 1] if i + 1 < len(turns) else None
        rebutted = t.kind == "rebuttal" or bool(
            nxt is not None
            and nxt.kind == "rebuttal"
            and nxt.speaker_id != t.speaker_id
            and nxt.addressed_to in (None, t.speaker_id)
        )
        out += [_trace(debate, t, s, rebutted) for s in turn_claims(t)]
    return out


def _groups(texts: list[str], embed: Embed, threshold: float) -> list[list[int]]:
    """Greedy grouping by cosine similarity to each group's centroid."""
    groups: list[list[int]] = []
    if not texts:
        return groups
    vectors = np.asarray(embed(texts), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
    centroids: list[np.ndarray] = []
    for i, v in enumerate(vectors):
        best, score = -1, threshold
        for g, c in enumerate(centroids):
            sim = float(v @ c / (np.linalg.norm(c) + 1e-9))
            if sim >= score:
                best, score = g, sim
        if best < 0:
            groups.append([i])
            centroids.append(v.copy())
        else:
            groups[best].append(i)
            centroids[best] = centroids[best] + v
    return groups


def merge_debates(
    debates: Sequence[Debate], embed: Embed, *, threshold: float = SAME_POINT
) -> MergedOutline:
    """Agreed points and clashes of several debates on one topic. `embed` maps texts to
    vectors (one row each). Raises UserError for fewer than two debates, a debate named
    twice, or debates on different topics."""
    if len(debates) < 2:
        raise UserError("needs at least two debates", setting="merge")
    ids = [d.id for d in debates]
    if len(set(ids)) != len(ids):
        raise UserError(": the same debate is named twice", setting="merge")
    topics = {" ".join(d.topic.lower().split()) for d in debates}
    if len(topics) > 1:
        raise UserError(
            ": the debates are on different topics "
            f"({'; '.join(sorted(d.topic[:40] for d in debates))}); merge debates on one topic",
            setting="merge",
        )
    by_id = {d.id: d for d in debates}
    # Parents first, so that shared turns are credited to the debate that spoke them.
    order = sorted(debates, key=lambda d: (len(_ancestry(d, by_id)), ids.index(d.id)))
    seen: set = set()
    found = [c for d in order for c in claims(d, by_id, seen)]
    fights = [c for d in order for c in clashes(d, by_id, seen)]
    agreed = []
    for g in _groups([c.text for c in found], embed, threshold):
        traces = [found[i] for i in g]
        debates_in = list(dict.fromkeys(t.debate_id for t in traces))
        if len(debates_in) >= 2 and not any(t.challenged for t in traces):
            agreed.append(
                MergedPoint(
                    point=min((t.text for t in traces), key=len),
                    debates=debates_in,
                    traces=traces,
                )
            )
    contested = []
    for g in _groups([c.claim.text for c in fights], embed, threshold):
        first = fights[g[0]]
        traces = [t for i in g for t in fights[i].traces]
        contested.append(
            first.model_copy(
                update={
                    "debates": list(dict.fromkeys(t.debate_id for t in traces)),
                    "traces": traces,
                }
            )
        )

    def rank(p: MergedPoint) -> tuple:
        return (-len(p.debates), -len(p.traces), p.point)

    first = debates[0]
    questions = list(dict.fromkeys(s.question for d in debates for s in d.agenda))
    simulated = sorted({speaker_label(d, p.id) for d in debates for p in d.personas if p.simulated})
    return MergedOutline(
        topic=first.topic,
        debate_ids=ids,
        language=first.language,
        questions=questions,
        agreed=sorted(agreed, key=rank),
        contested=sorted(contested, key=rank),
        simulated=simulated,
    )


def _ancestry(debate: Debate, by_id: dict[str, Debate]) -> list[str]:
    """Ids of the debate's ancestors among those at hand, nearest first."""
    out: list[str] = []
    current = debate
    while current.parent_id in by_id and current.parent_id not in out:
        out.append(current.parent_id)
        current = by_id[current.parent_id]
    return out


# The merged outline's own words, in the debates' language (what was said stays as said).
LABELS = {
    "en": {
        "turn": "turn {n}",
        "rebutted": "rebutted",
        "merged": "Merged from {n} debates: {ids}",
        "simulated": OUTLINE_LABELS["en"]["simulated"],
        "questions": "Questions the panels took up",
        "agreed": "Agreed across debates",
        "none_agreed": "No point was made in two debates without a rebuttal.",
        "debates": "{n} debates",
        "contested": "Stayed contested",
        "none_contested": "No claim met a rebuttal.",
        "also": "also in {ids}",
    },
    "ja": {
        "turn": "ターン{n}",
        "rebutted": "反論あり",
        "merged": "{n}本の討論から統合: {ids}",
        "simulated": OUTLINE_LABELS["ja"]["simulated"],
        "questions": "パネルが取り上げた問い",
        "agreed": "討論をまたいで一致した点",
        "none_agreed": "二つの討論で反論なしに述べられた点はありません。",
        "debates": "{n}本の討論",
        "contested": "対立が残った点",
        "none_contested": "反論を受けた主張はありません。",
        "also": "{ids} にも",
    },
}


def labels(language: str) -> dict[str, str]:
    """The merged outline's headings and labels in `language` (English for any other)."""
    return LABELS.get(language, LABELS["en"])


def _trace_line(t: Trace, w: dict[str, str]) -> str:
    mark = f" ({w['rebutted']})" if t.challenged else ""
    return f"{t.debate_id} {w['turn'].format(n=t.turn)}, {t.speaker}{mark}: “{t.text}”"


def _clash_lines(p: ContestedPoint, w: dict[str, str]) -> list[str]:
    """A clash as two lines: who claimed what, who answered what (and where)."""
    a, b = p.claim, p.rebuttal
    return [
        f"{a.speaker} ({a.debate_id}, {w['turn'].format(n=a.turn)}): “{a.text}”",
        f"↔ {b.speaker} ({w['turn'].format(n=b.turn)}): “{b.text}”",
    ]


def merged_markdown(m: MergedOutline) -> str:
    """The merged outline as Markdown, in its debates' language (`templates/merged.md.j2`)."""
    return render("merged.md.j2", m=m, **_helpers(labels(m.language)))


def merged_html(m: MergedOutline) -> str:
    """The merged outline as a self-contained HTML page in its debates' language
    (`templates/merged.html.j2`); every text escaped."""
    return render(
        "merged.html.j2", title=m.topic, lang=m.language, m=m, **_helpers(labels(m.language))
    )


def _helpers(w: dict[str, str]) -> dict[str, Any]:
    """The phrases the merged outline's templates print, in the labels' language."""
    return {
        "w": w,
        "trace_line": lambda t: _trace_line(t, w),
        "clash_lines": lambda p: _clash_lines(p, w),
    }
