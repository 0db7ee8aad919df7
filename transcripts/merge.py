"""One outline from several debates on one topic: what they agree on, what stayed contested.

A point is a claim a panelist made: the first sentences of each panel turn.
Claims from every debate are embedded and grouped greedily by cosine
similarity, so the same point made in different words in different debates
lands in one group. A claim was challenged when its turn is a rebuttal or the
next turn of its debate rebuts its speaker. A group is contested when any of
its claims was challenged; agreed when it was made in at least two debates and
never challenged. Every point keeps its traces: debate, turn, speaker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel, Field

from agents.errors import UserError
from transcripts.export import speaker_label
from transcripts.models import Debate, Turn
from transcripts.outline import sentences

Embed = Callable[[Sequence[str]], np.ndarray]
SAME_POINT = 0.9  # cosine of e5 vectors above which two claims are one point
CLAIMS_PER_TURN = 2


class Trace(BaseModel):
    debate_id: str
    turn: int
    speaker: str
    text: str
    challenged: bool = False


class MergedPoint(BaseModel):
    point: str
    debates: list[str]
    traces: list[Trace]


class MergedOutline(BaseModel):
    topic: str
    debate_ids: list[str]
    language: str
    questions: list[str]
    agreed: list[MergedPoint] = Field(default_factory=list)
    contested: list[MergedPoint] = Field(default_factory=list)
    simulated: list[str] = Field(default_factory=list)


def _challenged(turns: list[Turn], i: int) -> bool:
    turn = turns[i]
    if turn.kind == "rebuttal":
        return True
    nxt = turns[i + 1] if i + 1 < len(turns) else None
    return bool(
        nxt is not None
        and nxt.kind == "rebuttal"
        and nxt.speaker_id != turn.speaker_id
        and nxt.addressed_to in (None, turn.speaker_id)
    )


def claims(debate: Debate) -> list[Trace]:
    """The claims panelists made in one debate, with whether each was challenged."""
    out = []
    turns = debate.turns
    for i, t in enumerate(turns):
        persona = debate.persona(t.speaker_id)
        if persona is None or persona.role != "panelist" or t.kind == "interjection":
            continue
        for s in sentences(t.text)[:CLAIMS_PER_TURN]:
            if len(s) < 12 or s.endswith(("?", "？")):
                continue
            out.append(
                Trace(
                    debate_id=debate.id,
                    turn=t.index,
                    speaker=speaker_label(debate, t.speaker_id),
                    text=s,
                    challenged=_challenged(turns, i),
                )
            )
    return out


def merge_debates(
    debates: Sequence[Debate], embed: Embed, *, threshold: float = SAME_POINT
) -> MergedOutline:
    if len(debates) < 2:
        raise UserError("--merge needs at least two debates")
    ids = [d.id for d in debates]
    if len(set(ids)) != len(ids):
        raise UserError("--merge: the same debate is named twice")
    topics = {" ".join(d.topic.lower().split()) for d in debates}
    if len(topics) > 1:
        raise UserError(
            "--merge: the debates are on different topics "
            f"({'; '.join(sorted(d.topic[:40] for d in debates))}); merge debates on one topic"
        )
    found = [c for d in debates for c in claims(d)]
    groups: list[list[int]] = []
    if found:
        vectors = np.asarray(embed([c.text for c in found]), dtype=np.float32)
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
    agreed, contested = [], []
    for g in groups:
        traces = [found[i] for i in g]
        debates_in = list(dict.fromkeys(t.debate_id for t in traces))
        point = MergedPoint(
            point=min((t.text for t in traces), key=len),
            debates=debates_in,
            traces=traces,
        )
        if any(t.challenged for t in traces):
            contested.append(point)
        elif len(debates_in) >= 2:
            agreed.append(point)

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


def _trace_line(t: Trace) -> str:
    mark = " (challenged)" if t.challenged else ""
    return f"{t.debate_id} turn {t.turn}, {t.speaker}{mark}: “{t.text}”"


def merged_markdown(m: MergedOutline) -> str:
    out = [
        f"# {m.topic}",
        "",
        f"*Merged from {len(m.debate_ids)} debates: {', '.join(m.debate_ids)}*",
        "",
    ]
    if m.simulated:
        out += [
            f"> Simulated personas: {', '.join(m.simulated)}. "
            "Their words were generated by a language model.",
            "",
        ]
    if m.questions:
        out += ["## Questions the panels took up", ""] + [f"- {q}" for q in m.questions] + [""]
    for title, points, empty in (
        ("Agreed across debates", m.agreed, "No point was made in two debates without a rebuttal."),
        ("Stayed contested", m.contested, "No point met a rebuttal."),
    ):
        out += [f"## {title}", ""]
        if not points:
            out += [f"- {empty}", ""]
            continue
        for p in points:
            out.append(f"- **{p.point}** ({len(p.debates)} debate{'s' * (len(p.debates) > 1)})")
            out += [f"  - {_trace_line(t)}" for t in p.traces]
        out.append("")
    return "\n".join(out)


def merged_html(m: MergedOutline) -> str:
    from html import escape as e

    from transcripts.export import _page

    body = [
        f"<h1>{e(m.topic)}</h1>",
        f"<p><i>Merged from {len(m.debate_ids)} debates: {e(', '.join(m.debate_ids))}</i></p>",
    ]
    if m.simulated:
        body.append(
            f"<blockquote>Simulated personas: {e(', '.join(m.simulated))}. "
            "Their words were generated by a language model.</blockquote>"
        )
    if m.questions:
        body.append("<h2>Questions the panels took up</h2><ul>")
        body += [f"<li>{e(q)}</li>" for q in m.questions]
        body.append("</ul>")
    for title, points in (("Agreed across debates", m.agreed), ("Stayed contested", m.contested)):
        body.append(f"<h2>{title}</h2><ul>")
        for p in points:
            traces = "".join(f"<li>{e(_trace_line(t))}</li>" for t in p.traces)
            body.append(f"<li><b>{e(p.point)}</b><ul>{traces}</ul></li>")
        body.append("</ul>")
    return _page(m.topic, body)
