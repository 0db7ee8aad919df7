"""The live screen's status line: state, segment, turn k/N, tokens/s, elapsed time."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

# How a show's stop reason reads on screen.
STOP_REASONS = {
    "agenda_done": "finished · agenda done",
    "max_turns": "finished · turn limit reached",
    "token_budget": "finished · token budget spent",
    "time_budget": "finished · time budget spent",
    "stopped": "stopped · saved",
}


def stop_words(reason: str) -> str:
    """A stop reason (`max_turns`) as words (`finished · turn limit reached`)."""
    return STOP_REASONS.get(reason, reason.replace("_", " "))


@dataclass
class LiveStatus:
    segment: int = 0
    segments: int = 0
    turn: int = 0  # the turn under way or last spoken, counted from 1
    max_turns: int = 0  # the show's turn limit (a producer's question does not count)
    questions: int = 0  # producer's questions so far: each adds a turn past the limit
    tokens_per_s: float = 0.0
    elapsed_s: float = 0.0
    state: str = "starting"

    @property
    def total(self) -> int:
        """Most turns the show can have now: its limit, the producer's questions, and never
        fewer than the turn shown."""
        return max(self.max_turns + self.questions, self.turn)

    def render(self) -> Text:
        minutes, seconds = divmod(int(self.elapsed_s), 60)
        turns = f"turn {self.turn}/{self.total}" if self.max_turns else "turn –"
        return Text(
            f"{self.state} · segment {self.segment + 1}/{max(self.segments, 1)} · "
            f"{turns} · {self.tokens_per_s:.0f} tok/s · {minutes:02d}:{seconds:02d}"
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
