"""The form for a new debate: topic, panel, turns, policy, language, backend, model."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Header, Input, Label, Select, SelectionList

from core.settings import POLICIES
from graphs.session import load_personas
from tui.widgets.footer import KeyFooter


@dataclass(frozen=True)
class NewDebate:
    topic: str
    persona_ids: list[str]
    turns: int
    policy: str
    language: str
    backend: str
    model: str | None


def parse_form(
    topic: str,
    persona_ids: list[str],
    turns: str,
    policy: str,
    language: str,
    backend: str,
    model: str,
) -> NewDebate:
    """Check the form; a problem is a ValueError with one line for the user."""
    topic = " ".join(topic.split())
    if not topic:
        raise ValueError("Type a topic for the panel.")
    if not persona_ids:
        raise ValueError("Choose at least one panelist.")
    try:
        count = int(turns)
    except ValueError:
        raise ValueError("Turns must be a whole number.") from None
    if not 3 <= count <= 500:
        raise ValueError("Turns must be between 3 and 500.")
    if backend == "openai" and not model.strip():
        raise ValueError("The openai backend needs a model name.")
    if language == "ja" and backend == "embedded":
        raise ValueError(
            "The bundled model writes English only: choose the openai backend and a server "
            "model for a Japanese debate."
        )
    return NewDebate(topic, persona_ids, count, policy, language, backend, model.strip() or None)


class NewDebateScreen(Screen[None]):
    BINDINGS = [
        Binding("ctrl+s", "start", "Start", id="new.start", tooltip="Start the debate"),
        Binding("escape", "app.pop_screen", "Cancel", id="new.cancel", tooltip="Back"),
    ]

    def compose(self) -> ComposeResult:
        settings = self.app.settings  # type: ignore[attr-defined]
        personas = [p for p in load_personas().values() if p.role == "panelist"]
        yield Header()
        with VerticalScroll(id="form"):
            yield Label("Topic")
            yield Input(placeholder="Should a basic income be paid in compute?", id="topic")
            yield Label("Panelists (the host always takes part)")
            # Names come from persona files: shown as Text, never markup.
            yield SelectionList[str](
                *[(Text(p.label), p.id, True) for p in personas], id="personas"
            )
            with Horizontal(classes="row"):
                with VerticalScroll(classes="field"):
                    yield Label("Turns")
                    yield Input(str(settings.turns), id="turns", type="integer")
                with VerticalScroll(classes="field"):
                    yield Label("Policy")
                    yield Select(
                        [(p, p) for p in POLICIES],
                        value=settings.policy,
                        allow_blank=False,
                        id="policy",
                    )
                with VerticalScroll(classes="field"):
                    yield Label("Language")
                    yield Select(
                        [("English", "en"), ("日本語", "ja")],
                        value=settings.language,
                        allow_blank=False,
                        id="language",
                    )
            with Horizontal(classes="row"):
                with VerticalScroll(classes="field"):
                    yield Label("Backend")
                    yield Select(
                        [("embedded (offline)", "embedded"), ("openai-compatible", "openai")],
                        value=settings.backend,
                        allow_blank=False,
                        id="backend",
                    )
                with VerticalScroll(classes="field"):
                    yield Label("Model (openai backend)")
                    yield Input(settings.model or "", placeholder="gpt-4o-mini", id="model")
            yield Button("Start debate", variant="primary", id="start")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "New debate"
        self.query_one("#topic", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()

    def action_start(self) -> None:
        try:
            form = parse_form(
                self.query_one("#topic", Input).value,
                list(self.query_one("#personas", SelectionList).selected),
                self.query_one("#turns", Input).value,
                str(self.query_one("#policy", Select).value),
                str(self.query_one("#language", Select).value),
                str(self.query_one("#backend", Select).value),
                self.query_one("#model", Input).value,
            )
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        self.app.start_live(form)  # type: ignore[attr-defined]
