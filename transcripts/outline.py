"""The episode outline a producer works from, assembled from a saved debate.

Deterministic assembly: talking points, clashes, quotes, sources, fact checks
and durations come from the turns themselves, so any model's debate yields a
valid outline. Where prose is wanted (the title, the logline, working titles
of the segments, open questions) a model may write it through a pydantic
schema (`write_notes`); whatever it gets wrong or leaves out keeps the
assembled text, so a small model gives a plainer outline, never a broken one.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated

from pydantic import BaseModel, Field

from transcripts.export import speaker_label
from transcripts.metrics import copied_share
from transcripts.models import Debate, Turn

log = logging.getLogger(__name__)
WORDS_PER_MINUTE = 150  # English speech (the settings' default)
CHARS_PER_MINUTE = 300  # Japanese speech (the settings' default)
_SENTENCE = re.compile(r"[^.!?。！？]+[.!?。！？]+")
_WORD = re.compile(r"[a-z]{4,}")


class Quote(BaseModel):
    speaker: str
    turn: int
    text: str


class PersonaPoints(BaseModel):
    speaker: str
    points: list[str]


class OutlineSegment(BaseModel):
    title: str
    question: str
    minutes: float
    talking_points: list[PersonaPoints]
    clash: Quote | None = None
    quotes: list[Quote] = Field(default_factory=list)


class SourceNote(BaseModel):
    anchor: str
    text: str
    gloss: str | None = None


class FactCheck(BaseModel):
    turn: int
    speaker: str
    claim: str
    anchor: str
    reason: str


class Outline(BaseModel):
    debate_id: str
    title: str
    logline: str
    language: str
    cold_open: Quote | None
    segments: list[OutlineSegment]
    sources: list[SourceNote]
    open_questions: list[str]
    fact_checks: list[FactCheck]
    simulated: list[str]
    written_by: str = "assembly"  # or the model that wrote the prose parts
    # Why a part the model was asked to write was not used (its title, logline...).
    notes_dropped: list[str] = Field(default_factory=list)


def sentences(text: str) -> list[str]:
    found = [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
    return found or ([text.strip()] if text.strip() else [])


def minutes(
    text: str, language: str, wpm: float = WORDS_PER_MINUTE, cpm: float = CHARS_PER_MINUTE
) -> float:
    """Speaking time: Japanese by characters per minute, English by words per minute."""
    if language == "ja":
        return len(text) / cpm
    return len(text.split()) / wpm


def _quotable(turn: Turn) -> str | None:
    for s in sentences(turn.text):
        n = len(s.split()) if not re.search(r"[\u3040-\u9fff]", s) else len(s) // 3
        if 6 <= n <= 30 and not s.endswith("?"):
            return s
    return None


def _support(turn: Turn) -> list[FactCheck]:
    """Citations whose passage shares almost no content words with the claim."""
    out = []
    for c in turn.citations:
        passage = next(
            (p for p in turn.passages if p.covers(c.source_id, c.line_start, c.line_end)), None
        )
        if passage is None:
            out.append(
                FactCheck(
                    turn=turn.index,
                    speaker=turn.speaker_id,
                    claim=turn.text[:160],
                    anchor=c.anchor,
                    reason="cited lines were not retrieved",
                )
            )
            continue
        source_words = set(_WORD.findall((passage.gloss or passage.text).lower()))
        claim_words = set(_WORD.findall(turn.text.lower()))
        if source_words and claim_words and len(source_words & claim_words) < 2:
            out.append(
                FactCheck(
                    turn=turn.index,
                    speaker=turn.speaker_id,
                    claim=sentences(turn.text)[0][:160],
                    anchor=c.anchor,
                    reason="the cited passage shares almost nothing with the claim",
                )
            )
    return out


def build_outline(
    debate: Debate, *, wpm: float = WORDS_PER_MINUTE, cpm: float = CHARS_PER_MINUTE
) -> Outline:
    label = {p.id: speaker_label(debate, p.id) for p in debate.personas}
    panel = [
        t
        for t in debate.turns
        if debate.persona(t.speaker_id) is not None
        and debate.persona(t.speaker_id).role == "panelist"
    ]  # type: ignore[union-attr]
    quotes = [
        Quote(speaker=label[t.speaker_id], turn=t.index, text=q)
        for t in panel
        if (q := _quotable(t))
    ]
    cold = max(quotes, key=lambda q: (len(q.text.split()), -q.turn), default=None)
    segments = []
    agenda = debate.agenda or []
    for i, seg in enumerate(agenda or [None]):  # type: ignore[list-item]
        turns = [t for t in debate.turns if t.segment == i] if agenda else debate.turns
        points = []
        for p in debate.personas:
            if p.role != "panelist":
                continue
            mine = [sentences(t.text)[0] for t in turns if t.speaker_id == p.id and t.text]
            if mine:
                points.append(PersonaPoints(speaker=label[p.id], points=mine))
        rebuttals = [t for t in turns if t.kind == "rebuttal"]
        clash = None
        if rebuttals:
            r = max(rebuttals, key=lambda t: len(t.text))
            clash = Quote(speaker=label[r.speaker_id], turn=r.index, text=sentences(r.text)[0])
        segments.append(
            OutlineSegment(
                title=seg.title if seg else debate.topic,
                question=seg.question if seg else debate.topic,
                minutes=round(sum(minutes(t.text, debate.language, wpm, cpm) for t in turns), 1),
                talking_points=points,
                clash=clash,
                quotes=[q for q in quotes if any(q.turn == t.index for t in turns)][:3],
            )
        )
    cited: dict[str, SourceNote] = {}
    for t in debate.turns:
        for c in t.citations:
            for p in t.passages:
                if p.covers(c.source_id, c.line_start, c.line_end):
                    cited.setdefault(
                        p.anchor, SourceNote(anchor=p.anchor, text=p.text, gloss=p.gloss)
                    )
    asked = [s for t in debate.turns if t.kind == "interjection" for s in [t.text]]
    open_q = asked + [s for t in panel for s in sentences(t.text) if s.endswith(("?", "？"))]
    names = ", ".join(label[p.id] for p in debate.personas if p.role == "panelist")
    return Outline(
        debate_id=debate.id,
        title=debate.topic,
        logline=f"{names} debate: {debate.topic}",
        language=debate.language,
        cold_open=cold,
        segments=segments,
        sources=sorted(cited.values(), key=lambda s: s.anchor),
        open_questions=list(dict.fromkeys(open_q))[:6],
        fact_checks=[f for t in panel for f in _support(t)],
        simulated=[label[p.id] for p in debate.personas if p.simulated],
    )


# The outline's own words, in the debate's language (model and guest text stays as said).
LABELS = {
    "en": {
        "simulated": "Simulated personas: {names}. Their words were generated by a language model.",
        "cold_open": "Cold open",
        "segment": "Segment {i}: {title} (~{minutes:.1f} min)",
        "question": "Question",
        "clash": "Key clash",
        "quotable": "Quotable",
        "turn": "turn {n}",
        "sources": "Sources",
        "gloss": "gloss",
        "open": "Open questions for the next episode",
        "fact_check": "Fact-check",
        "all_supported": "Every citation shares content with its claim.",
        "debate": "Debate {id}",
        "assembled": "assembled from the debate's turns.",
        "written": "title, logline, working titles and open questions written by {model}; "
        "the rest assembled from the debate's turns.",
        "dropped": "Not used from the model: {why}.",
    },
    "ja": {
        "simulated": "シミュレーションの人物: {names}。発言は言語モデルが生成したもので、"
        "本人の言葉ではありません。",
        "cold_open": "コールドオープン",
        "segment": "セグメント{i}: {title}(約{minutes:.1f}分)",
        "question": "問い",
        "clash": "主な対立",
        "quotable": "引用候補",
        "turn": "ターン{n}",
        "sources": "出典",
        "gloss": "英訳",
        "open": "次回への問い",
        "fact_check": "ファクトチェック",
        "all_supported": "すべての引用が主張と内容を共有しています。",
        "debate": "討論 {id}",
        "assembled": "討論のターンから組み立てました。",
        "written": "タイトル・ログライン・仮題・問いは {model} が書き、"
        "その他は討論のターンから組み立てました。",
        "dropped": "モデルの出力のうち使わなかったもの: {why}。",
    },
}


def labels(language: str) -> dict[str, str]:
    """The outline's headings and labels in `language` (English for any other)."""
    return LABELS.get(language, LABELS["en"])


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")


def markdown_text(text: str) -> str:
    """Text from a debate, a model or a file as Markdown that reads as that text: on one
    line, every character Markdown would act on (emphasis, links, code, HTML, tables)
    escaped, so "[draft] *Compute* <b>" shows as written."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def outline_markdown(outline: Outline) -> str:
    """The outline as Markdown in its debate's language; every text in it is escaped
    (`markdown_text`)."""
    m = markdown_text
    w = labels(outline.language)

    def turn(n: int) -> str:
        return w["turn"].format(n=n)

    out = [f"# {m(outline.title)}", "", f"*{m(outline.logline)}*", ""]
    if outline.simulated:
        out += ["> " + w["simulated"].format(names=m(", ".join(outline.simulated))), ""]
    if outline.cold_open:
        q = outline.cold_open
        out += [
            f"## {w['cold_open']}",
            "",
            f"> “{m(q.text)}” — {m(q.speaker)} ({turn(q.turn)})",
            "",
        ]
    for i, seg in enumerate(outline.segments, 1):
        out += [
            "## " + w["segment"].format(i=i, title=m(seg.title), minutes=seg.minutes),
            "",
            f"**{w['question']}:** {m(seg.question)}",
            "",
        ]
        for pp in seg.talking_points:
            out.append(f"- **{m(pp.speaker)}**")
            out += [f"  - {m(p)}" for p in pp.points]
        if seg.clash:
            c = seg.clash
            out += ["", f"**{w['clash']}:** {m(c.speaker)} ({turn(c.turn)}): “{m(c.text)}”"]
        if seg.quotes:
            out += ["", f"**{w['quotable']}:**"]
            out += [f"- “{m(q.text)}” — {m(q.speaker)}, {turn(q.turn)}" for q in seg.quotes]
        out.append("")
    if outline.sources:
        out += [f"## {w['sources']}", ""]
        for s in outline.sources:
            out.append(f"- `{s.anchor.replace('`', '')}` {m(s.text)}")
            if s.gloss:
                out.append(f"  - *{w['gloss']}:* {m(s.gloss)}")
        out.append("")
    if outline.open_questions:
        out += [f"## {w['open']}", ""]
        out += [f"- {m(q)}" for q in outline.open_questions]
        out.append("")
    out += [f"## {w['fact_check']}", ""]
    if outline.fact_checks:
        out += [
            f"- {turn(f.turn)} ({m(f.speaker)}) `{f.anchor.replace('`', '')}`: {m(f.reason)}"
            f" — “{m(f.claim)}”"
            for f in outline.fact_checks
        ]
    else:
        out.append(f"- {w['all_supported']}")
    debate = w["debate"].format(id=m(outline.debate_id))
    out += ["", f"---\n*{debate}; {m(provenance(outline))}*", ""]
    return "\n".join(out)


def provenance(outline: Outline) -> str:
    """Who wrote what, and why any part the model wrote was not used."""
    w = labels(outline.language)
    said = (
        w["assembled"]
        if outline.written_by == "assembly"
        else w["written"].format(model=outline.written_by)
    )
    if outline.notes_dropped:
        said += " " + w["dropped"].format(why="; ".join(outline.notes_dropped))
    return said


def outline_html(outline: Outline) -> str:
    """The outline as a self-contained HTML page; every text is escaped."""
    from html import escape

    from transcripts.export import _page

    e = escape
    w = labels(outline.language)

    def turn(n: int) -> str:
        return e(w["turn"].format(n=n))

    body = [f"<h1>{e(outline.title)}</h1>", f"<p><i>{e(outline.logline)}</i></p>"]
    if outline.simulated:
        names = ", ".join(outline.simulated)
        body.append(f"<blockquote>{e(w['simulated'].format(names=names))}</blockquote>")
    if outline.cold_open:
        q = outline.cold_open
        body.append(
            f"<h2>{e(w['cold_open'])}</h2><blockquote>“{e(q.text)}” — {e(q.speaker)} "
            f"({turn(q.turn)})</blockquote>"
        )
    for i, seg in enumerate(outline.segments, 1):
        head = w["segment"].format(i=i, title=seg.title, minutes=seg.minutes)
        body.append(f"<h2>{e(head)}</h2>")
        body.append(f"<p><b>{e(w['question'])}:</b> {e(seg.question)}</p><ul>")
        for pp in seg.talking_points:
            points = "".join(f"<li>{e(p)}</li>" for p in pp.points)
            body.append(f"<li><b>{e(pp.speaker)}</b><ul>{points}</ul></li>")
        body.append("</ul>")
        if seg.clash:
            body.append(
                f"<p><b>{e(w['clash'])}:</b> {e(seg.clash.speaker)} ({turn(seg.clash.turn)}): "
                f"“{e(seg.clash.text)}”</p>"
            )
        for q in seg.quotes:
            body.append(f"<blockquote>“{e(q.text)}” — {e(q.speaker)}, {turn(q.turn)}</blockquote>")
    if outline.sources:
        body.append(f"<h2>{e(w['sources'])}</h2><ul>")
        for src in outline.sources:
            gloss = f"<br><i>{e(src.gloss)}</i>" if src.gloss else ""
            body.append(f"<li><code>{e(src.anchor)}</code> {e(src.text)}{gloss}</li>")
        body.append("</ul>")
    if outline.open_questions:
        body.append(f"<h2>{e(w['open'])}</h2><ul>")
        body += [f"<li>{e(q)}</li>" for q in outline.open_questions]
        body.append("</ul>")
    body.append(f"<h2>{e(w['fact_check'])}</h2><ul>")
    body += [
        f"<li>{turn(f.turn)} ({e(f.speaker)}) <code>{e(f.anchor)}</code>: {e(f.reason)} — "
        f"“{e(f.claim)}”</li>"
        for f in outline.fact_checks
    ] or [f"<li>{e(w['all_supported'])}</li>"]
    body.append("</ul>")
    debate = w["debate"].format(id=outline.debate_id)
    body.append(f"<p><small>{e(debate)}; {e(provenance(outline))}</small></p>")
    return _page(outline.title, body, outline.language)


# -- prose written by a model ----------------------------------------------------------------------
class OutlineNotes(BaseModel):
    """What a model is asked to write; everything else in an outline is assembled.

    Every string is bounded, so a grammar-constrained small model cannot ramble
    past its token budget and leave the JSON unfinished."""

    title: str = Field(min_length=3, max_length=80)
    logline: str = Field(min_length=10, max_length=200)
    segment_titles: list[Annotated[str, Field(min_length=2, max_length=60)]] = Field(
        default_factory=list, max_length=6
    )
    open_questions: list[Annotated[str, Field(min_length=8, max_length=140)]] = Field(
        default_factory=list, max_length=3
    )


def _data(text: str, limit: int = 160) -> str:
    """Debate text as quoted data in a prompt: one line, clipped, no delimiters of its own."""
    flat = " ".join(text.replace("<<<", "").replace(">>>", "").split())
    return f"<<<{flat[:limit]}>>>"


def notes_prompt(outline: Outline, topic: str) -> str:
    from prompts import render

    rows = []
    for i, seg in enumerate(outline.segments, 1):
        rows.append(f"{i}. {_data(seg.question)}")
        for pp in seg.talking_points:
            rows += [f"   - {pp.speaker}: {_data(p, 120)}" for p in pp.points[:2]]
    language = outline.language if outline.language in ("en", "ja") else "en"
    return render(
        "outline_notes",
        language,
        topic=_data(topic, 200),
        segments="\n".join(rows),
        count=len(outline.segments),
    )


def _clean(text: str, limit: int) -> str:
    return " ".join(text.replace("<<<", "").replace(">>>", "").split())[:limit].strip()


def write_notes(outline: Outline, topic: str, model) -> Outline:  # noqa: ANN001 (a ChatModel)
    """The outline with its prose parts written by `model` (structured output).

    A failed call, or a field that comes back empty or repeats the question,
    keeps the assembled text; the result is always a valid outline.
    """
    from agents.llm.base import ModelError, Sampling

    try:
        notes, _ = model.structured(
            [{"role": "user", "content": notes_prompt(outline, topic)}],
            OutlineNotes,
            Sampling(temperature=0.3, max_tokens=480, seed=0),
        )
    except ModelError as exc:
        log.warning(
            "outline: the model's notes were unusable, keeping the assembled text (%s)", exc
        )
        return outline.model_copy(
            update={"notes_dropped": [f"its reply did not fit the outline's schema ({exc})"]}
        )

    def plain(text: str) -> str:
        return text.translate(str.maketrans("’‘“”", "''\"\""))

    said = [plain(p) for seg in outline.segments for pp in seg.talking_points for p in pp.points]
    said += [plain(q.text) for seg in outline.segments for q in seg.quotes]

    def fresh(text: str) -> bool:
        """Written for the outline, not a guest's line copied into it."""
        return copied_share(plain(text), said, n=4) <= 0.3

    update: dict = {}
    dropped: list[str] = []

    def why(text: str, shortest: int) -> str | None:
        """Why a written part is not used, or None when it is."""
        if len(text) < shortest:
            return "empty" if not text else f"too short (“{text}”)"
        if not fresh(text):
            return f"it copies a guest's line (“{text[:60]}”)"
        return None

    title = _clean(notes.title, 80)
    if (reason := why(title, 3)) is None:
        update["title"] = title
    else:
        dropped.append(f"the title, {reason}")
    logline = _clean(notes.logline, 200)
    if (reason := why(logline, 10)) is None:
        update["logline"] = logline
    else:
        dropped.append(f"the logline, {reason}")
    segments = []
    for i, seg in enumerate(outline.segments):
        working = _clean(notes.segment_titles[i], 60) if i < len(notes.segment_titles) else ""
        if working and working.lower() != seg.question.lower() and fresh(working):
            seg = seg.model_copy(update={"title": working})
        elif working:
            dropped.append(f"segment {i + 1}'s title, it repeats the question or a guest's line")
        segments.append(seg)
    if segments != outline.segments:
        update["segments"] = segments
    asked = [q for q in (_clean(q, 140) for q in notes.open_questions) if len(q) >= 8]
    if asked:
        update["open_questions"] = list(dict.fromkeys(asked + outline.open_questions))[:6]
    if dropped:
        update["notes_dropped"] = dropped
    if not update.keys() - {"notes_dropped"}:  # nothing the model wrote was taken
        return outline.model_copy(update=update)
    update["written_by"] = getattr(model, "name", "model")
    return outline.model_copy(update=update)
