"""One settings model for every front end: env prefix DEBATE_, command-line flags win."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.paths import DATA_DIR, default_debates_dir, moved_debates_note

Policy = Literal["round-robin", "host-directed", "bidding", "addressed-reply"]
POLICIES: tuple[str, ...] = ("round-robin", "host-directed", "bidding", "addressed-reply")
AgendaMode = Literal["auto", "model", "standard"]
ReplySearch = Literal["auto", "claim", "tail", "question"]


class Settings(BaseSettings):
    """Built once per process, frozen, and handed to whatever needs it."""

    model_config = SettingsConfigDict(env_prefix="DEBATE_", frozen=True, extra="ignore")

    data_dir: Path = Field(DATA_DIR, description="Chroma store and checkpoints.")
    out_dir: Path = Field(
        default_factory=default_debates_dir,
        description="Where debates are saved (`core.paths.default_debates_dir`).",
    )
    backend: Literal["embedded", "openai"] = Field("embedded", description="Model backend.")
    model: str | None = Field(None, description="Model name (openai backend).")
    model_path: Path | None = Field(None, description="A GGUF file for the embedded backend.")
    base_url: str | None = Field(None, description="OpenAI-compatible server URL.")
    chroma_url: str | None = Field(None, description="Chroma server URL; local store if unset.")
    checkpoint_url: str | None = Field(None, description="postgresql:// URL for checkpoints.")
    language: Literal["en", "ja"] = "en"
    policy: Policy = "round-robin"
    agenda: AgendaMode = Field(
        "auto",
        description="Who writes the segments: the host's model, the standard agenda, or "
        "auto (standard on the bundled 135M model, whose plans are mostly unusable).",
    )
    reply_search: ReplySearch = Field(
        "auto",
        description="What a reply's passages are searched with: the segment question and the "
        "claim of the turn it answers (claim), the question and the end of that turn (tail), "
        "the question alone, or auto (claim; the question alone on the bundled 135M model).",
    )
    turns: int = Field(12, ge=3, le=500, description="Most turns in a debate, host's included.")
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    seed: int = Field(0, ge=0)
    passages_per_turn: int = Field(2, ge=1, le=8)
    token_budget: int | None = Field(None, ge=100, description="Stop after this many tokens.")
    time_budget_s: float | None = Field(None, gt=0, description="Stop after this many seconds.")
    request_timeout_s: float = Field(60.0, gt=0, description="Per-call timeout (openai).")
    max_retries: int = Field(4, ge=0, le=10)
    speech_wpm: float = Field(150.0, gt=0, description="English speech, words per minute.")
    speech_cpm: float = Field(300.0, gt=0, description="Japanese speech, characters per minute.")
    prices_per_million: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {
            "gpt-4o-mini": (0.15, 0.60),
            "gpt-4o": (2.50, 10.00),
            "gpt-4.1-mini": (0.40, 1.60),
        },
        description="USD per million (input, output) tokens; unlisted models cost 0.",
    )

    def debates_note(self) -> str | None:
        """One line on moving saved debates out of the folder they were saved in before
        (`core.paths.moved_debates_note`), when `out_dir` was taken by default and is
        that folder; None otherwise. A front end says it once."""
        if "out_dir" in self.model_fields_set:
            return None
        return moved_debates_note(self.out_dir)

    def cost(self, model: str, tokens_in: int, tokens_out: int) -> float:
        price_in, price_out = self.prices_per_million.get(model, (0.0, 0.0))
        return (tokens_in * price_in + tokens_out * price_out) / 1_000_000
