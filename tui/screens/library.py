"""The library: saved debates, sortable and filterable."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input

from agents.errors import UserError
from transcripts.models import Debate
from transcripts.store import DebateSummary
from tui.widgets.dialogs import ConfirmDialog

COLUMNS = ("topic", "date", "lang", "turns", "model", "grounding", "branches", "status")


def grounding_rate(debate: Debate) -> float:
    """Share of turns with at least one citation, all of them valid."""
    spoken = [t for t in debate.turns if t.kind != "interjection"]
    if not spoken:
        return 0.0
    grounded = sum(1 for t in spoken if t.citations and not t.invalid_citations())
    return grounded / len(spoken)


def library_rows(debates: list[DebateSummary], needle: str = "") -> list[tuple[str, tuple]]:
    """(debate id, cells) for the table; `needle` filters on topic, id, model, language."""
    children: dict[str, int] = {}
    for d in debates:
        if d.parent_id:
            children[d.parent_id] = children.get(d.parent_id, 0) + 1
    rows = []
    needle = needle.lower().strip()
    for d in debates:
        hay = f"{d.topic} {d.id} {d.model} {d.language} {d.status}".lower()
        if needle and needle not in hay:
            continue
        topic = ("↳ " if d.parent_id else "") + d.topic
        rows.append(
            (
                d.id,
                (
                    topic[:60],
                    d.created_at[:16].replace("T", " "),
                    d.language,
                    d.turns,
                    d.model[:28],
                    f"{d.grounding:.0%}",
                    children.get(d.id, 0),
                    d.status,
                ),
            )
        )
    return rows


def sort_key(cell: object) -> tuple[int, object]:
    """A cell as the table sorts it: numbers as numbers, text by its plain characters."""
    if isinstance(cell, int | float):
        return (0, cell)
    return (1, cell.plain if isinstance(cell, Text) else str(cell))


class LibraryScreen(Screen[None]):
    BINDINGS = [
        Binding("n", "new", "New debate", id="library.new", tooltip="Start a new debate"),
        Binding("enter", "replay", "Replay", id="library.replay", tooltip="Replay the debate"),
        Binding("o", "outline", "Outline", id="library.outline", tooltip="Episode outline"),
        Binding("d", "delete", "Delete", id="library.delete", tooltip="Delete (asks first)"),
        Binding("s", "sort", "Sort", id="library.sort", tooltip="Sort by the next column"),
        Binding("slash", "filter", "Filter", id="library.filter", tooltip="Filter debates"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("q", "app.quit", "Quit", id="library.quit", tooltip="Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sort_column = 1
        self.sort_reverse = True

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder="filter: topic, id, model, language…", id="filter", classes="hidden"
        )
        yield DataTable(id="library", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        table.focus()  # rows come with the screen-resume event that follows

    def on_screen_resume(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        needle = self.query_one("#filter", Input).value
        for debate_id, cells in library_rows(self.app.store.summaries(), needle):  # type: ignore[attr-defined]
            # Topics, models and ids come from files: cells are Text, never markup.
            table.add_row(*(Text(c) if isinstance(c, str) else c for c in cells), key=debate_id)
        if table.row_count:
            table.sort(COLUMNS[self.sort_column], key=sort_key, reverse=self.sort_reverse)
        self.sub_title = f"{table.row_count} debates · sorted by {COLUMNS[self.sort_column]}"

    def selected_id(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            self.notify("No debate selected. Press n to start one.", severity="warning")
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        index = COLUMNS.index(str(event.column_key.value))
        self.sort_reverse = not self.sort_reverse if index == self.sort_column else False
        self.sort_column = index
        self.refresh_rows()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_replay()

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.refresh_rows()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("hidden")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.add_class("hidden")
        self.query_one(DataTable).focus()

    def action_sort(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(COLUMNS)
        self.sort_reverse = False
        self.refresh_rows()

    def action_new(self) -> None:
        from tui.screens.new_debate import NewDebateScreen

        self.app.push_screen(NewDebateScreen())

    def action_replay(self) -> None:
        debate_id = self.selected_id()
        if debate_id:
            try:
                self.app.open_replay(debate_id)  # type: ignore[attr-defined]
            except UserError as exc:  # the file changed or broke since it was listed
                self.notify(str(exc), severity="error", timeout=10)

    def action_outline(self) -> None:
        debate_id = self.selected_id()
        if debate_id:
            from tui.screens.outline import OutlineScreen

            try:
                debate = self.app.store.load(debate_id)  # type: ignore[attr-defined]
            except UserError as exc:
                self.notify(str(exc), severity="error", timeout=10)
                return
            self.app.push_screen(OutlineScreen(debate))

    def action_delete(self) -> None:
        debate_id = self.selected_id()
        if not debate_id:
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.app.store.delete(debate_id)  # type: ignore[attr-defined]
                self.notify(f"Deleted {debate_id}")
                self.refresh_rows()

        self.app.push_screen(ConfirmDialog(f"Delete debate {debate_id}?"), done)
