"""Graph state: the narrow input a show starts from, and the full state with its reducers."""

from __future__ import annotations

import operator
from typing import Annotated, Literal, TypedDict

from pydantic import BaseModel, ConfigDict

from core.models import Claim, Passage, Segment, Turn, TurnKind


class NextTurn(BaseModel):
    """Who speaks next and how, decided by `select` (or `open`, `moderate`, `close`)."""

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
    """The full state of a show, checkpointed after every node.

    Fields marked "summed" have an `operator.add` reducer: a node returns its own
    increment, and the state holds the total since the debate began (across resumes;
    a fork starts from its parent's totals at the fork point).

    - `topic`: the producer's topic, as checked (`runner.check_topic`).
    - `language`: the debate's language code, "en" or "ja".
    - `agenda`: the segments, in order (`plan`: the host's model or the standard agenda).
    - `segment`: 0-based index into `agenda` of the segment under way.
    - `seg_turns`: panel turns spoken in that segment (the host's turns do not count).
    - `summarized`: whether the host's summary of that segment has been decided.
    - `turns`: every turn spoken, in order (appended; a turn's `index` is its position),
      a producer's interjection included.
    - `next_turn`: the turn decided and not yet spoken (who speaks, and how): set by
      `open`, `select`, `moderate` and `close`, cleared by `speak`; None when `select`
      decided to stop or to put a producer's question first. Not LangGraph's snapshot
      `.next`, which names the next node.
    - `passages`: the passages `retrieve` found for the coming turn; cleared by `speak`.
    - `claim`: the claim the coming panelist turn argues, chosen with its passages.
    - `pending`: a producer's question waiting to be put to the panel (set by the runner
      at an interrupt, taken by `moderate`).
    - `tokens_used`: summed, in tokens: prompt plus completion tokens of every model call
      (turns with their discarded drafts, the agenda plan, speaker picks and bids), as
      the model reports them. What `token_budget` is held against.
    - `elapsed_s`: summed, in seconds: each node's own run time (`nodes.timed`,
      `time.perf_counter`), not wall time: time between nodes (checkpoint writes, a
      producer's pause, a process stopped before a resume) is not in it. What
      `time_budget_s` is held against; saved as the debate's `Metrics.wall_s`.
    - `fallback_picks`: summed: speaker picks where the model's pick was unusable and
      the least-heard panelist was taken instead.
    - `model_picks`: summed: speaker picks a model was asked for (host pick or bids).
    - `stop_reason`: why the show is ending ("max_turns", "token_budget", "time_budget",
      "agenda_done"); None while it runs.
    """

    topic: str
    language: str
    agenda: list[Segment]
    segment: int
    seg_turns: int
    summarized: bool
    turns: Annotated[list[Turn], operator.add]
    next_turn: NextTurn | None
    passages: list[Passage]
    claim: Claim | None
    pending: Interjection | None
    tokens_used: Annotated[int, operator.add]
    elapsed_s: Annotated[float, operator.add]
    fallback_picks: Annotated[int, operator.add]
    model_picks: Annotated[int, operator.add]
    stop_reason: str | None
