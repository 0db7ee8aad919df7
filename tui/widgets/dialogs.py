"""Modal questions: a yes/no confirmation, and the producer's interjection."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet


class ConfirmDialog(ModalScreen[bool]):
    """Yes or no; Escape means no."""

    BINDINGS = [("escape", "no", "Cancel"), ("y", "yes", "Yes"), ("n", "no", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Yes", variant="error", id="yes")
                yield Button("No", variant="primary", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


@dataclass(frozen=True)
class Question:
    text: str
    voice: str  # "host" or "audience"


class InterjectDialog(ModalScreen[Question | None]):
    """The producer's question: typed text, asked by the host or as from the audience."""

    BINDINGS = [("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Put a question to the panel (answered next)")
            yield Input(placeholder="Who pays for a basic income?", id="question")
            with RadioSet(id="voice"):
                yield RadioButton("asked by the host", value=True, id="host")
                yield RadioButton("from the audience", id="audience")
            with Horizontal(classes="buttons"):
                yield Button("Ask", variant="primary", id="ask")
                yield Button("Cancel", id="cancel")

    def _submit(self) -> None:
        text = self.query_one("#question", Input).value.strip()
        if not text:
            self.notify("Type a question first.", severity="warning")
            return
        pressed = self.query_one("#voice", RadioSet).pressed_button
        voice = pressed.id if pressed is not None and pressed.id else "host"
        self.dismiss(Question(text, voice))

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ask":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
