"""Build a ChatModel from settings, and per-persona overrides (`backend[:model]`)."""

from __future__ import annotations

from pathlib import Path

from agents.llm.base import ChatModel
from core.errors import UserError


def make_model(
    backend: str,
    *,
    model: str | None = None,
    model_path: Path | None = None,
    base_url: str | None = None,
    timeout: float = 60.0,
    max_retries: int = 4,
    seed: int = 0,
) -> ChatModel:
    if backend == "embedded":
        from agents.llm.embedded import EmbeddedModel

        return EmbeddedModel(model_path, seed=seed)
    if backend == "openai":
        from agents.llm.openai_backend import OpenAIModel

        client = OpenAIModel(
            model or "gpt-4o-mini", base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        client.preflight()
        return client
    raise UserError(f"unknown backend '{backend}' (use embedded or openai)")


def parse_override(spec: str) -> tuple[str, str | None]:
    """`openai:gpt-4o-mini` -> ("openai", "gpt-4o-mini"); `embedded` -> ("embedded", None);
    `embedded:/models/x.gguf` -> ("embedded", "/models/x.gguf")."""
    backend, _, name = spec.partition(":")
    if backend not in ("embedded", "openai"):
        raise UserError(f"persona model {spec!r}: expected embedded[:GGUF] or openai:MODEL")
    return backend, name or None
