"""The live screen's status line: segment, turn k/N, tokens/s, elapsed time."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static


@dataclass
class LiveStatus:
    segment: int = 0
    segments: int = 0
    turn: int = 0
    max_turns: int = 0
    tokens_per_s: float = 0.0
    elapsed_s: float = 0.0
    state: str = "starting"

    def render(self) -> Text:
        minutes, seconds = divmod(int(self.elapsed_s), 60)
        return Text(
            f"{self.state} · segment {self.segment + 1}/{max(self.segments, 1)} · "
            f"turn {self.turn}/{self.max_turns} · {self.tokens_per_s:.0f} tok/s · "
            f"{minutes:02d}:{seconds:02d}"
        )


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        padding: 0 1;
    }
    """

    def show(self, status: LiveStatus) -> None:
        self.update(status.render())
