"""Benchmark: the TUI under load.

1. Opening a 5,000-turn debate in the replay screen: time to first paint and
   peak resident memory of the process.
2. Live streaming: how long a key press waits to be handled while a model
   streams tokens (scripted model, 200 tokens/s, in the worker thread).

    python -m bench.tui
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from agents.llm.scripted import ScriptedModel
from agents.personas import load_personas
from core.models import Citation, Debate, Passage, RunSettings, Segment, Turn
from core.settings import Settings
from episodes.store import DebateStore
from graphs.checkpoint import serializer

SPEAKERS = ["host", "altman", "economist", "futurist"]


def long_debate(turns: int) -> Debate:
    passage = Passage(
        source_id="panel",
        chunk_id="panel:3-3:x",
        line_start=3,
        line_end=3,
        text="計算資源こそが新しい通貨になる。",
        gloss="Compute is the new currency.",
    )
    rows = [
        Turn(
            index=i,
            speaker_id=SPEAKERS[i % 4],
            kind="argument" if i % 4 else "question",
            text=f"Turn {i}: compute, chips and power decide who sets the rules of money. " * 3,
            citations=[Citation(source_id="panel", line_start=3, line_end=3)],
            passages=[passage],
            segment=i // 500,
        )
        for i in range(turns)
    ]
    return Debate(
        id="bench-5000",
        topic="A very long show",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        settings=RunSettings(backend="embedded", model="scripted"),
        personas=[p.snapshot() for p in load_personas().values()],
        agenda=[Segment(title=f"Part {i}", question="?", turns=20) for i in range(turns // 500)],
        turns=rows,
    )


async def replay_first_paint(settings: Settings) -> float:
    from tui.app import make_app
    from tui.screens.replay import ReplayScreen

    began = time.perf_counter()
    app = make_app(settings, ScriptedModel(), replay="bench-5000")
    async with app.run_test(size=(120, 40)) as pilot:
        while not (isinstance(app.screen, ReplayScreen) and app.screen.is_mounted):
            await asyncio.sleep(0.005)
        await pilot.pause()
        return time.perf_counter() - began


async def key_latency(settings: Settings, presses: int = 30, embedded: bool = False) -> list[float]:
    from langgraph.checkpoint.memory import InMemorySaver

    from tui.app import make_app
    from tui.screens.live import LiveScreen
    from tui.screens.new_debate import parse_form

    def slow_stream(model: ScriptedModel):
        original = model.stream

        def stream(messages, sampling, *, slot=None):
            for piece in original(messages, sampling, slot=slot):
                time.sleep(0.005)  # 200 tokens/s
                yield piece

        model.stream = stream  # type: ignore[method-assign]
        return model

    if embedded:
        from agents.llm.embedded import EmbeddedModel

        model = EmbeddedModel()
    else:
        words = " ".join(f"word{i}" for i in range(400))
        model = slow_stream(ScriptedModel(responder=lambda m: words))
    app = make_app(
        settings,
        model,
        search=lambda q, k, s=None: [],
        checkpointer=InMemorySaver(serde=serializer()),
    )
    waits: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.start_live(
            parse_form(
                "Latency", ["altman", "economist"], "40", "round-robin", "en", "embedded", ""
            )
        )
        await pilot.pause()
        live = app.screen
        assert isinstance(live, LiveScreen)
        while not live.blocks:
            await asyncio.sleep(0.01)
        handled: list[float] = []
        original = live.action_select

        def timed_select(delta: int) -> None:
            handled.append(time.perf_counter())
            original(delta)

        live.action_select = timed_select  # type: ignore[method-assign]
        for i in range(presses):
            sent = time.perf_counter()
            press = asyncio.create_task(pilot.press("up" if i % 2 else "down"))
            while len(handled) <= i:
                await asyncio.sleep(0.001)
            await press
            waits.append((handled[i] - sent) * 1000)
            await asyncio.sleep(0.05)
        streamed = sum(len(b.text) for b in live.blocks.values())
        live.action_stop()
    assert streamed > 0
    return waits


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    settings = Settings(data_dir=work / "data", out_dir=work / "debates")
    DebateStore(settings.out_dir).save(long_debate(5000))
    paint = asyncio.run(replay_first_paint(settings))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"replay of a 5000-turn debate: first paint {paint:.2f} s, "
        f"peak resident memory {peak_mb:.0f} MB"
    )
    for embedded in (False, True):
        waits = sorted(asyncio.run(key_latency(settings, embedded=embedded)))
        source = "embedded model (llama.cpp)" if embedded else "scripted model at 200 tokens/s"
        print(
            f"key press while the {source} streams ({len(waits)} presses): "
            f"p50 {statistics.median(waits):.1f} ms, "
            f"p95 {waits[int(0.95 * (len(waits) - 1))]:.1f} ms, max {waits[-1]:.1f} ms"
        )


if __name__ == "__main__":
    main()
