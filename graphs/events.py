"""The typed event stream of a show.

The graph emits these (through LangGraph's custom stream), the runner adds the
debate-level ones, and every front end (CLI, TUI) consumes only these; no front
end reaches into graph state. All events are frozen dataclasses with a `kind`.

Order for a normal run: DebateStarted, AgendaPlanned, SegmentStarted, then per
turn TurnStarted, PassagesRetrieved, Token..., (TurnDiscarded, Token...)*,
TurnFinished; a SegmentStarted before each new segment; DebateFinished last.
Interrupted is emitted when the show pauses for the producer (interactive
runs) or a model fault; Resumed when it continues. Error carries a one-line
message and ends the stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from transcripts.models import Passage, PersonaSnapshot, Segment, Turn, TurnKind


@dataclass(frozen=True)
class DebateStarted:
    debate_id: str
    topic: str
    language: str
    personas: list[PersonaSnapshot]
    max_turns: int
    parent_id: str | None = None
    kind: Literal["debate_started"] = "debate_started"


@dataclass(frozen=True)
class AgendaPlanned:
    agenda: list[Segment]
    fallback: bool = False
    kind: Literal["agenda_planned"] = "agenda_planned"


@dataclass(frozen=True)
class SegmentStarted:
    index: int
    title: str
    question: str
    kind: Literal["segment_started"] = "segment_started"


@dataclass(frozen=True)
class TurnStarted:
    index: int
    speaker_id: str
    turn_kind: TurnKind
    segment: int
    kind: Literal["turn_started"] = "turn_started"


@dataclass(frozen=True)
class PassagesRetrieved:
    index: int
    passages: list[Passage]
    kind: Literal["passages_retrieved"] = "passages_retrieved"


@dataclass(frozen=True)
class Token:
    index: int
    text: str
    kind: Literal["token"] = "token"


@dataclass(frozen=True)
class TurnDiscarded:
    """A draft was thrown away (it echoed earlier turns); its tokens do not count."""

    index: int
    reason: str
    kind: Literal["turn_discarded"] = "turn_discarded"


@dataclass(frozen=True)
class TurnFinished:
    turn: Turn
    kind: Literal["turn_finished"] = "turn_finished"


@dataclass(frozen=True)
class Interrupted:
    debate_id: str
    after_turn: int
    reason: str = "producer"
    kind: Literal["interrupted"] = "interrupted"


@dataclass(frozen=True)
class Resumed:
    debate_id: str
    from_turn: int
    kind: Literal["resumed"] = "resumed"


@dataclass(frozen=True)
class DebateFinished:
    debate_id: str
    stop_reason: str
    paths: list[str] = field(default_factory=list)
    turns: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0
    kind: Literal["debate_finished"] = "debate_finished"


@dataclass(frozen=True)
class Error:
    message: str
    debate_id: str | None = None
    kind: Literal["error"] = "error"


Event = (
    DebateStarted
    | AgendaPlanned
    | SegmentStarted
    | TurnStarted
    | PassagesRetrieved
    | Token
    | TurnDiscarded
    | TurnFinished
    | Interrupted
    | Resumed
    | DebateFinished
    | Error
)
