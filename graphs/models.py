"""The chat models of a show, made from the settings: the run's model, each persona's own
where its file names one (`model: openai:NAME`), and the model a saved debate ran
with. Every model of a run shares the settings' request timeout and retry budget.

The composition root (`graphs.session`) and the batch runner make models here; the
runner is handed them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agents.llm.base import ChatModel
from agents.llm.factory import make_model, parse_override
from agents.personas import Persona
from core.models import RunSettings
from core.settings import Settings


def model_from(
    settings: Settings,
    backend: str,
    model: str | None,
    model_path: Path | None,
    base_url: str | None,
    seed: int,
) -> ChatModel:
    """make_model with the call options (timeout, retries) every model of a run shares."""
    return make_model(
        backend,
        model=model,
        model_path=model_path,
        base_url=base_url,
        timeout=settings.request_timeout_s,
        max_retries=settings.max_retries,
        seed=seed,
    )


def persona_models(settings: Settings, panel: Sequence[Persona]) -> dict[str, ChatModel]:
    """Models for personas whose files override the model (a mixed panel)."""
    out: dict[str, ChatModel] = {}
    cache: dict[str, ChatModel] = {}
    for p in panel:
        if not p.model:
            continue
        if p.model not in cache:
            backend, name = parse_override(p.model)
            cache[p.model] = model_from(
                settings,
                backend,
                name if backend == "openai" else None,
                Path(name) if backend == "embedded" and name else None,
                settings.base_url,
                settings.seed,
            )
        out[p.id] = cache[p.model]
    return out


def default_model(settings: Settings) -> ChatModel:
    return model_from(
        settings,
        settings.backend,
        settings.model,
        settings.model_path,
        settings.base_url,
        settings.seed,
    )


def saved_model(settings: Settings, rs: RunSettings) -> ChatModel:
    """The model a saved debate ran with (a given --base-url or --model-path wins)."""
    return model_from(
        settings,
        rs.backend,
        rs.model if rs.backend == "openai" else None,
        settings.model_path,
        settings.base_url or rs.base_url,
        rs.seed,
    )
