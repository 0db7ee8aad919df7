"""Turn composition: persona + show state + passages (+ claim) -> prompt -> model -> Turn.

A panelist's turn voices a claim chosen in code (`agents.claims`): the model gets the
claim whole and says it in the persona's words, within a prompt budget that fits the
model (`PromptBudget`: short on the bundled 135M model, whole passages and the last two
turns on a server model). Each draft is checked before it is kept: it ends on a finished
sentence, does not echo earlier turns, puts no words in the mouth of anyone at the table
(`words_in_mouth`), and passes the injected `check` (attribution to the cited lines, no
invented names or figures). A failing draft is redrafted; when every draft fails, the
persona's template states the claim plainly, and the turn is marked `unsupported` if
even that fails its check. Citations are checked in code against the passages retrieved
for the turn; none outside them survives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from agents.claims import lead, opening_words, stated
from agents.labels import Label, Voices, read_label
from agents.llm.base import (
    ChatModel,
    Completion,
    LabelCheck,
    Message,
    Sampling,
    backoff_s,
    complete,
    label_of,
)
from agents.personas import Persona
from core.errors import ModelError, TransientModelError
from core.models import Citation, Claim, Passage, Turn, TurnKind
from core.text import copied_share, is_japanese, terms, word_stems
from prompts import name_list, render

ECHO_THRESHOLD = 0.5
CLAIM_TEMPERATURE = 0.3  # a small model's first draft of a claim (later drafts warmer)
MAX_REDRAFTS = 2
STREAM_RETRIES = 3  # a reply that broke off mid-stream is asked for again this many times
NOTE_CHARS = {"en": 120, "ja": 90}
PREVIOUS_CHARS = {"en": 90, "ja": 70}
_MARKER = re.compile(r"\[(?:L|lines?\s*)?(\d{1,6})(?:\s*[-–]\s*(\d{1,6}))?\]", re.I)
# Prompt scaffolding a small model copies into its reply ("BEGIN ANSWER: ... END ANSWER:").
# What follows an end marker is not part of the answer.
_SCAFFOLD_END = re.compile(
    r"\s*\bEND[ _](?:OF[ _])?(?:ANSWER|RESPONSE|REPLY)\s*[:：].*", re.S | re.I
)
_SCAFFOLD = re.compile(
    r"\s*\b(?:BEGIN|START)[ _](?:OF[ _])?(?:ANSWER|RESPONSE|REPLY)\s*[:：]\s*", re.I
)
_ASKS = re.compile(
    r"(?:what|who|how|why|when|where|which|should|can|could|would|will|is|are|do|does|if|and|so)\b",
    re.I,
)
SENTENCE_END = (".", "!", "?", "。", "！", "？", '"', "”", "'", "」")


@dataclass(frozen=True)
class PromptBudget:
    """How much of the show a model is given for a turn, and how long it may speak.

    `small` fits the bundled 135M model: the claim whole, the previous turn's tail, two
    or three sentences. `large` fits a server model: the turn's passages whole and the
    last two turns, a longer turn. A model says which it takes with a `prompt_budget`
    attribute ("small" or "large"; "small" when it has none)."""

    name: str
    passages: bool  # the turn's passages whole in the prompt (else only the claim)
    history: int  # earlier turns shown (1: the previous turn's tail only)
    previous_chars: int  # how much of each earlier turn is shown
    max_tokens: int  # a panelist's claim turn
    min_tokens: int
    host_max_tokens: int  # the host's own turns (opening, questions)
    drafts: int  # drafts of a checked turn before the template states its claim


BUDGETS = {
    "small": PromptBudget("small", False, 1, 90, 64, 24, 100, 3),
    "large": PromptBudget("large", True, 2, 700, 320, 0, 200, 3),
}


def budget_for(model: ChatModel) -> PromptBudget:
    """The prompt budget a model takes (its `prompt_budget` attribute; small by default)."""
    return BUDGETS.get(str(getattr(model, "prompt_budget", "small")), BUDGETS["small"])


@dataclass(frozen=True)
class Judgement:
    """A draft judged before it is kept. `ok`: it may be kept; `reason`: one line for
    front ends; `invented`: names, dates, figures found in nothing the turn was given;
    `score`: the check's own score (higher is better supported); `verdict`: the
    attribution measure's `Verdict`, where the check made one."""

    ok: bool
    reason: str = ""
    invented: tuple[str, ...] = ()
    score: float = 0.0
    verdict: Any = None  # the measure's own verdict, saved with the turn (`Turn.attribution`)


# A draft's check: (text, request) -> Judgement. The graph builds one from the
# attribution measure (`attribution_check`); tests inject their own.
Check = Callable[[str, "TurnRequest"], Judgement]


def attribution_check(attributor: Any) -> Check:
    """A draft check over an attribution measure (`transcripts.attribution.Attributor`:
    `judge(text, citations, *, language, allowed, passages) -> Verdict` and
    `invented(text, *, language, allowed)`). A panelist's turn must be attributable to the
    lines it cites (its claim's); a host's must bring in no name, date or figure that
    neither the source, its question nor the persona cards hold."""

    def check(text: str, req: TurnRequest) -> Judgement:
        allowed = [req.topic, req.question, *req.allowed]
        if req.producer_question:
            allowed.append(req.producer_question)
        if req.claim is None and req.kind not in ("argument", "rebuttal"):
            found = tuple(attributor.invented(text, language=req.language, allowed=allowed))
            reason = f"not in the source: {', '.join(found[:3])}" if found else ""
            return Judgement(not found, reason, found)
        citations = [req.claim.citation()] if req.claim is not None else cite(text, req.passages)
        verdict = attributor.judge(
            text,
            citations,
            language=req.language,
            allowed=allowed,
            passages=req.passages,
            question=req.producer_question or req.question,
            settle=True,
            claim=req.claim.text if req.claim is not None else "",
        )
        return Judgement(
            bool(verdict.attributable),
            verdict.reason,
            tuple(verdict.invented),
            verdict.score,
            verdict,
        )

    return check


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
    claim: Claim | None = None  # what a panelist's turn argues (chosen in code)
    history: Sequence[tuple[str, str]] = ()  # earlier turns, oldest first (label, text)
    allowed: Sequence[str] = ()  # texts whose names and figures a turn may use


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
    guests = name_list(req.guests, language)
    if req.producer_question:
        return render("task_answer", language, question=req.producer_question)
    if req.kind == "rebuttal" and req.previous:
        return render("task_rebuttal", language, speaker=prev_speaker)
    if req.kind in ("opening", "question", "summary", "closing"):
        return render(f"task_{req.kind}", language, guests=guests, first=req.first)
    return render("task_argument", language)


def _sources(req: TurnRequest, budget: PromptBudget) -> tuple[str, str]:
    """The passages as the prompt shows them, and their lines: clipped one-line notes on a
    small budget (the English gloss in an English debate), whole passages on a large one."""
    language = req.language
    lines = ", ".join(f"{p.line_start}-{p.line_end}" for p in req.passages)
    if budget.passages:
        notes = "\n".join(
            f"[{p.line_start}-{p.line_end}] {quoted(note_of(p, language))}" for p in req.passages
        )
    else:
        share = NOTE_CHARS[language] // max(1, len(req.passages))
        notes = " / ".join(quoted(clip(note_of(p, language), share)) for p in req.passages)
    return notes, lines


def _earlier(req: TurnRequest, budget: PromptBudget) -> str:
    """The earlier turns a speaker sees: the previous one's tail on a small budget; on a
    large one, the last `budget.history` turns (`req.history`, which ends with the
    previous turn)."""
    language = req.language
    limit = PREVIOUS_CHARS[language] if budget.name == "small" else budget.previous_chars
    if budget.history > 1 and req.history:
        shown = list(req.history[-budget.history :])
    else:
        shown = [req.previous] if req.previous else []
    return "\n".join(
        render("previous", language, speaker=who, text=quoted(clip(text, limit, tail=True)))
        for who, text in shown
    )


def claim_task(req: TurnRequest, budget: PromptBudget) -> str:
    """What a panelist is asked to do with its claim: make it, build on the previous
    speaker's, or answer it."""
    assert req.claim is not None
    if req.producer_question:
        return render("task_claim_answer", req.language, question=quoted(req.producer_question))
    move = req.claim.move if req.previous else "open"
    speaker = req.previous[0] if req.previous else ""
    task = render(f"task_claim_{move}", req.language, speaker=speaker)
    if budget.name == "large":
        task += " " + render("task_claim_long", req.language)
    return task


def turn_messages(
    persona: Persona, req: TurnRequest, budget: PromptBudget | None = None
) -> list[Message]:
    """The two messages of a turn: a stable persona card (cached per speaker) and the turn.
    A panelist's claim turn gets its claim whole; what else it sees is set by `budget`."""
    budget = budget or BUDGETS["small"]
    language = req.language
    notes, lines = _sources(req, budget)
    previous = _earlier(req, budget)
    if req.claim is not None:
        claim = req.claim
        where = (
            str(claim.line_start)
            if claim.line_start == claim.line_end
            else f"{claim.line_start}-{claim.line_end}"
        )
        sources = render("sources", language, lines=lines, note=notes) if budget.passages else ""
        user = render(
            "turn_claim",
            language,
            topic=req.topic,
            question=req.question,
            sources=sources,
            line=where,
            claim=quoted(claim.text),
            previous=previous,
            task=claim_task(req, budget),
        )
        user = re.sub(r"\n{2,}", "\n", user)
        return [system_message(persona, language), {"role": "user", "content": user}]
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


def card_head(persona: Persona, language: str) -> list[Message]:
    """The beginning every prompt of this speaker shares: its persona card, up to where the
    turn's own text begins (the last message is unfinished)."""
    return [system_message(persona, language), {"role": "user", "content": ""}]


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
    it are dropped: no voice speaks for another (a simulated person least of all). The
    labels are judged by the same check as the stream (`StreamGate`, a `LabelCheck`);
    prompt scaffolding, the `<<<`/`>>>` quotation marks and spacing are tidied, and a
    reply the token limit cut off ends on its last finished sentence."""
    text = _SCAFFOLD_END.sub("", _SCAFFOLD.sub(" ", text))
    text = text.strip().strip('"“”').strip()
    kept: list[str] = []
    gate = StreamGate(kept.append, persona, other_voice(persona, others))
    gate(text)
    gate.flush()
    text = " ".join("".join(kept).split())
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


class StreamGate(LabelCheck):
    """The label check (`LabelCheck`) of one speaker's reply: its own label on the first
    line is dropped, another voice's line (as `foreign` judges) ends what passes. On the
    stream it passes text on to `on_token` as soon as each line's label is judged; on the
    finished text (`clean_reply`) it cuts the same way, so what the live stream shows is
    what the saved turn says."""

    def __init__(
        self, on_token: Callable[[str], None], persona: Persona, foreign: Callable[[str], bool]
    ) -> None:
        super().__init__(foreign, own=lambda label: _own_label(label, persona), emit=on_token)


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
    foreign = sampling.stop_label or (lambda _label: False)

    def once() -> Completion:
        gate = StreamGate(on_token, persona, foreign) if on_token is not None else None
        result = complete(model, messages, sampling, slot=slot, on_token=gate)
        if gate is not None:
            gate.flush()
        return result

    def dropped(state: RetryCallState) -> None:
        if on_discard is not None and state.outcome is not None:
            on_discard(f"the reply broke off, trying again ({state.outcome.exception()})")

    retrying = Retrying(
        retry=retry_if_exception_type(TransientModelError),
        stop=stop_after_attempt(STREAM_RETRIES + 1),
        wait=lambda state: backoff_s(state.attempt_number - 1),
        before_sleep=dropped,
        reraise=True,
    )
    try:
        return retrying(once)
    except TransientModelError as exc:
        raise ModelError(f"{exc}; gave up after {STREAM_RETRIES} retries") from exc


_SPEECH = (
    r"(?:said|says|say|told|tells|argued|argues|claimed|claims|stated|states|insisted|"
    r"insists|wrote|writes|put it|puts it|called it|calls it|believes|believed|thinks|"
    r"thought|would say|has said|had said|once said|added|adds|replied|replies)"
)
_NAMED_SPEECH = re.compile(
    rf"\b([A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){{0,2}})\s*(?:\([^)]*\)\s*)?(?:,\s*)?{_SPEECH}\b"
    rf"|\b(?:as|according to|in the words of|to quote)\s+([A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){{0,2}})"
    rf"|\b([A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){{0,2}})(?:'s|’s)\s+(?:words|quote|line|view)\b"
)
_YOU_SAID = re.compile(
    r"\b(?:as you (?:said|put it|mentioned|noted|suggested|described)|"
    r"(?:that|which|the \w+) you (?:mentioned|described|raised|brought up)|"
    r"you (?:said|told|claimed|argued|mentioned))\b",
    re.I,
)


def words_in_mouth(
    text: str, persona: Persona, others: Sequence[str], claim: Claim | None = None
) -> list[str]:
    """Where a draft puts words in the mouth of someone at the table: a line labelled
    with another speaker's name (however spelled, as `other_voice` judges), a name before
    a verb of saying ("Keiko Tanabe said", "as Tanabe put it", "Ren's words"), or "you
    said". A person the claim itself names may be reported as the source reports them.
    Returns the offending phrases (empty: none)."""
    foreign = other_voice(persona, others)
    allowed = (claim.text + " " + claim.source_text) if claim is not None else ""
    found: list[str] = []
    for line in text.splitlines():
        label = label_of(line)
        if label is not None and foreign(label):
            found.append(label.strip())
    for m in _NAMED_SPEECH.finditer(text):
        name = (m.group(1) or m.group(2) or m.group(3) or "").strip()
        words = name.split()
        # "I said", "She said": a capital that names nobody at the table
        while words and not foreign(" ".join(words) + " said"):
            words = words[1:]
        if not words:
            continue
        if any(re.search(rf"\b{re.escape(w)}\b", allowed) for w in words if len(w) > 2):
            continue
        found.append(m.group(0).strip())
    if _YOU_SAID.search(text):
        found.append(_YOU_SAID.search(text).group(0))  # type: ignore[union-attr]
    return list(dict.fromkeys(found))


def ends_sentence(text: str) -> bool:
    """Whether a reply ends on a finished sentence (not on an ellipsis or mid-word)."""
    text = text.rstrip()
    return bool(text) and text.endswith(SENTENCE_END) and not text.endswith(("...", "…"))


def _sentences(text: str) -> list[str]:
    parts = re.findall(r"[^.!?。！？]+(?:[.!?。！？]+[\"”'」]?|$)", text)
    return [p.strip() for p in parts if p.strip()]


# Where a sentence ends in streamed text: its mark (and a closing quote), then a space;
# in Japanese at the mark itself.
_SENTENCE_BREAK = re.compile(r"[.!?][\"”'」)]?(?=\s)|[。！？][」』）)]?")
ON_CLAIM_WORDS = 2  # content words a later sentence shares with the claim to stay
ON_CLAIM_SENTENCES = 3  # sentences of a small model's claim turn, besides its lead-in
CLAIM_SHARE = 0.6  # of the content words of the sentence that says the claim, from the claim
LATER_SHARE = 0.5  # of a later sentence's content words, from the claim
CLAIM_COVER = 0.5  # of the claim's content words, said somewhere in what the turn keeps
# Content words a small model's turn may bring in that its claim does not have: read
# debates had it end a claim on words of its own ("…will gradually come to be seen as an
# enemy", "what if there are no more basic income machines?"). Its paraphrases keep the
# claim's stems ("becoming currency", "computation"), so none is needed.
ADDED_MOST = 0
# Words of any kind (function words too) a small model's claim sentence may bring in: a
# read debate kept "In the same way, money is used in the world — what people all over
# the world need it.", every content word its claim's and the sentence garbled by "what".
NEW_WORDS_MOST = 0
# The claim's last content words a small model's turn must keep: "…with compute resources
# in a distributed state" voiced as "…with compute resources" kept "state" and lost its point.
LAST_TERMS = 2
# ...besides these, which join or hedge what is there without changing what it says ("a
# single AI may hold 51%" for "it is entirely possible that a single AI ends up holding").
HARMLESS = frozenset("a an the and also so too very just really may might could can".split())


class ClaimFocus:
    """Keeps a small model on its claim, sentence by sentence: after the lead-in, the
    first sentence (which starts with the claim's own words), then each next one that
    takes at least ON_CLAIM_WORDS, and LATER_SHARE of its content words, from the claim,
    up to ON_CLAIM_SENTENCES; the first that does not ends the turn. Used on the stream
    (what is passed on to `on_token` is what the turn keeps) and on the finished text.
    `strays` then tells whether what is kept says the claim at all."""

    def __init__(
        self, claim: Claim, lead: str, on_token: Callable[[str], None] | None = None
    ) -> None:
        self.claim = claim
        self.claim_terms = terms(claim.text)
        self.lead = lead
        self.lead_sentences = len(_sentences(lead)) if lead.strip() else 0
        self.on_token = on_token
        self.buffer = ""
        self.passed = ""  # what the stream has passed on
        self.count = 0  # sentences judged
        self.closed = False

    def keeps(self, sentence: str) -> bool:
        """Whether the next sentence stays (it is judged once, in order)."""
        index = self.count - self.lead_sentences
        self.count += 1
        if index < 1:
            return True  # the lead-in, and the sentence that says the claim
        if index >= ON_CLAIM_SENTENCES:
            return False
        words = terms(sentence)
        shared = len(words & self.claim_terms)
        return shared >= ON_CLAIM_WORDS and shared >= LATER_SHARE * len(words)

    def strays(self, text: str, names: Sequence[str]) -> str:
        """Why a kept text does not say its claim ("" when it does): the sentence that
        should say it takes less than CLAIM_SHARE of its content words from the claim, the
        text says less than CLAIM_COVER of the claim's content words (its point was cut
        off or never made) or not the claim's last LAST_TERMS content words (where its
        point lands),
        it names someone at the table (`names`) whom the claim
        does not name, or it brings in more than ADDED_MOST content words of its own, or
        more than NEW_WORDS_MOST words of any kind but the HARMLESS ones (contractions
        spelled out)."""
        said = text[len(self.lead) :] if text.startswith(self.lead) else text
        first = _sentences(said)[:1]
        words = terms(first[0]) if first else set()
        if not words or len(words & self.claim_terms) < CLAIM_SHARE * len(words):
            return "strays from its claim"
        if len(terms(said) & self.claim_terms) < CLAIM_COVER * len(self.claim_terms):
            return "leaves most of its claim unsaid"
        for name in names:
            for word in dict.fromkeys([name, *name.split()]):
                if len(word) > 2 and re.search(rf"\b{re.escape(word)}\b", text):
                    if not re.search(rf"\b{re.escape(word)}\b", self.claim.text):
                        return f"names {word}, whom its claim does not"
        added = sorted(terms(said) - self.claim_terms - terms(self.claim.source_text or ""))
        if len(added) > ADDED_MOST:
            return f"adds to its claim ({', '.join(added[:3])})"
        known = set(word_stems(self.claim.text)) | HARMLESS
        new = list(dict.fromkeys(w for w in word_stems(said) if w not in known))
        if len(new) > NEW_WORDS_MOST:
            return f"adds words to its claim ({', '.join(new[:3])})"
        kept = terms(said)
        for last in _last_terms(self.claim.text, LAST_TERMS):
            if last not in kept:
                # a spoken sentence lands its point at its end: "…comes to rule the world"
                # voiced as "…rather than the nation comes to rule"
                return f"leaves out where its claim ends ({last})"
        return ""

    def __call__(self, piece: str) -> None:
        if self.closed:
            return
        self.buffer += piece
        while not self.closed:
            m = _SENTENCE_BREAK.search(self.buffer)
            if m is None:
                return
            sentence, self.buffer = self.buffer[: m.end()], self.buffer[m.end() :]
            self._pass(sentence)

    def flush(self) -> None:
        if not self.closed and self.buffer.strip():
            tail = self.buffer.rstrip()
            if _unopened(self.passed + tail):
                tail = tail[:-1]
            self._pass(tail)
        self.buffer = ""

    def _pass(self, sentence: str) -> None:
        if self.keeps(sentence):
            self.passed += sentence
            if self.on_token is not None:
                self.on_token(sentence)
        else:
            self.closed = True

    def cut(self, text: str) -> str:
        """The finished text as the stream kept it (judged afresh)."""
        self.count, self.closed = 0, False
        kept: list[str] = []
        rest = text
        while rest and not self.closed:
            m = _SENTENCE_BREAK.search(rest)
            sentence, rest = (rest[: m.end()], rest[m.end() :]) if m else (rest, "")
            if self.keeps(sentence):
                kept.append(sentence)
            else:
                self.closed = True
        text = " ".join("".join(kept).split())
        return text[:-1].rstrip() if _unopened(text) else text


def _last_terms(text: str, count: int) -> list[str]:
    """The stems of the last `count` content words of an English text (none of Japanese)."""
    found: list[str] = []
    for word in reversed(text.split()):
        if is_japanese(word):
            return []
        found += [t for t in terms(word) if t not in found]
        if len(found) >= count:
            break
    return found[:count]


def _unopened(text: str) -> bool:
    """Whether a text ends on a closing quote that opens nothing (a small model's habit)."""
    return (text.endswith('"') and text.count('"') % 2 == 1) or (
        text.endswith("”") and text.count("“") < text.count("”")
    )


@dataclass
class _Draft:
    text: str
    problem: str = ""  # why it may not be kept ("" when it may)
    judged: Judgement | None = None


def _judge(
    text: str,
    req: TurnRequest,
    persona: Persona,
    others: Sequence[str],
    check: Check | None,
) -> _Draft:
    """A draft's problems, in the order they are looked for: unfinished, words in another
    voice's mouth, the injected check."""
    if not text or text == "…":
        return _Draft(text, "empty")
    if not ends_sentence(text):
        return _Draft(text, "unfinished")
    mouth = words_in_mouth(text, persona, others, req.claim)
    if mouth:
        return _Draft(text, f"words put in a panelist's mouth ({mouth[0]})")
    if check is None:
        return _Draft(text)
    judged = check(text, req)
    return _Draft(text, "" if judged.ok else judged.reason or "failed its check", judged)


def _trimmed(
    draft: _Draft, req: TurnRequest, persona: Persona, others: Sequence[str], check: Check | None
) -> _Draft | None:
    """The draft cut back to its first sentences, where that passes (a small model often
    says its point, then wanders): at most two cuts are judged, longest first; the first
    sentence is kept alone only when it holds more than a persona's opener."""
    sentences = _sentences(draft.text)
    if len(sentences) < 2:
        return None
    tried = 0
    for n in range(len(sentences) - 1, 0, -1):
        head = " ".join(sentences[:n])
        if len(head.split()) < 8:
            break
        got = _judge(head, req, persona, others, check)
        if not got.problem:
            return got
        tried += 1
        if tried == 2:
            break
    return None


def _template(req: TurnRequest, persona: Persona) -> str:
    """What a turn says when no draft passed (or, on a small budget, what a host's opening
    or question is): a claim stated plainly after its lead-in, or the host's turn from
    its template."""
    if req.claim is not None:
        return stated(req.claim, req.language, req.index)
    guests = name_list(req.guests, req.language)
    question = req.question.strip()
    if req.kind == "question" and req.language == "en" and _ASKS.match(question):
        question = question[:1].lower() + question[1:]  # "Ren Kurosawa, who gains…"
    name = "plain_question" if req.kind == "question" else "plain_opening"
    return render(name, req.language, first=req.first, question=question, guests=guests)


def asks_model(persona: Persona, kind: TurnKind, budget: PromptBudget) -> bool:
    """Whether a turn is generated by the model (a small budget's host opening and
    questions come from the host's templates)."""
    return not (budget.name == "small" and persona.role == "host" and kind in _HOST_TEMPLATED)


_HOST_TEMPLATED = ("opening", "question")


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
    check: Check | None = None,
) -> Spoken:
    """Generate one turn.

    A claim turn voices `req.claim` within the model's `PromptBudget`; on a small budget
    the model starts from the claim's first words, cool (CLAIM_TEMPERATURE), and keeps to
    it (`ClaimFocus`). Drafts are checked (`_judge`) and redrafted, warmer each time; a
    failing draft may be cut back to the sentences that pass. When no draft passes, the
    claim is stated plainly after its lead-in (`voiced_by="template"`), marked
    `unsupported` if even that fails the check. A host's opening and question go the same
    way, from the host's templates (on a small budget without asking the model). Other
    turns keep their last draft, marked `unsupported` when it put words in a panelist's
    mouth or failed the check. Echoes of earlier turns are always redrafted."""
    budget = budget_for(model)
    claim = req.claim
    hosting = persona.role == "host" and req.kind in _HOST_TEMPLATED and claim is None
    templated = claim is not None or hosting
    if (hosting and not asks_model(persona, req.kind, budget)) or (claim and claim.reported):
        # The bundled model's openings and questions asked nothing or invented guests: the
        # host's templates say what the show asks. A simulated person quotes the show's
        # report of their words as it stands: no model rewords what a real person is
        # reported to have said.
        return _stated(model, persona, req, others, on_token, check, discarded=[])
    messages = turn_messages(persona, req, budget)
    discarded: list[str] = []
    tokens_in = tokens_out = 0
    latency = 0.0
    result: Completion | None = None
    min_tokens = max_tokens * 2 // 3
    if claim is not None:
        max_tokens, min_tokens = budget.max_tokens, budget.min_tokens
    elif req.kind in ("opening", "question", "summary"):
        max_tokens = max(40, max_tokens * 2 // 3)
        min_tokens = max_tokens // 2
        if budget.name == "large":
            max_tokens, min_tokens = budget.host_max_tokens, 0
    openers: list[str] = []
    free = claim is None and not req.producer_question  # a claim turn starts from its claim
    if free and req.kind in ("argument", "rebuttal", "question", "summary"):
        pool = persona.summary_openers if req.kind == "summary" else persona.openers
        openers = [
            o.replace("$first", req.first)
            for o in pool.get(req.language, [])
            if req.first or "$first" not in o
        ]
    focused = claim is not None and budget.name == "small"
    lead_in = lead(claim, req.language, req.index) if focused and claim is not None else ""
    base = CLAIM_TEMPERATURE if focused else temperature
    foreign = other_voice(persona, others)
    drafts = budget.drafts if (templated or check is not None) else MAX_REDRAFTS + 1
    kept: _Draft | None = None
    last: _Draft | None = None
    for attempt in range(drafts):
        if focused and claim is not None:
            # The claim's own first words: a 135M model told a point wanders from it, one
            # that has started saying it mostly goes on saying it.
            words = opening_words(claim, req.language)
            opener = f"{lead_in} {words}".strip() if req.language == "en" else lead_in + words
        else:
            # A persona's own lead-in, rotating by turn: a small model holds a voice it
            # has started far better than one it is only told about.
            opener = openers[(req.index + req.seed + attempt) % len(openers)] if openers else ""
        sampling = Sampling(
            temperature=min(1.3, base + 0.15 * attempt),
            max_tokens=max_tokens,
            repeat_penalty=1.3,
            seed=req.seed * 1000 + req.index * 10 + attempt,
            min_tokens=min_tokens,
            end_on_sentence=True,
            prefix=opener,
            stop_label=foreign,  # no need to generate what `clean_reply` cuts
        )
        focus = ClaimFocus(claim, lead_in, on_token) if focused and claim is not None else None
        result = _complete_retrying(
            model,
            messages,
            sampling,
            persona,
            persona.id,
            focus if focus is not None and on_token is not None else on_token,
            on_discard,
        )
        if focus is not None:
            focus.flush()
        tokens_in += result.tokens_in
        tokens_out += result.tokens_out
        latency += result.latency_ms
        text = clean_reply(result.text, persona, others)
        if focus is not None:
            text = focus.cut(text)
        strays = focus.strays(text, [persona.name, *others]) if focus is not None else ""
        if text and copied_share(text, req.earlier) > ECHO_THRESHOLD:
            last = _Draft(text, "echo")
        elif text and strays:
            last = _Draft(text, strays)
        else:
            last = _judge(text, req, persona, others, check)
            if last.problem and last.problem not in ("empty", "echo", "unfinished"):
                cut = _trimmed(last, req, persona, others, check)
                if cut is not None:
                    if on_discard is not None:
                        on_discard(f"cut to its first sentences ({last.problem})")
                    if on_token is not None:
                        on_token(cut.text)
                    kept = cut
                    break
        if not last.problem:
            kept = last
            break
        discarded.append(last.text)
        if on_discard is not None and (attempt < drafts - 1 or templated):
            on_discard(last.problem)
    if kept is None and templated:
        spoken = _stated(model, persona, req, others, on_token, check, discarded)
        turn = spoken.turn
        turn.tokens_in, turn.tokens_out = tokens_in, tokens_out
        turn.latency_ms = round(latency, 1)
        turn.model = result.model if result else model.name
        return spoken
    unsupported = False
    final = kept if kept is not None else last
    if kept is None:
        text = (last.text if last is not None else "") or "…"
        problem = last.problem if last is not None else ""
        unsupported = problem not in ("", "empty", "echo", "unfinished")
        if last is not None and discarded and discarded[-1] == last.text:
            discarded.pop()
    else:
        text = kept.text
    turn = _turn(
        req,
        persona,
        text,
        model=result.model if result else model.name,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        latency_ms=round(latency, 1),
        regenerated=len(discarded),
        unsupported=unsupported,
        attribution=_verdict(final),
    )
    return Spoken(check_citations(turn), discarded)


def _turn(req: TurnRequest, persona: Persona, text: str, **fields: Any) -> Turn:
    """A panelist's turn of `req` saying `text`, cited by its claim's lines (or, without a
    claim, by the passage it draws on most); `fields` are the rest of the Turn."""
    claim = req.claim
    return Turn(
        index=req.index,
        speaker_id=persona.id,
        kind=req.kind,
        text=text,
        citations=[claim.citation()] if claim is not None else cite(text, req.passages),
        passages=list(req.passages),
        addressed_to=req.addressed_to,
        segment=req.segment,
        claim=claim,
        **fields,
    )


def _verdict(draft: _Draft | None) -> Any:
    """The attribution verdict a kept draft was judged with (None when none was made)."""
    judged = draft.judged if draft is not None else None
    return judged.verdict if judged is not None else None


def _stated(
    model: ChatModel,
    persona: Persona,
    req: TurnRequest,
    others: Sequence[str],
    on_token: Callable[[str], None] | None,
    check: Check | None,
    discarded: list[str],
) -> Spoken:
    """A turn from its template (`_template`), judged like a draft: `unsupported` when it
    fails the check (a claim that itself names someone the check does not allow)."""
    text = _template(req, persona)
    got = _judge(text, req, persona, others, check)
    if on_token is not None:
        on_token(text)
    turn = _turn(
        req,
        persona,
        text,
        model="template",
        regenerated=len(discarded),
        unsupported=bool(got.problem) and got.problem != "unfinished",
        voiced_by="template",
        attribution=_verdict(got),
    )
    return Spoken(check_citations(turn), discarded)
