"""A turn as a block in its persona's colour: name, role, a simulated tag, the text."""

from __future__ import annotations

from rich.color import Color, ColorParseError
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from core.models import PersonaSnapshot, Turn

SIMULATED = "(simulated)"


def speaker_cell(persona: PersonaSnapshot | None, speaker_id: str, width: int = 40) -> Text:
    """A speaker's name in at most `width` cells, in the persona's colour. A persona of a real
    person always keeps its `(simulated)` mark: the name gives way first (`Sam Alt…`)."""
    name = persona.name if persona else speaker_id
    color = Style(color=safe_color(persona.color if persona else ""))
    if persona is None or not persona.simulated:
        if len(name) > width:
            name = name[: max(1, width - 1)] + "…"
        return Text(name, style=color)
    room = width - len(SIMULATED) - 1
    if len(name) > room:
        name = name[: max(1, room - 1)] + "…"
    cell = Text(name, style=color)
    cell.append(" " + SIMULATED, style="italic")
    return cell


def safe_color(color: str) -> str | None:
    """A persona's colour as Rich reads it, or None: a saved debate's colour is text from a
    file, and one Rich cannot read must not stop the screen."""
    try:
        Color.parse(color)
    except ColorParseError:
        return None
    return color


def speaker_line(
    persona: PersonaSnapshot | None,
    speaker_id: str,
    kind: str,
    index: int,
    *,
    unsupported: bool = False,
) -> Text:
    """`Name · role · kind · #n` (n counted from 1, as everywhere on screen), with
    `simulated` for personas of real people and `unsupported` for a turn no draft of
    which passed its check; never markup."""
    line = Text()
    name = persona.name if persona else speaker_id
    line.append(name, style=Style(bold=True, color=safe_color(persona.color if persona else "")))
    if persona is not None:
        role = "host" if persona.role == "host" else persona.title
        line.append(f" · {role}", style="dim")
        if persona.simulated:
            line.append(" simulated", style="reverse")
    line.append(f" · {kind} · #{index + 1}", style="dim")
    if unsupported:
        line.append(" ")
        line.append(" unsupported ", style="bold reverse red")
    return line


def turn_note(turn: Turn) -> str:
    """The line under a finished turn: the lines it cites, and how its claim was voiced
    when the model's drafts failed."""
    parts = [" ".join(c.anchor for c in turn.citations)] if turn.citations else []
    if turn.claim is not None and turn.claim.reported:
        parts.append("quoted from the show's report of the real person's words")
    if turn.claim is not None and turn.voiced_by == "template":
        parts.append("claim stated from the template")
    if turn.unsupported:
        parts.append("no draft passed its check")
    return " · ".join(parts)


class TurnBlock(Static):
    """One turn. Text from models and transcripts is added as plain Text, never markup."""

    DEFAULT_CSS = """
    TurnBlock {
        border-left: thick $panel;
        padding: 0 1;
        margin: 0 0 1 0;
        height: auto;
    }
    TurnBlock.-selected {
        background: $boost;
    }
    """

    def __init__(
        self,
        index: int,
        persona: PersonaSnapshot | None,
        speaker_id: str,
        kind: str,
        text: str = "",
    ) -> None:
        super().__init__(markup=False)
        self.index = index
        self.persona = persona
        self.speaker_id = speaker_id
        self.kind = kind
        self.text = text
        self.cites = ""
        self.unsupported = False
        color = safe_color(persona.color) if persona is not None else None
        if color is not None:
            try:
                self.styles.border_left = ("thick", color)
            except ValueError:  # a colour Rich reads but Textual does not: keep the default
                pass

    def render_text(self) -> Text:
        body = speaker_line(
            self.persona, self.speaker_id, self.kind, self.index, unsupported=self.unsupported
        )
        body.append("\n")
        body.append(self.text)
        if self.cites:
            body.append(f"\n{self.cites}", style="dim")
        return body

    def on_mount(self) -> None:
        self.update(self.render_text())

    def append(self, piece: str) -> None:
        """Grow the text; the screen shows it at the next `redraw`."""
        self.text += piece

    def redraw(self) -> None:
        self.update(self.render_text())

    def finish(self, text: str, cites: str, *, unsupported: bool = False) -> None:
        self.text, self.cites, self.unsupported = text, cites, unsupported
        self.update(self.render_text())
