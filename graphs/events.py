"""The typed event stream of a show.

The graph emits these (through LangGraph's custom stream), the runner adds the
debate-level ones, and every front end (CLI, TUI) consumes only these; no front
end reaches into graph state. All events are frozen dataclasses with a `kind`.

Order for a normal run: DebateStarted, AgendaPlanned, SegmentStarted, then per
turn TurnStarted, PassagesRetrieved, Token..., (TurnDiscarded, Token...)*,
TurnFinished; a SegmentStarted before each new segment; DebateFinished last.
Interrupted is emitted when the show waits for the producer (a pause, or a
question put to the panel in a steerable run); Resumed when it continues, and
at the start of a resumed debate. A model fault that survives its retries, or a
user error, ends the stream with Error (a one-line message; the debate is saved
as stopped and can be resumed), not with DebateFinished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.models import Passage, PersonaSnapshot, Segment, Turn, TurnKind


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
    """What streamed of turn `index` so far is thrown away; the turn streams again.

    `reason` says why: a draft that failed its checks (an echo of earlier turns, a
    stray from its claim, no finished sentence, a failed attribution check) and is
    redrafted or cut back to its first sentences, a reply that broke off mid-stream,
    or a turn cut by the producer. The tokens of a draft that was generated to its end
    count in the turn's `tokens_in`/`tokens_out` (and the token budget) although its
    text is not kept; a reply that broke off or was cut reported no usage and counts
    nothing."""

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
