"""The episode outline of a debate, rendered as Markdown, with export to a file."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Markdown

from transcripts.models import Debate
from transcripts.outline import build_outline, outline_markdown
from transcripts.store import atomic_write


class OutlineScreen(Screen[None]):
    BINDINGS = [
        Binding(
            "e", "export", "Export", id="outline.export", tooltip="Write the outline to a file"
        ),
        Binding("escape,q", "app.pop_screen", "Back", id="outline.back", tooltip="Back"),
    ]

    def __init__(self, debate: Debate) -> None:
        super().__init__()
        self.debate = debate
        self.markdown = outline_markdown(build_outline(debate))

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Markdown(self.markdown, id="outline")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Outline · {self.debate.id}"

    def action_export(self) -> None:
        path = self.app.store.folder / f"{self.debate.id}.outline.md"  # type: ignore[attr-defined]
        atomic_write(path, self.markdown)
        self.notify(f"Outline written to {path}")
