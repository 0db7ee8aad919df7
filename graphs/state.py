"""Graph state: the narrow input a show starts from, and the full state with its reducers."""

from __future__ import annotations

import operator
from typing import Annotated, Literal, TypedDict

from pydantic import BaseModel, ConfigDict

from transcripts.models import Claim, Passage, Segment, Turn, TurnKind


class NextTurn(BaseModel):
    """Who speaks next and how, decided by `select` (or `open`/`close`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    speaker_id: str
    kind: TurnKind
    addressed_to: str | None = None
    producer_question: str | None = None


class Interjection(BaseModel):
    """A producer's question, put to the panel between two turns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    voice: Literal["host", "audience"] = "host"
    to: str | None = None


class ShowInput(TypedDict):
    """What a show starts from."""

    topic: str
    language: str


class ShowState(TypedDict, total=False):
    topic: str
    language: str
    agenda: list[Segment]
    segment: int
    seg_turns: int
    summarized: bool
    turns: Annotated[list[Turn], operator.add]
    next: NextTurn | None
    passages: list[Passage]
    claim: Claim | None  # what the coming panelist turn argues, chosen with its passages
    pending: Interjection | None
    tokens_used: Annotated[int, operator.add]
    elapsed_s: Annotated[float, operator.add]
    fallback_picks: Annotated[int, operator.add]
    model_picks: Annotated[int, operator.add]
    stop_reason: str | None
