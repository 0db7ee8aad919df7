"""Turn composition: persona + show state + passages -> prompt -> model -> Turn.

Designed for a 135M model first: each speaker sees its persona card, the
question, one or two short source notes, and only the previous turn. Drafts
that mostly repeat earlier turns are regenerated. Citations are checked in
code against the passages retrieved for the turn; none outside them survives.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import get_args

from agents.labels import Label, Voices, read_label
from agents.llm.base import (
    LABEL_SPAN,
    ChatModel,
    Completion,
    Message,
    ModelError,
    Sampling,
    TransientModelError,
    backoff_s,
    complete,
    label_of,
)
from agents.personas import Persona
from prompts import render
from transcripts.metrics import copied_share
from transcripts.models import Citation, Passage, Turn, TurnKind

ECHO_THRESHOLD = 0.5
MAX_REDRAFTS = 2
STREAM_RETRIES = 3  # a reply that broke off mid-stream is asked for again this many times
NOTE_CHARS = {"en": 120, "ja": 90}
PREVIOUS_CHARS = {"en": 90, "ja": 70}
_MARKER = re.compile(r"\[(?:L|lines?\s*)?(\d{1,6})(?:\s*[-–]\s*(\d{1,6}))?\]", re.I)
_LABEL_LINE = re.compile(r"^\s*[\w .()'-]{1,40}[:：]\s*", re.UNICODE)


@dataclass
class TurnRequest:
    """Everything a speaker needs for one turn; nothing else of the show leaks in."""

    index: int
    kind: TurnKind
    topic: str
    question: str
    language: str
    passages: list[Passage]
    segment: int = 0
    previous: tuple[str, str] | None = None  # (speaker label, text)
    producer_question: str | None = None
    guests: Sequence[str] = ()
    first: str = ""
    addressed_to: str | None = None
    earlier: Sequence[str] = ()
    seed: int = 0


@dataclass
class Spoken:
    turn: Turn
    discarded: list[str] = field(default_factory=list)


def clip(text: str, limit: int, *, tail: bool = False) -> str:
    """Shorten to about `limit` characters on a word or sentence boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if tail:
        cut = text[-limit:]
        space = cut.find(" ")
        return "…" + (cut[space + 1 :] if 0 <= space < 40 else cut)
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut) + "…"


def quoted(text: str) -> str:
    """Text that goes into a prompt as quoted data: one line, no double quotes that could
    close the quotation around it, no `Name:` that could pass for a speaker label."""
    text = " ".join(text.split()).replace('"', "'").replace("“", "'").replace("”", "'")
    return re.sub(r"(^|\s)([\w .'-]{1,40})[:：](\s)", r"\1\2 -\3", text)


def note_of(passage: Passage, language: str) -> str:
    """What the model is shown of a passage: the English gloss in English debates."""
    if language == "en" and passage.gloss:
        return passage.gloss
    return passage.text


def system_message(persona: Persona, language: str) -> Message:
    name = "host_persona" if persona.role == "host" else "persona"
    return {
        "role": "system",
        "content": render(
            name,
            language,
            name=persona.name,
            title=persona.title,
            bio=persona.bio,
            stance=persona.stance,
            style=persona.style,
        ),
    }


def task_text(req: TurnRequest) -> str:
    language = req.language
    prev_speaker = req.previous[0] if req.previous else ""
    guests = ", ".join(req.guests) if language == "en" else "、".join(req.guests)
    if req.producer_question:
        return render("task_answer", language, question=req.producer_question)
    if req.kind == "rebuttal" and req.previous:
        return render("task_rebuttal", language, speaker=prev_speaker)
    if req.kind in ("opening", "question", "summary", "closing"):
        return render(f"task_{req.kind}", language, guests=guests, first=req.first)
    return render("task_argument", language)


def turn_messages(persona: Persona, req: TurnRequest) -> list[Message]:
    """The two messages of a turn: a stable persona card (cached per speaker) and the turn."""
    language = req.language
    budget = NOTE_CHARS[language] // max(1, len(req.passages))
    notes = " / ".join(quoted(clip(note_of(p, language), budget)) for p in req.passages)
    lines = ", ".join(f"{p.line_start}-{p.line_end}" for p in req.passages)
    previous = ""
    if req.previous:
        previous = render(
            "previous",
            language,
            speaker=req.previous[0],
            text=quoted(clip(req.previous[1], PREVIOUS_CHARS[language], tail=True)),
        )
    sentences = 2 if req.kind in ("question", "opening") else 4
    user = render(
        "turn",
        language,
        topic=req.topic,
        question=req.question,
        lines=lines or "-",
        note=notes or "-",
        previous=previous,
        task=task_text(req),
        sentences=sentences,
    )
    return [system_message(persona, language), {"role": "user", "content": user}]


_CUT = "\ue000"  # marks where a prompt's known beginning ends


def card_head(persona: Persona, language: str) -> list[Message]:
    """The beginning every prompt of this speaker shares: its persona card, up to where the
    turn's own text begins (the last message is unfinished)."""
    return [system_message(persona, language), {"role": "user", "content": ""}]


def turn_head(persona: Persona, req: TurnRequest, *, notes: bool = True) -> list[Message]:
    """The beginning of a turn's prompt that is known before the turn it follows has
    ended: up to the previous speaker's line, or, without `notes` (passages that will be
    searched with that line), up to the end of the question. The last message is
    unfinished."""
    if notes:
        probe = replace(req, previous=(_CUT, ""))
    else:
        probe = replace(req, question=req.question + _CUT, previous=None)
    system, user = turn_messages(persona, probe)
    return [system, {"role": "user", "content": user["content"].split(_CUT, 1)[0]}]


def _voice(label: str) -> Label | None:
    """A line's speaker label read as a name: "Dr. Tanabe", "Keiko Tanabe-san",
    "Sam Altman (screen)", "Mika Aoyama said", "タナベさん" (see agents.labels)."""
    return read_label(label)


def _names(persona: Persona, others: Sequence[str] = ()) -> Voices:
    """Who is at the table, for telling whose voice a label names: this speaker by full
    name, either name part, a near misspelling, with titles and honorifics; the others
    likewise."""
    return Voices(persona.name, others, host=persona.role == "host")


def _own_label(label: str | None, persona: Persona) -> bool:
    """Whether a label is the speaker's own name (which its reply may open with)."""
    return label is not None and _names(persona).is_own(label)


def other_voice(persona: Persona, others: Sequence[str]) -> Callable[[str], bool]:
    """Whether a line label (the text before its colon) gives the line to another
    voice: another speaker by full name, either name part or a near misspelling, with
    or without a title, honorific or stage note ("Dr. Tanabe", "Keiko Tanabe-san",
    "Ki-Shin Tanabe said", "REN", "Sam Altman (screen)"), also after a sentence on the
    same line ("Thank you all. Dr. Tanabe"); a role that is not this speaker's ("Host"
    for a panelist, "Human", "Audience"); or anyone, this speaker too, in the prompt's
    own "Name said" form."""
    return _names(persona, others).is_other


def clean_reply(text: str, persona: Persona, others: Sequence[str]) -> str:
    """Strip a self-label, cut where the model starts voicing someone else.

    A small model often writes the next speaker's line itself ("REN: ...", "Sam Altman
    (screen): ...") or replays the prompt's "Name said:" form. Such a line and all after
    it are dropped: no voice speaks for another (a simulated person least of all)."""
    text = text.strip().strip('"“”').strip()
    if _own_label(label_of(text), persona):
        text = _LABEL_LINE.sub("", text, count=1)
    foreign = other_voice(persona, others)
    kept: list[str] = []
    for line in text.splitlines():
        label = label_of(line)
        if label is not None and foreign(label):
            break
        kept.append(line)
    text = " ".join(" ".join(kept).split())
    text = text.replace("<<<", "").replace(">>>", "")
    # End on a finished sentence when the token limit cut it off.
    if text and not text.endswith((".", "!", "?", "。", "！", "？", "…", '"', "”", "'")):
        last = max(text.rfind(ch) for ch in ".!?。！？")
        text = text[: last + 1] if last > 0 else text + "…"
    return text.strip()


def cite(text: str, passages: Sequence[Passage]) -> list[Citation]:
    """Citations of a turn, always inside its passages.

    Explicit markers such as [12] or [12-14] are kept when a retrieved passage
    covers them; otherwise the passage the turn draws on most is cited (the
    model was handed exactly these passages).
    """
    if not passages:
        return []
    found: list[Citation] = []
    for m in _MARKER.finditer(text):
        start = int(m.group(1))
        end = int(m.group(2) or start)
        for p in passages:
            if p.covers(p.source_id, start, end):
                found.append(
                    Citation(
                        source_id=p.source_id,
                        line_start=start,
                        line_end=end,
                        quote=clip(p.text, 120),
                    )
                )
                break
    if found:
        return list(dict.fromkeys(found))
    words = set(re.findall(r"[a-z]{4,}", text.lower()))

    def overlap(p: Passage) -> int:
        return len(words & set(re.findall(r"[a-z]{4,}", (p.gloss or p.text).lower())))

    best = max(passages, key=lambda p: (overlap(p), p.score))
    return [
        Citation(
            source_id=best.source_id,
            line_start=best.line_start,
            line_end=best.line_end,
            quote=clip(best.text, 120),
        )
    ]


def check_citations(turn: Turn) -> Turn:
    """Drop any citation outside the passages retrieved for the turn (never trust a model)."""
    invalid = turn.invalid_citations()
    if invalid:
        turn.citations = [c for c in turn.citations if c not in invalid]
    return turn


class StreamGate:
    """Passes a reply's streamed text on as `clean_reply` will keep it, line by line: the
    head of each line is held back until it is known whether it opens with a label (a
    colon within `LABEL_SPAN` characters). The reply's own speaker label on its first
    line is dropped; a line given to another voice and everything after it never reach
    the screen. What the live stream shows is then what the saved turn says."""

    def __init__(
        self, on_token: Callable[[str], None], persona: Persona, foreign: Callable[[str], bool]
    ) -> None:
        self.on_token, self.persona, self.foreign = on_token, persona, foreign
        self.head = ""  # the current line's text not yet passed on
        self.decided = False  # whether the current line's head has been judged
        self.first = True  # still on the reply's first line
        self.closed = False

    def __call__(self, piece: str) -> None:
        while piece and not self.closed:
            line, newline, piece = piece.partition("\n")
            self._add(line)
            if newline and not self.closed:
                self._decide(end=True)
                self.on_token("\n")
                self.head, self.decided, self.first = "", False, False

    def flush(self) -> None:
        """The reply is over: pass on what is held back."""
        if not self.closed:
            self._decide(end=True)

    def _add(self, text: str) -> None:
        if self.decided:
            if text:
                self.on_token(text)
            return
        self.head += text
        self._decide(end=False)

    def _decide(self, *, end: bool) -> None:
        if self.decided:
            return
        label = label_of(self.head)
        if label is None and len(self.head) < LABEL_SPAN and not end:
            return  # a colon may still come
        self.decided = True
        text = self.head
        if label is not None and self.foreign(label):
            self.closed = True
            return
        if self.first and _own_label(label, self.persona):
            text = _LABEL_LINE.sub("", text, count=1)
        if text:
            self.on_token(text)


def slot_of(persona: Persona, kind: TurnKind) -> str:
    """The context (of a model that keeps one per speaker) a turn is generated in. The
    host's questions get one of their own: a question follows the host's own summary,
    and its prompt can be read into a context other than the one that summary is being
    decoded in (`EmbeddedModel.read_ahead`)."""
    asks = persona.role == "host" and kind in ("opening", "question")
    return f"{persona.id}/ask" if asks else persona.id


def slots_of(persona: Persona) -> list[str]:
    """Every context this speaker's turns are generated in."""
    return sorted({slot_of(persona, kind) for kind in get_args(TurnKind)})


def _complete_retrying(
    model: ChatModel,
    messages: list[Message],
    sampling: Sampling,
    persona: Persona,
    slot: str,
    on_token: Callable[[str], None] | None,
    on_discard: Callable[[str], None] | None,
) -> Completion:
    """One reply; one that broke off mid-stream is dropped (its text never reaches the
    turn) and asked for again after a jittered backoff, up to STREAM_RETRIES times. The
    stream reaches `on_token` through a `StreamGate`."""
    attempt = 0
    foreign = sampling.stop_label or (lambda _label: False)
    while True:
        gate = StreamGate(on_token, persona, foreign) if on_token is not None else None
        try:
            result = complete(model, messages, sampling, slot=slot, on_token=gate)
            if gate is not None:
                gate.flush()
            return result
        except TransientModelError as exc:
            if attempt == STREAM_RETRIES:
                raise ModelError(f"{exc}; gave up after {STREAM_RETRIES} retries") from exc
            if on_discard is not None:
                on_discard(f"the reply broke off, trying again ({exc})")
            time.sleep(backoff_s(attempt))
            attempt += 1


def speak(
    model: ChatModel,
    persona: Persona,
    req: TurnRequest,
    *,
    others: Sequence[str] = (),
    temperature: float = 0.7,
    max_tokens: int = 150,
    on_token: Callable[[str], None] | None = None,
    on_discard: Callable[[str], None] | None = None,
) -> Spoken:
    """Generate one turn, redrafting echoes of earlier turns."""
    messages = turn_messages(persona, req)
    discarded: list[str] = []
    tokens_in = tokens_out = 0
    latency = 0.0
    text = ""
    result: Completion | None = None
    min_tokens = max_tokens * 2 // 3
    if req.kind in ("opening", "question", "summary"):
        max_tokens = max(40, max_tokens * 2 // 3)
        min_tokens = max_tokens // 2
    openers: list[str] = []
    if not req.producer_question and req.kind in ("argument", "rebuttal", "question", "summary"):
        pool = persona.summary_openers if req.kind == "summary" else persona.openers
        openers = [
            o.replace("$first", req.first)
            for o in pool.get(req.language, [])
            if req.first or "$first" not in o
        ]
    foreign = other_voice(persona, others)
    for attempt in range(MAX_REDRAFTS + 1):
        # A persona's own lead-in, rotating by turn: a small model holds a voice it
        # has started far better than one it is only told about.
        opener = openers[(req.index + req.seed + attempt) % len(openers)] if openers else ""
        sampling = Sampling(
            temperature=min(1.3, temperature + 0.15 * attempt),
            max_tokens=max_tokens,
            repeat_penalty=1.3,
            seed=req.seed * 1000 + req.index * 10 + attempt,
            min_tokens=min_tokens,
            end_on_sentence=True,
            prefix=opener,
            stop_label=foreign,  # no need to generate what `clean_reply` cuts
        )
        result = _complete_retrying(
            model, messages, sampling, persona, slot_of(persona, req.kind), on_token, on_discard
        )
        tokens_in += result.tokens_in
        tokens_out += result.tokens_out
        latency += result.latency_ms
        text = clean_reply(result.text, persona, others)
        echo = copied_share(text, req.earlier) > ECHO_THRESHOLD
        if text and not echo:
            break
        if attempt < MAX_REDRAFTS:
            discarded.append(text)
            if on_discard is not None:
                on_discard("echo" if text else "empty")
    if not text:
        text = "…"
    turn = Turn(
        index=req.index,
        speaker_id=persona.id,
        kind=req.kind,
        text=text,
        citations=cite(text, req.passages),
        passages=list(req.passages),
        addressed_to=req.addressed_to,
        segment=req.segment,
        model=result.model if result else model.name,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        latency_ms=round(latency, 1),
        regenerated=len(discarded),
    )
    return Spoken(check_citations(turn), discarded)
