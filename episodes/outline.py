"""The episode outline a producer works from, assembled from a saved debate.

Deterministic assembly: talking points, clashes, quotes, sources, fact checks
and durations come from the turns themselves, so any model's debate yields a
valid outline. Where prose is wanted (the title, the logline, working titles
of the segments, open questions) a model may write it (`agents.notes`, called
by `graphs.session.write_notes`); `with_notes` takes what fits, and whatever the
model gets wrong or leaves out keeps the assembled text, so a small model gives a
plainer outline, never a broken one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, Field

from core.models import Debate, Turn, Verdict
from core.text import copied_share, is_japanese, terms
from episodes.export import speaker_label
from episodes.render import render

log = logging.getLogger(__name__)
WORDS_PER_MINUTE = 150  # English speech (the settings' default)
CHARS_PER_MINUTE = 300  # Japanese speech (the settings' default)
_SENTENCE = re.compile(r"[^.!?。！？]+[.!?。！？]+")


TURN_NUMBER = "The turn's number, from 1, as replay and the debate's export number turns."


class Quote(BaseModel):
    speaker: str
    turn: int = Field(ge=1, description=TURN_NUMBER)
    text: str
    unsupported: bool = Field(False, description="Its turn failed the fact-check.")


class TalkingPoint(BaseModel):
    """A claim a panelist made in a turn: the source's words with their lines, who made it,
    and the turn's own words beside them. `claim` is None for a turn of a debate recorded
    before turns made claims (its first sentence is then the point)."""

    speaker: str
    turn: int = Field(ge=1, description=TURN_NUMBER)
    claim: str | None
    anchor: str | None
    said: str
    move: str = "open"
    unsupported: bool = False
    stated: bool = Field(False, description="The persona's template stated the claim.")
    flagged: bool = Field(False, description="The turn fails the fact-check against its lines.")
    reported: bool = Field(
        False,
        description="The claim is the show's report of what the simulated persona's real "
        "person said (the source's words speak of them; the turn quotes that report).",
    )


class Clash(BaseModel):
    """Two opposed claims: a challenge and the claim it answers."""

    challenge: TalkingPoint
    against: TalkingPoint


class OutlineSegment(BaseModel):
    title: str
    question: str
    minutes: float
    talking_points: list[TalkingPoint]
    clash: Clash | None = None
    quotes: list[Quote] = Field(default_factory=list)


class SourceNote(BaseModel):
    anchor: str
    text: str
    gloss: str | None = None


class FactCheck(BaseModel):
    """A turn that failed the check against its cited lines (`transcripts.attribution`)."""

    turn: int = Field(ge=1, description=TURN_NUMBER)
    speaker: str
    claim: str
    anchor: str = Field(description="The turn's cited lines, `source:start-end`, comma-separated.")
    reason: str
    invented: list[str] = Field(default_factory=list)


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
    checked: int = Field(0, description="Panelist turns checked against their cited lines.")
    unchecked: list[int] = Field(
        default_factory=list,
        description="Numbers (from 1) of the panelist turns never checked (no verdict saved).",
    )
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


def talking_point(
    turn: Turn, speaker: str, *, flagged: bool = False, simulated: bool = False
) -> TalkingPoint:
    """A panelist's turn as a talking point: its claim with the claim's lines, and what the
    turn said. `flagged`: the turn fails the fact-check against its lines; `simulated`:
    the speaker is a simulated persona, whose claims are the show's reports of them."""
    claim = turn.claim
    said = " ".join(turn.text.split())
    if claim is None:
        first = sentences(turn.text)[0] if turn.text.strip() else ""
        anchor = turn.citations[0].anchor if turn.citations else None
        return TalkingPoint(
            speaker=speaker,
            turn=turn.number,
            claim=None,
            anchor=anchor,
            said=first,
            unsupported=turn.unsupported,
            flagged=flagged,
        )
    return TalkingPoint(
        speaker=speaker,
        turn=turn.number,
        claim=claim.text,
        anchor=claim.anchor,
        said=said,
        move=claim.move,
        unsupported=turn.unsupported,
        flagged=flagged,
        stated=turn.voiced_by == "template",
        reported=simulated,
    )


def clash_of(points: list[TalkingPoint], turns: list[Turn]) -> Clash | None:
    """The segment's sharpest exchange: its last challenge that passed its check, set
    against the claim it answers (a debate without claims: none)."""
    by_turn = {p.turn: p for p in points}
    answered = {  # by turn number, as the points are
        t.number: t.claim.answers + 1
        for t in turns
        if t.claim is not None and t.claim.answers is not None
    }
    for p in reversed(points):
        target = answered.get(p.turn)
        if p.move == "challenge" and target in by_turn and not p.unsupported:
            return Clash(challenge=p, against=by_turn[target])  # type: ignore[index]
    return None


def _quotable(turn: Turn) -> str | None:
    said = sentences(turn.text)
    if turn.claim is not None and turn.claim.move != "open" and len(said) > 1:
        said = said[1:]  # a reply's first sentence is its lead-in ("I see it differently.")
    for s in said:
        n = len(s.split()) if not re.search(r"[\u3040-\u9fff]", s) else len(s) // 3
        if 6 <= n <= 30 and not s.endswith("?"):
            return s
    return None


UNSUPPORTED_MARK = "⚠"


def _fact_check(turn: Turn, speaker: str, verdict: Verdict) -> FactCheck:
    return FactCheck(
        turn=turn.number,
        speaker=speaker,
        claim=(sentences(turn.text) or [""])[0][:160],
        anchor=", ".join(c.anchor for c in turn.citations) or "no lines cited",
        reason=verdict.reason or "does not argue from its lines",
        invented=list(verdict.invented),
    )


def build_outline(
    debate: Debate,
    *,
    wpm: float = WORDS_PER_MINUTE,
    cpm: float = CHARS_PER_MINUTE,
    verdicts: Mapping[int, Verdict] | None = None,
) -> Outline:
    """The outline of `debate`. A turn's fact-check comes from `verdicts` (by turn index,
    see `transcripts.attribution.judge_debate`) or else from the verdict saved with the
    turn; a turn that fails it is listed with its lines and the reason, and its talking
    point and quotes carry a mark."""
    label = {p.id: speaker_label(debate, p.id) for p in debate.personas}
    panel = [
        t
        for t in debate.turns
        if debate.persona(t.speaker_id) is not None
        and debate.persona(t.speaker_id).role == "panelist"
    ]  # type: ignore[union-attr]
    verdict = {
        t.index: v
        for t in debate.turns
        if t.kind != "interjection"
        and (v := (verdicts.get(t.index) if verdicts is not None else None) or t.attribution)
    }
    failing = {i for i, v in verdict.items() if not v.attributable}
    fake = {p.id for p in debate.personas if p.simulated}
    quotes = [
        Quote(speaker=label[t.speaker_id], turn=t.number, text=q, unsupported=t.index in failing)
        for t in panel
        if not t.unsupported and (q := _quotable(t))
    ]
    # The cold open is a supported quote where there is one.
    cold = max(
        quotes, key=lambda q: (not q.unsupported, len(q.text.split()), -q.turn), default=None
    )
    segments = []
    agenda = debate.agenda or []
    for i, seg in enumerate(agenda or [None]):  # type: ignore[list-item]
        turns = [t for t in debate.turns if t.segment == i] if agenda else debate.turns
        mine = [t for t in turns if t in panel and t.text]
        points = [
            talking_point(
                t, label[t.speaker_id], flagged=t.index in failing, simulated=t.speaker_id in fake
            )
            for t in mine
        ]
        segments.append(
            OutlineSegment(
                title=seg.title if seg else debate.topic,
                question=seg.question if seg else debate.topic,
                minutes=round(sum(minutes(t.text, debate.language, wpm, cpm) for t in turns), 1),
                talking_points=points,
                clash=clash_of(points, mine),
                quotes=[q for q in quotes if any(q.turn == t.number for t in turns)][:3],
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
        logline=labels(debate.language)["logline"].format(names=names, topic=debate.topic),
        language=debate.language,
        cold_open=cold,
        segments=segments,
        sources=sorted(cited.values(), key=lambda s: s.anchor),
        open_questions=list(dict.fromkeys(open_q))[:6],
        fact_checks=[
            _fact_check(t, label.get(t.speaker_id, t.speaker_id), verdict[t.index])
            for t in debate.turns
            if t.index in failing
        ],
        checked=sum(1 for t in panel if t.index in verdict),
        unchecked=[t.number for t in panel if t.index not in verdict],
        simulated=[label[p.id] for p in debate.personas if p.simulated],
    )


# The outline's own words, in the debate's language (model and guest text stays as said).
LABELS = {
    "en": {
        "simulated": "Simulated personas: {names}. They took no part: their turns quote the "
        "show's reports of what the person said (marked so) or were generated by a language "
        "model.",
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
        "logline": "{names} debate: {topic}",
        "move_open": "claims",
        "move_extend": "builds on it",
        "move_challenge": "challenges",
        "said": "said",
        "against": "against {speaker}",
        "stated": "stated from the template",
        "reported": "quoted from the show's report of what the real person said",
        "unsupported": "unsupported: no draft passed its check",
        "flagged": "not supported by its lines: see the fact-check",
        "not_supported": "not supported by its lines",
        "unchecked": "Not checked against their lines: turns {turns} (`debate eval` checks them).",
        "all_pass": "All {n} panelist turns argue from their cited lines.",
    },
    "ja": {
        "simulated": "シミュレーションの人物: {names}。本人は出演していません。発言は番組が伝えた"
        "本人の発言の引用(その旨を表示)か、言語モデルが生成したものです。",
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
        "logline": "{names}による討論: {topic}",
        "move_open": "主張",
        "move_extend": "補足",
        "move_challenge": "反論",
        "said": "発言",
        "against": "{speaker}に対して",
        "stated": "テンプレートによる発言",
        "reported": "番組が伝えた本人の発言の引用",
        "unsupported": "根拠なし: どの下書きも検査を通りませんでした",
        "flagged": "引用箇所の裏付けなし: ファクトチェックを参照",
        "not_supported": "引用箇所の裏付けなし",
        "unchecked": "引用箇所と照合していないターン: {turns}(`debate eval` で照合できます)。",
        "all_pass": "パネリストの{n}ターンすべてが引用箇所に基づいています。",
    },
}


def labels(language: str) -> dict[str, str]:
    """The outline's headings and labels in `language` (English for any other)."""
    return LABELS.get(language, LABELS["en"])


def _helpers(w: Mapping[str, str]) -> dict[str, Any]:
    """The phrases the outline's templates print, in the labels' language."""
    return {
        "w": w,
        "turn": lambda n: w["turn"].format(n=n),
        "mark": lambda quote: _mark(quote, w),
        "marks": lambda point: _marks(point, w),
        "move_word": lambda move: move_word(move, w),
        "fact_check_notes": fact_check_notes,
        "fact_check_lines": fact_check_lines,
        "provenance": provenance,
        "unsupported_mark": UNSUPPORTED_MARK,
    }


def outline_markdown(outline: Outline) -> str:
    """The outline as Markdown in its debate's language (`templates/outline.md.j2`); every
    text in it is escaped (`episodes.render.markdown_text`)."""
    return render("outline.md.j2", o=outline, **_helpers(labels(outline.language)))


def _mark(quote: Quote, w: Mapping[str, str]) -> str:
    return f" {UNSUPPORTED_MARK} {w['not_supported']}" if quote.unsupported else ""


def fact_check_notes(outline: Outline) -> list[str]:
    """The fact-check's closing lines, in the outline's language: which panelist turns
    (by number, from 1) were never checked, or, when none was flagged, that all checked
    turns passed. Made of numbers alone (no escaping needed)."""
    w = labels(outline.language)
    out = []
    if outline.unchecked:
        out.append(w["unchecked"].format(turns=", ".join(str(n) for n in outline.unchecked)))
    if not out and not outline.fact_checks:
        out.append(w["all_pass"].format(n=outline.checked))
    return out


def fact_check_lines(outline: Outline) -> list[str]:
    """The fact-check section as plain lines: each failing turn with its lines, the
    reason and its first sentence; then `fact_check_notes`."""
    w = labels(outline.language)
    return [
        f"{UNSUPPORTED_MARK} {w['turn'].format(n=f.turn)} ({f.speaker}) `{f.anchor}`: "
        f"{f.reason} — “{f.claim}”"
        for f in outline.fact_checks
    ] + fact_check_notes(outline)


def move_word(move: str, w: Mapping[str, str]) -> str:
    """How a talking point's claim stands to the one before it (claims, builds on it,
    challenges), in the labels' language; an unknown move as it is."""
    return w.get(f"move_{move}", move)


def _marks(p: TalkingPoint, w: Mapping[str, str]) -> str:
    marks = []
    if p.reported:
        marks.append(w["reported"])
    if p.stated:
        marks.append(w["stated"])
    if p.unsupported:
        marks.append(f"{UNSUPPORTED_MARK} {w['unsupported']}")
    elif p.flagged:
        marks.append(f"{UNSUPPORTED_MARK} {w['flagged']}")
    return f" ({'; '.join(marks)})" if marks else ""


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
    """The outline as a self-contained HTML page (`templates/outline.html.j2`); every text
    is escaped."""
    return render(
        "outline.html.j2",
        title=outline.title,
        lang=outline.language,
        o=outline,
        **_helpers(labels(outline.language)),
    )


# -- prose written by a model (`agents.notes`) ---------------------------------------------------
class Notes(Protocol):
    """What a model wrote for an outline (`agents.notes.OutlineNotes`)."""

    title: str
    logline: str
    segment_titles: Sequence[str]
    open_questions: Sequence[str]


def notes_request(outline: Outline) -> list[tuple[str, list[tuple[str, str]]]]:
    """What a model is shown to write an outline's notes: each segment's question, with its
    talking points as (speaker, the claim or, without one, what was said)."""
    return [
        (seg.question, [(p.speaker, p.claim or p.said) for p in seg.talking_points])
        for seg in outline.segments
    ]


def notes_unusable(outline: Outline, why: object) -> Outline:
    """The assembled outline, saying why the model's notes were not used (its call failed
    or its reply did not fit the schema)."""
    log.warning("outline: the model's notes were unusable, keeping the assembled text (%s)", why)
    return outline.model_copy(
        update={"notes_dropped": [f"its reply did not fit the outline's schema ({why})"]}
    )


def _clean(text: str, limit: int) -> str:
    return " ".join(text.replace("<<<", "").replace(">>>", "").split())[:limit].strip()


# A title or logline that speaks as a person or to the reader ("Awesome episode, I'm so
# glad you brought it to my attention") is chatter, not a name for the episode.
_CHATTY = re.compile(
    r"\b(?:I|I'm|I've|I'd|I'll|me|my|you|your|you're|awesome|glad|thanks?|sure)\b", re.I
)


# Scaffolding a small model leaves in a title: a table's pipes, a numbered list's numbers
# ("…51% of all compute? | 1. | 2. | 3.").
_SCAFFOLD = re.compile(r"\||(?:^|\s)\d+\.(?:\s|$)")


def _trails(title: str) -> str | None:
    """Why a title is cut off (it ends on a word that needs another after it) or trails
    scaffolding (`_SCAFFOLD`)."""
    if _SCAFFOLD.search(title):
        return f"it carries list or table marks (“{title}”)"
    last = title.rstrip(" .…").split()[-1:] if title.strip() else []
    if last and last[0].lower() in {"the", "a", "an", "of", "to", "and", "or", "what", "that"}:
        return f"it breaks off (“{title}”)"
    return None


def with_notes(outline: Outline, topic: str, notes: Notes, written_by: str) -> Outline:
    """The outline with the prose parts of `notes` (written by the model `written_by`)
    that fit it.

    A field that comes back empty, repeats the question, copies a guest's line, talks to
    the reader, shares no word with the debate or breaks off keeps the assembled text and
    says why in `notes_dropped`; the result is always a valid outline.
    """

    def plain(text: str) -> str:
        return text.translate(str.maketrans("’‘“”", "''\"\""))

    said = [
        plain(t)
        for seg in outline.segments
        for p in seg.talking_points
        for t in (p.said, p.claim or "")
        if t
    ]
    said += [plain(q.text) for seg in outline.segments for q in seg.quotes]

    def fresh(text: str) -> bool:
        """Written for the outline, not a guest's line copied into it."""
        return copied_share(plain(text), said, n=4) <= 0.3

    update: dict = {}
    dropped: list[str] = []

    about = terms(" ".join([topic, *said]))

    def why(text: str, shortest: int, *, sentence: bool = False) -> str | None:
        """Why a written part is not used, or None when it is. A title must share a word
        with the debate; a `sentence` (the logline) must end on a finished one."""
        if len(text) < shortest:
            return "empty" if not text else f"too short (“{text}”)"
        if not fresh(text):
            return f"it copies a guest's line (“{text[:60]}”)"
        shown = text if len(text) <= 60 else text[:57] + "…"
        if _CHATTY.search(text):
            return f"it talks to the reader instead of naming the episode (“{shown}”)"
        if not sentence and not terms(text) & about:
            return f"it shares no word with the debate (“{shown}”)"
        if sentence and not text.rstrip().endswith((".", "!", "?", "。", "！", "？", "”", '"')):
            return f"it breaks off mid-sentence (“{shown}”)"
        return None

    title = _clean(notes.title, 80)
    if (reason := why(title, 3)) is None and (reason := _trails(title)) is None:
        update["title"] = title
    else:
        dropped.append(f"the title, {reason}")
    logline = _clean(notes.logline, 200)
    if (reason := why(logline, 10, sentence=True)) is None:
        update["logline"] = logline
    else:
        dropped.append(f"the logline, {reason}")
    segments = []
    for i, seg in enumerate(outline.segments):
        working = _clean(notes.segment_titles[i], 60) if i < len(notes.segment_titles) else ""
        if not working:
            pass
        elif working.lower() == seg.question.lower() or not fresh(working):
            dropped.append(f"segment {i + 1}'s title, it repeats the question or a guest's line")
        elif (reason := why(working, 3) or _trails(working)) is not None:
            dropped.append(f"segment {i + 1}'s title, {reason}")
        else:
            seg = seg.model_copy(update={"title": working})
        segments.append(seg)
    if segments != outline.segments:
        update["segments"] = segments
    asked = []
    for q in (_clean(q, 140) for q in notes.open_questions):
        if not q:
            continue
        shown = q if len(q) <= 60 else q[:57] + "…"
        if not q.endswith(("?", "？")) or len(q.split()) < 4 and not is_japanese(q):
            dropped.append(f"an open question, it is not a whole question (“{shown}”)")
        elif (reason := why(q, 8) or _trails(q)) is not None:
            dropped.append(f"an open question, {reason}")
        else:
            asked.append(q)
    if asked:
        update["open_questions"] = list(dict.fromkeys(asked + outline.open_questions))[:6]
    if dropped:
        update["notes_dropped"] = dropped
    if not update.keys() - {"notes_dropped"}:  # nothing the model wrote was taken
        return outline.model_copy(update=update)
    update["written_by"] = written_by
    return outline.model_copy(update=update)
