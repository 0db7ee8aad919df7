"""The library: saved debates as a tree of branches, sortable, filterable, fitted to the width."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from core.errors import UserError
from episodes.store import DebateSummary
from tui.widgets.dialogs import ConfirmDialog
from tui.widgets.footer import KeyFooter, route_to_box, typing_into

COLUMNS = ("topic", "date", "lang", "turns", "model", "grounding", "branches", "status")
# Cells a column needs besides the topic, and the order they give way in when the terminal is
# narrow (first dropped first). Topic, grounding and status are never dropped.
WIDTHS = {"date": 16, "lang": 4, "turns": 5, "model": 20, "grounding": 9, "branches": 8}
WIDTHS["status"] = 8
DROP_ORDER = ("lang", "model", "turns", "date", "branches")
MIN_TOPIC = 18
CELL_PADDING = 2  # a DataTable pads each cell by one column on either side


def fit_columns(width: int, model_width: int = WIDTHS["model"]) -> list[tuple[str, int]]:
    """(column, cells) for a table `width` cells wide: every column but the topic at its
    own width, columns dropped in DROP_ORDER until the topic has MIN_TOPIC cells, and the
    topic taking what is left. Raises nothing; a very narrow table keeps topic, grounding
    and status."""
    widths = {**WIDTHS, "model": max(len("model"), min(model_width, WIDTHS["model"]))}
    shown = [c for c in COLUMNS if c != "topic"]
    usable = width - 2  # the vertical scrollbar

    def rest() -> int:
        return usable - sum(widths[c] + CELL_PADDING for c in shown) - CELL_PADDING

    for name in DROP_ORDER:
        if rest() >= MIN_TOPIC:
            break
        shown.remove(name)
    topic = max(8, rest())
    return [("topic", topic), *((c, widths[c]) for c in shown)]


def _sort_key(column: str, d: DebateSummary, branches: int) -> tuple:
    value = {
        "topic": d.topic.lower(),
        "date": d.created_at,
        "lang": d.language,
        "turns": d.turns,
        "model": d.model.lower(),
        "grounding": d.grounding,
        "branches": branches,
        "status": d.status,
    }[column]
    return (value, d.created_at, d.id)


@dataclass(frozen=True)
class Row:
    """One line of the library: a debate, how deep it hangs under its parent, its forks."""

    summary: DebateSummary
    depth: int
    branches: int

    def cells(self, topic_width: int = 60, model_width: int = 28) -> dict[str, str | int]:
        d = self.summary
        lead = ("  " * (self.depth - 1) + "↳ ") if self.depth else ""
        topic = lead + d.topic
        if len(topic) > topic_width:
            topic = topic[: topic_width - 1] + "…"
        return {
            "topic": topic,
            "date": d.created_at[:16].replace("T", " "),
            "lang": d.language,
            "turns": d.turns,
            "model": d.model[:model_width],
            "grounding": f"{d.grounding:.0%}",
            "branches": self.branches,
            "status": d.status,
        }


def library_tree(
    debates: list[DebateSummary],
    needle: str = "",
    *,
    sort: str = "date",
    reverse: bool = True,
) -> list[Row]:
    """The debates that match `needle` (topic, id, model, language, status), as a tree:
    each fork right under its parent, siblings and roots in `sort` order. A fork whose
    parent is gone, or filtered out, is a root of its own."""
    needle = needle.lower().strip()
    shown = [
        d
        for d in debates
        if not needle or needle in f"{d.topic} {d.id} {d.model} {d.language} {d.status}".lower()
    ]
    ids = {d.id for d in shown}
    branches: dict[str, int] = {}
    for d in debates:
        if d.parent_id:
            branches[d.parent_id] = branches.get(d.parent_id, 0) + 1
    children: dict[str | None, list[DebateSummary]] = {}
    for d in shown:
        children.setdefault(d.parent_id if d.parent_id in ids else None, []).append(d)
    rows: list[Row] = []

    def walk(parent: str | None, depth: int) -> None:
        kids = sorted(
            children.get(parent, []),
            key=lambda d: _sort_key(sort, d, branches.get(d.id, 0)),
            reverse=reverse,
        )
        for d in kids:
            rows.append(Row(d, depth, branches.get(d.id, 0)))
            walk(d.id, depth + 1)

    walk(None, 0)
    return rows


def library_rows(debates: list[DebateSummary], needle: str = "") -> list[tuple[str, tuple]]:
    """(debate id, cells in COLUMNS order) of `library_tree`, sorted by date, newest first."""
    return [(r.summary.id, tuple(r.cells().values())) for r in library_tree(debates, needle)]


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 debate`, `2 debates`; `many` for an irregular plural (`branches`)."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def delete_question(row: Row, all_debates: list[DebateSummary]) -> str:
    """What the delete dialog says: the topic, the id, and every branch that hangs on it."""
    d = row.summary
    forks = [x for x in all_debates if x.parent_id == d.id]
    lines = [
        f"Delete “{d.topic}”?",
        f"{d.id} · {plural(d.turns, 'turn')} · {d.created_at[:10]} · {d.status}",
    ]
    if forks:
        its = "Its branch stays" if len(forks) == 1 else f"Its {len(forks)} branches stay"
        lines.append(f"{its}, listed as debates of their own:")
        lines += [f"  ↳ {x.topic} ({x.id})" for x in forks[:5]]
        if len(forks) > 5:
            lines.append(f"  … and {len(forks) - 5} more")
    lines.append("The JSON, Markdown and HTML files go; this cannot be undone.")
    return "\n".join(lines)


class LibraryScreen(Screen[None]):
    HELP = "The saved debates. Forks hang under the debate they branch from."
    BINDINGS = [
        Binding("enter", "replay", "Replay", id="library.replay", tooltip="Replay the debate"),
        Binding("n", "new", "New", id="library.new", tooltip="Start a new debate"),
        Binding("o", "outline", "Outline", id="library.outline", tooltip="Episode outline"),
        Binding("slash", "filter", "Filter", id="library.filter", tooltip="Filter debates"),
        Binding("s", "sort", "Sort", id="library.sort", tooltip="Sort by the next column"),
        Binding("d", "delete", "Delete", id="library.delete", tooltip="Delete (asks first)"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("q", "quit", "Quit", id="library.quit", tooltip="Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sort_column = 1
        self.sort_reverse = True
        self.rows: list[Row] = []
        self.layout_key: tuple = ()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder="filter: topic, id, model, language…", id="filter", classes="hidden"
        )
        yield DataTable(id="library", cursor_type="row", zebra_stripes=True)
        yield Static("", id="library-empty", classes="hidden", markup=False)
        yield KeyFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Keys typed right after `/`, before the box has the focus, are the filter's words.
        if action != "clear_filter" and typing_into(self, "#filter"):
            return False
        return True

    def on_key(self, event: events.Key) -> None:
        route_to_box(self, "#filter", event, self.action_filter)

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()  # rows come with the screen-resume event that follows

    def on_screen_resume(self) -> None:
        self.refresh_rows()

    def on_resize(self) -> None:
        self.refresh_rows()

    @property
    def sort_name(self) -> str:
        return COLUMNS[self.sort_column]

    def refresh_rows(self) -> None:
        table = self.query_one(DataTable)
        needle = self.query_one("#filter", Input).value
        debates = self.app.store.summaries()  # type: ignore[attr-defined]
        self.rows = library_tree(debates, needle, sort=self.sort_name, reverse=self.sort_reverse)
        longest = max((len(d.model) for d in debates), default=0)
        columns = fit_columns(table.size.width or self.size.width or 80, longest)
        widths = dict(columns)
        keep = self.selected_id(quiet=True)
        if self.layout_key != tuple(columns):
            self.layout_key = tuple(columns)
            table.clear(columns=True)
            for name, width in columns:
                arrow = ""
                if name == self.sort_name:
                    arrow = " ▼" if self.sort_reverse else " ▲"
                table.add_column(name + arrow, key=name, width=width)
        else:
            table.clear()
        for name, _width in columns:  # the sort arrow follows the sort column
            column = table.columns.get(name)  # type: ignore[call-overload]
            if column is not None:
                arrow = (" ▼" if self.sort_reverse else " ▲") if name == self.sort_name else ""
                column.label = Text(name + arrow)
        for row in self.rows:
            cells = row.cells(widths["topic"], widths.get("model", 28))
            # Topics, models and ids come from files: cells are Text, never markup.
            table.add_row(*(Text(str(cells[name])) for name, _w in columns), key=row.summary.id)
        if keep is not None and keep in {r.summary.id for r in self.rows}:
            table.move_cursor(row=table.get_row_index(keep))
        total = len(debates)
        empty = self.query_one("#library-empty", Static)
        if not self.rows:
            empty.update(
                f"No debates match “{needle.strip()}”. Esc clears the filter."
                if total
                else "No debates yet. Press n to start one."
            )
        empty.set_class(bool(self.rows), "hidden")
        shown = len(self.rows)
        count = plural(total, "debate") if shown == total else f"{shown} of {total} debates"
        self.sub_title = f"{count} · sorted by {self.sort_name}"

    def selected_id(self, *, quiet: bool = False) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            if not quiet:
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

    def action_quit(self) -> None:
        self.app.exit()

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
            try:
                self.app.open_outline(debate_id)  # type: ignore[attr-defined]
            except UserError as exc:  # the file changed or broke since it was listed
                self.notify(str(exc), severity="error", timeout=10)

    def action_delete(self) -> None:
        debate_id = self.selected_id()
        row = next((r for r in self.rows if r.summary.id == debate_id), None)
        if row is None:
            return
        question = delete_question(row, self.app.store.summaries())  # type: ignore[attr-defined]

        def done(yes: bool | None) -> None:
            if yes:
                self.app.store.delete(row.summary.id)  # type: ignore[attr-defined]
                self.notify(f"Deleted “{row.summary.topic}” ({row.summary.id})", markup=False)
                self.refresh_rows()

        self.app.push_screen(ConfirmDialog(question, yes="Delete", no="Keep"), done)
