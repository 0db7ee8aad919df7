"""A one-line timeline of a debate: position and segment boundaries."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


def timeline_text(width: int, total: int, position: int, boundaries: list[int]) -> Text:
    """`width` cells: ┃ at segment starts, █ for turns played, ░ for the rest."""
    width = max(10, width)
    text = Text()
    if total <= 0:
        return Text("░" * width, style="dim")
    starts = {int(b * width / total) for b in boundaries if 0 < b < total}
    played = int((position + 1) * width / total)
    for cell in range(width):
        if cell in starts:
            text.append("┃", style="bold yellow")
        elif cell < played:
            text.append("█", style="cyan")
        else:
            text.append("░", style="dim")
    return text


class Timeline(Widget):
    DEFAULT_CSS = """
    Timeline {
        height: 1;
    }
    """
    position: reactive[int] = reactive(0)

    def __init__(self, total: int, boundaries: list[int], **kw) -> None:
        super().__init__(**kw)
        self.total = total
        self.boundaries = boundaries

    def render(self) -> Text:
        return timeline_text(self.size.width, self.total, self.position, self.boundaries)
