"""The typed run-time context of a show: models, panel, retriever and budgets.

Nodes get it through LangGraph's Runtime, never from globals. It is not
checkpointed: a resumed show rebuilds it from the saved debate's settings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agents.llm.base import ChatModel
from agents.personas import Persona
from transcripts.models import Passage

Search = Callable[[str, int, Sequence[str] | None], list[Passage]]


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
    reply_search: str = field(
        default="tail",
        metadata={
            "description": "A reply's search: 'tail' (question + end of the turn "
            "it answers) or 'question' (the question alone)."
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
