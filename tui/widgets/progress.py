"""A one-line account of slow work: a spinner, the stage by name, how far, how long."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def stage_text(stage: str, frame: int, elapsed_s: float, done: int = 0, total: int = 0) -> Text:
    """`⠹ indexing the show's transcript · 120/480 · 7 s`; never markup."""
    out = Text(FRAMES[frame % len(FRAMES)] + " ", style="bold")
    out.append(stage)
    if total:
        out.append(f" · {done}/{total}", style="bold")
    out.append(f" · {int(elapsed_s)} s", style="dim")
    return out


class StageLine(Static):
    """Shows the stage of a slow piece of work while it runs; hidden once it is done.
    Any thread may call `set_stage` through `app.call_from_thread`."""

    DEFAULT_CSS = """
    StageLine {
        height: auto;
        padding: 0 1;
        background: $boost;
        color: $text;
    }
    StageLine.-idle {
        display: none;
    }
    """

    def __init__(self, **kw) -> None:
        super().__init__("", markup=False, **kw)
        self.stage = ""
        self.done = 0
        self.total = 0
        self.began = time.monotonic()
        self.frame = 0
        self.add_class("-idle")

    def on_mount(self) -> None:
        self.set_interval(0.1, self._spin)

    def set_stage(self, stage: str, done: int = 0, total: int = 0) -> None:
        """Name the stage now under way (a new name restarts nothing: time runs from the
        first stage); `done`/`total` say how far, when known."""
        if not self.stage:
            self.began = time.monotonic()
        self.stage, self.done, self.total = stage, done, total
        self.remove_class("-idle")
        self._paint()

    def finish(self) -> None:
        self.stage = ""
        self.add_class("-idle")

    def _spin(self) -> None:
        if self.stage:
            self.frame += 1
            self._paint()

    def _paint(self) -> None:
        self.update(
            stage_text(self.stage, self.frame, time.monotonic() - self.began, self.done, self.total)
        )
