"""Pydantic models of the transcript domain: passages, citations, turns and debates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# 2: turns carry the claim they make (`claim`) and whether it passed its check
# (`unsupported`, `voiced_by`); debates of version 1 read as turns without claims.
SCHEMA_VERSION = 2

TurnKind = Literal[
    "opening", "question", "argument", "rebuttal", "interjection", "summary", "closing"
]
# How a panelist's claim stands to the claim of the turn it follows: the first word on a
# question, more in the same direction, or the other side.
Move = Literal["open", "extend", "challenge"]


class Passage(BaseModel):
    """A retrieved span of a source transcript, anchored to its 1-based file lines."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_id: str
    chunk_id: str
    line_start: int = Field(ge=1)
    line_end: int = Field(ge=1)
    text: str
    score: float = 0.0
    gloss: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Passage:
        if self.line_end < self.line_start:
            raise ValueError("line_end is before line_start")
        return self

    @property
    def anchor(self) -> str:
        """`source:start-end`, the form citations are printed in."""
        return f"{self.source_id}:{self.line_start}-{self.line_end}"

    def covers(self, source_id: str, line_start: int, line_end: int) -> bool:
        return (
            source_id == self.source_id
            and self.line_start <= line_start
            and line_end <= self.line_end
        )


class Citation(BaseModel):
    """A pointer from a turn to lines of a source; valid only inside that turn's passages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_id: str
    line_start: int = Field(ge=1)
    line_end: int = Field(ge=1)
    quote: str = ""

    @property
    def anchor(self) -> str:
        return f"{self.source_id}:{self.line_start}-{self.line_end}"


class Claim(BaseModel):
    """What a panelist's turn argues, chosen in code before the model speaks: one sentence
    of a source, anchored to its line. `text` is what the debate's language shows (the
    English gloss in an English debate of a glossed source), `source_text` the sentence as
    the source has it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_id: str
    line_start: int = Field(ge=1)
    line_end: int = Field(ge=1)
    text: str = Field(min_length=1)
    source_text: str = ""
    move: Move = "open"
    answers: int | None = Field(
        None, description="Index of the turn whose claim this one extends or challenges."
    )
    reported: bool = Field(
        False,
        description="The source reports what a simulated persona's real person said, and "
        "the turn quotes that report.",
    )

    @property
    def anchor(self) -> str:
        return f"{self.source_id}:{self.line_start}-{self.line_end}"

    @property
    def key(self) -> tuple[str, int, str]:
        """What makes two claims the same claim: source, line and sentence."""
        return (self.source_id, self.line_start, self.source_text or self.text)

    def citation(self) -> Citation:
        return Citation(
            source_id=self.source_id,
            line_start=self.line_start,
            line_end=self.line_end,
            quote=(self.source_text or self.text)[:160],
        )


@dataclass(frozen=True)
class Verdict:
    """How a turn stands against its cited lines (made by `transcripts.attribution`).

    attributable: the turn argues from its cited lines and invents nothing.
    score: the deciding score, higher is better supported (content-word overlap with the
        cited lines, 0..1, plus a bonus for their search rank); compared with the
        attributor's threshold.
    rank: 1-based rank of the cited lines when the index is searched with the turn's
        own words; None when they are not in the top k.
    invented: names, dates, figures and quotations found in neither the source, the
        question nor the persona cards.
    reason: one short line for front ends; "" when the turn passes.
    overlap: the content-word share alone (0..1).
    drifting: sentences of the turn that wander from its cited lines (long, sharing
        almost no content word with the lines or the question, and not finding the lines
        when searched with): a turn with any is not attributable, however well the rest
        scores.
    searched: whether the index was searched with the whole turn; False when a draft
        check settled on the overlap alone (`rank` is then None and `score` the overlap).
    """

    attributable: bool
    score: float
    rank: int | None
    invented: tuple[str, ...]
    reason: str
    overlap: float = 0.0
    drifting: tuple[str, ...] = ()
    searched: bool = True


class Rating(BaseModel):
    """A judge model's rating of one turn against its cited lines (`agents.judge`): what it is
    asked for, one turn at a time, under this JSON schema."""

    model_config = ConfigDict(extra="forbid")

    supported: Literal["supported", "partly", "not"] = Field(
        description="Do the quoted source lines support what the turn claims?"
    )
    coherent: bool = Field(description="Does the turn make sense as a spoken argument?")
    in_character: bool = Field(description="Does it sound like the persona described?")


class Turn(BaseModel):
    """One spoken turn of the show."""

    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0, description="Position in the debate, from 0 (stored, never shown).")
    speaker_id: str
    kind: TurnKind
    text: str
    citations: list[Citation] = Field(default_factory=list)
    passages: list[Passage] = Field(
        default_factory=list, description="Passages retrieved for this turn."
    )
    addressed_to: str | None = None
    segment: int = 0
    model: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    regenerated: int = Field(
        0, description="How many drafts were discarded (echoes, or drafts failing their check)."
    )
    claim: Claim | None = Field(
        None, description="The source claim a panelist's turn argues (None: a free turn)."
    )
    unsupported: bool = Field(
        False,
        description="Every draft failed its check (attribution to the cited lines, no "
        "invented names or figures, no words put in a panelist's mouth); kept and marked, "
        "never passed off as supported.",
    )
    voiced_by: Literal["model", "template"] = Field(
        "model",
        description="'template': the persona's template states the claim plainly, after "
        "every draft of the model failed its check.",
    )
    attribution: Verdict | None = Field(
        None, description="The turn judged against its cited lines; None if never judged."
    )

    @property
    def number(self) -> int:
        """The turn's number as every front end and export shows it: `index + 1`."""
        return self.index + 1

    def invalid_citations(self) -> list[Citation]:
        """Citations whose lines fall outside every passage retrieved for this turn."""
        return [
            c
            for c in self.citations
            if not any(p.covers(c.source_id, c.line_start, c.line_end) for p in self.passages)
        ]


# A saved turn as read from its JSON file, without validation (`DebateStore.summaries`).
SavedTurn = Mapping[str, Any]


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name)


def _lines(item: Any) -> tuple[str, int, int]:
    """(source id, first line, last line) of a citation or passage, model or saved dict."""
    return (_get(item, "source_id"), _get(item, "line_start"), _get(item, "line_end"))


def grounding(turns: Iterable[Turn | SavedTurn]) -> float:
    """The grounding of a debate's turns, in [0, 1]: the share of its spoken turns (a
    producer's interjection is not one) that cite at least one line and whose every
    citation lies inside a passage retrieved for that turn (as `Turn.invalid_citations`
    judges). A turn with one citation outside its passages is not grounded, whatever else
    it cites; a turn that cites nothing is not grounded. 0.0 when no turn was spoken.

    `turns` are `Turn`s or saved turns as read from a debate's JSON (the library reads
    those, without validating every field of a long debate). This is the one definition
    the library's column, `debate eval` and the benchmarks print. Raises AttributeError or
    TypeError for a saved turn whose fields do not have these shapes."""
    spoken = [t for t in turns if _get(t, "kind") != "interjection"]
    if not spoken:
        return 0.0
    grounded = 0
    for turn in spoken:
        held = [_lines(p) for p in _get(turn, "passages") or ()]
        cited = [_lines(c) for c in _get(turn, "citations") or ()]
        if cited and all(
            any(s == source and a <= first and last <= b for s, a, b in held)
            for source, first, last in cited
        ):
            grounded += 1
    return grounded / len(spoken)


class Segment(BaseModel):
    """One part of the agenda: a question and how many panel turns it gets."""

    model_config = ConfigDict(extra="forbid")

    title: str
    question: str
    turns: int = Field(ge=1, le=20)


class PersonaSnapshot(BaseModel):
    """The persona as it was when the debate ran (files may change later)."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    role: Literal["host", "panelist"]
    title: str = ""
    simulated: bool = False
    color: str = "white"


class RunSettings(BaseModel):
    """The settings a debate ran with. Never holds an API key."""

    model_config = ConfigDict(extra="forbid")

    backend: str
    model: str
    base_url: str | None = None
    policy: str = "round-robin"
    seed: int = 0
    temperature: float = 0.7
    max_turns: int = 12
    persona_models: dict[str, str] = Field(default_factory=dict)
    # "model" (the host's model plans it) or "standard"; debates saved before the
    # choice existed were all planned by the model.
    agenda: Literal["model", "standard"] = "model"
    # What a rebuttal's or summary's passages are searched with: "claim" (the segment
    # question and the claim of the turn it answers, else that turn's end), "tail" (the
    # question and the end of the turn it answers) or "question" (the question alone);
    # debates saved before the choice existed searched with the tail.
    reply_search: Literal["claim", "tail", "question"] = "tail"


class Metrics(BaseModel):
    """Totals over a debate."""

    model_config = ConfigDict(extra="allow")

    turns: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    wall_s: float = 0.0
    cost_usd: float = 0.0
    fallback_picks: int = 0
    model_picks: int = Field(0, description="Next-speaker picks a model was asked for.")


class Debate(BaseModel):
    """A saved debate: what ran, who spoke, what they cited."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    id: str
    parent_id: str | None = None
    forked_at: int | None = Field(
        None,
        description="Index (from 0, like `Turn.index`) of the parent's last turn the fork "
        "keeps; shown as turn `forked_at + 1` (`forked_after`).",
    )
    topic: str
    language: Literal["en", "ja"] = "en"
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    settings: RunSettings
    personas: list[PersonaSnapshot]
    agenda: list[Segment] = Field(default_factory=list)
    turns: list[Turn] = Field(default_factory=list)
    metrics: Metrics = Field(default_factory=Metrics)
    status: Literal["running", "finished", "stopped", "failed"] = "finished"

    @property
    def forked_after(self) -> int | None:
        """The number (from 1, as shown) of the parent's turn a fork branches after."""
        return None if self.forked_at is None else self.forked_at + 1

    def persona(self, persona_id: str) -> PersonaSnapshot | None:
        return next((p for p in self.personas if p.id == persona_id), None)
