"""Many debates at once, from one process: `debate batch`.

An asyncio loop schedules the debates, at most `concurrency` at a time, and
spreads them over one or more OpenAI-compatible servers (one model client per
server, shared by the debates sent there) and one search for all. The graph's
nodes call the model synchronously, so each running debate drives its graph on
a worker thread of the batch's own pool; the threads spend their time waiting on the network,
where the GIL is released. Every debate is checkpointed and saved exactly as a
single `debate run` is, so a failed one can be resumed on its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from agents.llm.base import ChatModel
from core.errors import UserError
from core.settings import Settings
from graphs import events
from graphs.context import Search
from graphs.models import persona_models
from graphs.runner import new_show

MAX_CONCURRENCY = 512  # worker threads of one process


@dataclass
class BatchResult:
    """What became of one debate of a batch."""

    index: int
    debate_id: str | None
    base_url: str | None
    status: str  # finished | failed
    turns: int = 0
    tokens_out: int = 0
    wall_s: float = 0.0
    message: str = ""
    paths: list[str] = field(default_factory=list)


@dataclass
class BatchProgress:
    """Counters a front end draws; updated on the event loop only."""

    total: int
    started: int = 0
    finished: int = 0
    failed: int = 0
    turns: int = 0
    tokens_out: int = 0
    began: float = field(default_factory=time.perf_counter)

    @property
    def running(self) -> int:
        return self.started - self.finished - self.failed

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.began


def check_counts(runs: int, concurrency: int) -> None:
    if runs < 1:
        raise UserError("must be at least 1", setting="runs")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UserError(f"must be between 1 and {MAX_CONCURRENCY}", setting="concurrency")


def _drive(runner: Any, post: Callable[[Any], None]) -> BatchResult:
    """Run one debate to its end on a worker thread, posting its events."""
    result = BatchResult(0, runner.debate.id, runner.settings.base_url, "failed")
    began = time.perf_counter()
    try:
        for event in runner.run():
            if isinstance(event, events.TurnFinished | events.DebateFinished | events.Error):
                post(event)
            if isinstance(event, events.DebateFinished):
                result.status = "finished"
                result.turns = event.turns
                result.tokens_out = event.tokens_out
                result.paths = list(event.paths)
            elif isinstance(event, events.Error):
                result.message = event.message
    except Exception as exc:  # one debate's failure must not end the others
        result.message = f"{type(exc).__name__}: {exc}"
        try:
            runner.save("stopped")
        except Exception:
            pass
    result.wall_s = time.perf_counter() - began
    return result


async def run_batch(
    settings: Settings,
    topic: str | Sequence[str],
    *,
    runs: int,
    concurrency: int,
    models: dict[str, ChatModel],
    search: Search,
    checkpointer: Any,
    persona_ids: list[str] | None = None,
    personas_dir: Path | None = None,
    on_progress: Callable[[BatchProgress, BatchResult | None], None] | None = None,
) -> list[BatchResult]:
    """Run `runs` debates on `topic`, at most `concurrency` at once.

    `topic` may be a list: run i takes topic i mod its length. `search` is called
    from many threads at once (PassageIndex.search may be).
    `models` maps each server's base URL to its client; debate i goes to server
    i mod len(models). Seeds are `settings.seed + i`, so the runs differ.
    """
    check_counts(runs, concurrency)
    if not models:
        raise UserError("a batch needs at least one server URL")
    urls = list(models)
    topics = [topic] if isinstance(topic, str) else list(topic)
    progress = BatchProgress(total=runs)
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)

    def on_event(event: Any) -> None:  # on the loop
        if isinstance(event, events.TurnFinished):
            progress.turns += 1
            progress.tokens_out += event.turn.tokens_out
            if on_progress:
                on_progress(progress, None)

    with ThreadPoolExecutor(
        max_workers=min(concurrency, runs), thread_name_prefix="debate"
    ) as pool:

        def post(event: Any) -> None:  # from a worker thread
            loop.call_soon_threadsafe(on_event, event)

        async def one(i: int) -> BatchResult:
            async with gate:
                progress.started += 1
                url = urls[i % len(urls)]
                run_settings = settings.model_copy(
                    update={"seed": settings.seed + i, "base_url": url or None}
                )
                try:
                    runner = new_show(
                        run_settings,
                        topics[i % len(topics)],
                        search=search,
                        checkpointer=checkpointer,
                        model=models[url],
                        persona_models=partial(persona_models, run_settings),
                        persona_ids=persona_ids,
                        personas_dir=personas_dir,
                    )
                except UserError as exc:
                    result = BatchResult(i, None, url, "failed", message=str(exc))
                else:
                    result = await loop.run_in_executor(pool, _drive, runner, post)
                    result.index = i
                if result.status == "finished":
                    progress.finished += 1
                else:
                    progress.failed += 1
                if on_progress:
                    on_progress(progress, result)
                return result

        return list(await asyncio.gather(*(one(i) for i in range(runs))))
