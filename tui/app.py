"""The Textual app: a first screen listing saved debates (the full UI is planned)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header

from settings import Settings
from transcripts.store import DebateStore


class DebateApp(App[None]):
    TITLE = "Panel debates"
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="library")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("id", "topic", "language", "turns", "status")
        for d in DebateStore(self.settings.out_dir).list():
            table.add_row(d.id, d.topic[:60], d.language, str(len(d.turns)), d.status)


def make_app(settings: Settings) -> DebateApp:
    return DebateApp(settings)


def main(settings: Settings) -> int:
    make_app(settings).run()
    return 0
