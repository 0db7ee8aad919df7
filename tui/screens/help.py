"""`?`: every key of the screen underneath, with what it does."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

APP_KEYS = [
    ("?", "This help"),
    ("ctrl+p", "Command palette: every command of the app, searchable"),
    ("ctrl+q", "Quit"),
]


def key_rows(screen: Screen) -> list[tuple[str, str]]:
    """(keys, what they do) for every binding of `screen` that has a description, in its
    BINDINGS order; keys of one action are listed together (`g, home`)."""
    from textual.binding import BindingsMap

    app = screen.app
    by_action: dict[str, tuple[list[str], str]] = {}
    own = BindingsMap(type(screen).BINDINGS)  # the screen's own keys, not Textual's defaults
    for bindings in own.key_to_bindings.values():
        for b in bindings:
            what = b.tooltip or b.description
            if not what:
                continue
            keys, _ = by_action.setdefault(b.action, ([], what))
            shown = app.get_key_display(b)
            if shown not in keys:
                keys.append(shown)
    return [(", ".join(keys), what) for keys, what in by_action.values()]


def help_table(screen: Screen) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for keys, what in key_rows(screen):
        table.add_row(Text(keys), Text(what))
    table.add_row("", "")
    for keys, what in APP_KEYS:
        table.add_row(Text(keys, style="dim"), Text(what, style="dim"))
    return table


class HelpScreen(ModalScreen[None]):
    """The keys of one screen. Escape, q or ? closes it."""

    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.for_screen = screen

    def compose(self) -> ComposeResult:
        name = getattr(self.for_screen, "TITLE_FOR_HELP", None) or type(
            self.for_screen
        ).__name__.removesuffix("Screen")
        about = getattr(self.for_screen, "HELP", "") or ""
        with VerticalScroll(classes="dialog help"):
            yield Static(Text(f"Keys · {name}", style="bold"), id="help-title")
            if about:
                yield Static(Text(about, style="italic"), id="help-about")
            yield Static(help_table(self.for_screen), id="help-keys")
            yield Static(Text("Esc closes", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
