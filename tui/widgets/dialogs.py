"""Modal questions: a yes/no confirmation, the producer's interjection, a fork."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet


class ConfirmDialog(ModalScreen[bool]):
    """Yes or no; Escape means no. The safe answer (no) has the focus, so an Enter
    pressed out of habit keeps things as they are; `y` or a click says yes."""

    AUTO_FOCUS = "#no"
    BINDINGS = [("escape", "no", "Cancel"), ("y", "yes", "Yes"), ("n", "no", "No")]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, markup=False, classes="question")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes_label} (y)", variant="error", id="yes")
                yield Button(f"{self.no_label} (n)", variant="primary", id="no")

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


@dataclass(frozen=True)
class ForkRequest:
    """What the producer asked for at a fork."""

    steer: str | None  # the host's question at the fork, if any
    turns: int  # turns the branch adds after the fork point


class ForkDialog(ModalScreen[ForkRequest | None]):
    """Fork after a turn: an optional steering question and how many turns to add.
    Nothing happens until Fork is pressed (or Enter in a field); Escape cancels."""

    AUTO_FOCUS = "#steer"
    BINDINGS = [("escape", "cancel", "Cancel")]

    def __init__(self, summary: str, turns: int, *, stops_live: bool = False) -> None:
        super().__init__()
        self.summary = summary
        self.turns = turns
        self.stops_live = stops_live

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.summary, markup=False, classes="question")
            yield Label("A question the host puts to the panel at the fork (optional)")
            yield Input(placeholder="What about the energy it takes?", id="steer")
            yield Label("Turns the branch adds")
            yield Input(str(self.turns), id="fork-turns", type="integer")
            if self.stops_live:
                yield Label(
                    "The running debate stops here (the turn being spoken is cut) and is "
                    "saved; the branch starts at once.",
                    classes="note",
                )
            with Horizontal(classes="buttons"):
                yield Button("Fork", variant="primary", id="fork")
                yield Button("Cancel", id="cancel")

    def _submit(self) -> None:
        steer = " ".join(self.query_one("#steer", Input).value.split()) or None
        raw = self.query_one("#fork-turns", Input).value.strip()
        try:
            turns = int(raw)
        except ValueError:
            self.notify("Turns must be a whole number.", severity="error")
            return
        if not 1 <= turns <= 500:
            self.notify("Turns must be between 1 and 500.", severity="error")
            return
        self.dismiss(ForkRequest(steer, turns))

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "fork":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
