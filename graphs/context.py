"""The typed run-time context of a show: models, panel, retriever and budgets.

Nodes get it through LangGraph's Runtime, never from globals. It is not
checkpointed: a resumed show rebuilds it from the saved debate's settings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.llm.base import ChatModel
from agents.personas import Persona
from agents.speaker import Check, attribution_check
from core.claims import ClaimBook
from core.models import Passage
from transcripts.claims import book_of

# A search's query: one text, or its parts (PassageIndex.search encodes each on its own).
Query = str | tuple[str, ...]
Search = Callable[[Query, int, Sequence[str] | None], list[Passage]]


class SourceSearch:
    """The search a show runs with over a `PassageIndex`, with what keeps its turns on the
    source: `book`, the sources' sentences with their lines (what claims are chosen from),
    and `check`, the test every draft passes (the attribution measure of
    `transcripts.attribution`, where that module is installed). Both are made on first
    use. A plain search function has neither: claims then come from the passages alone,
    and drafts are kept unchecked."""

    def __init__(self, index: Any) -> None:
        self.index = index
        self._book: ClaimBook | None = None
        self._check: Check | None = None
        self._lock = threading.Lock()

    def __call__(self, query: Query, k: int, sources: Sequence[str] | None = None) -> list[Passage]:
        return self.index.search(query, k, sources=sources)

    @property
    def book(self) -> ClaimBook:
        with self._lock:
            if self._book is None:
                self._book = book_of(self.index)
            return self._book

    @property
    def check(self) -> Check | None:
        with self._lock:
            if self._check is None:
                try:
                    from transcripts.attribution import Attributor
                except ImportError:  # the measure is not part of this installation
                    return None
                self._check = attribution_check(Attributor(self.index))
            return self._check


@dataclass(frozen=True)
class ShowContext:
    debate_id: str = field(metadata={"description": "Id of the debate (graph thread id)."})
    panel: list[Persona] = field(metadata={"description": "Host first, then panelists."})
    model: ChatModel = field(metadata={"description": "Default model for every voice."})
    search: Search = field(metadata={"description": "Passage retrieval: (query, k, sources)."})
    persona_models: dict[str, ChatModel] = field(
        default_factory=dict, metadata={"description": "Per-persona model overrides."}
    )
    policy: str = field(default="round-robin", metadata={"description": "Speaker policy."})
    max_turns: int = field(default=12, metadata={"description": "Most turns, host included."})
    passages_per_turn: int = field(default=2, metadata={"description": "Passages per turn."})
    temperature: float = field(default=0.7, metadata={"description": "Default temperature."})
    seed: int = field(default=0, metadata={"description": "Base seed for sampling."})
    token_budget: int | None = field(default=None, metadata={"description": "Token cap."})
    time_budget_s: float | None = field(default=None, metadata={"description": "Time cap."})
    turn_max_tokens: int = field(default=150, metadata={"description": "Tokens per turn."})
    agenda: str = field(
        default="model", metadata={"description": "'model' plans the agenda, or 'standard'."}
    )
    book: ClaimBook | None = field(
        default=None,
        metadata={
            "description": "The sentences of the sources, each with its line: what a "
            "panelist's claim is chosen from (None: passages are split on their own)."
        },
    )
    check: Check | None = field(
        default=None,
        metadata={
            "description": "The check every draft passes before it is kept (attribution to "
            "its cited lines, no invented names or figures); None: drafts are kept unchecked."
        },
    )
    reply_search: str = field(
        default="tail",
        metadata={
            "description": "A reply's search: 'claim' (question + the claim of the "
            "turn it answers), 'tail' (question + the end of that turn) or 'question' "
            "(the question alone)."
        },
    )

    @property
    def host(self) -> Persona:
        return self.panel[0]

    @property
    def panelists(self) -> list[Persona]:
        return self.panel[1:]

    def persona(self, persona_id: str) -> Persona:
        for p in self.panel:
            if p.id == persona_id:
                return p
        raise KeyError(persona_id)

    def model_for(self, persona_id: str) -> ChatModel:
        return self.persona_models.get(persona_id, self.model)

    def temperature_for(self, persona_id: str) -> float:
        t = self.persona(persona_id).temperature
        return self.temperature if t is None else t
