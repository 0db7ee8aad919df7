"""Replay a saved debate like a recording: play/pause, speed, step, seek, search."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from transcripts.models import Debate, Turn
from transcripts.outline import UNSUPPORTED_MARK
from tui.widgets.sources_panel import SourcesPanel
from tui.widgets.timeline import Timeline
from tui.widgets.turn_block import safe_color, speaker_line, turn_note

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
CHARS_PER_SECOND = {"en": 15.0, "ja": 5.0}  # about 150 words or 300 characters a minute
TICK_S = 0.05


@lru_cache(maxsize=8)
def source_lines(source_id: str) -> tuple[str, ...]:
    """Lines of a bundled source, for showing what surrounds a citation."""
    from transcripts.index import bundled_sources
    from transcripts.ingest import source_id_for

    for path in bundled_sources():
        if source_id_for(path) == source_id:
            return tuple(Path(path).read_text(encoding="utf-8").split("\n"))
    return ()


def citation_context(turn: Turn, around: int = 1) -> list[tuple[int, str]]:
    """The cited lines and `around` lines either side, numbered, clipped for the panel."""
    out: list[tuple[int, str]] = []
    for c in turn.citations[:2]:
        lines = source_lines(c.source_id)
        for n in range(max(1, c.line_start - around), min(len(lines), c.line_end + around) + 1):
            text = lines[n - 1]
            out.append((n, text[:160] + ("…" if len(text) > 160 else "")))
    return out


def failed(turn: Turn) -> bool:
    """Whether the turn's saved verdict says it does not argue from its lines."""
    return turn.attribution is not None and not turn.attribution.attributable


def turn_row(debate: Debate, turn: Turn) -> tuple[Text, Text, Text]:
    """Cells of a turn in the turn list: number (marked ⚠ when the turn failed its check
    against its lines), speaker, the first words. Never markup."""
    persona = debate.persona(turn.speaker_id)
    speaker = Text(
        persona.name if persona else turn.speaker_id,
        style=Style(color=safe_color(persona.color if persona else "")),
    )
    number = Text(str(turn.index), style="dim")
    if failed(turn):
        number.append(f" {UNSUPPORTED_MARK}", style="bold yellow")
    return (number, speaker, Text(" ".join(turn.text.split())[:60]))


def segment_starts(debate: Debate) -> list[int]:
    starts, current = [], None
    for t in debate.turns:
        if t.segment != current:
            starts.append(t.index)
            current = t.segment
    return starts


class ReplayScreen(Screen[None]):
    BINDINGS = [
        Binding("space", "toggle", "Play/Pause", id="replay.toggle", tooltip="Play or pause"),
        Binding("plus,equals_sign", "faster", "+ speed", id="replay.faster", tooltip="Faster"),
        Binding("minus", "slower", "- speed", id="replay.slower", tooltip="Slower"),
        Binding(
            "right", "step(1)", "Next turn", id="replay.next", tooltip="Next turn", priority=True
        ),
        Binding(
            "left",
            "step(-1)",
            "Prev turn",
            id="replay.prev",
            tooltip="Previous turn",
            priority=True,
        ),
        Binding("right_square_bracket", "segment(1)", "Next segment", id="replay.next_segment"),
        Binding("left_square_bracket", "segment(-1)", "Prev segment", id="replay.prev_segment"),
        Binding("g", "seek_start", "Start", id="replay.start", tooltip="Go to the start"),
        Binding("G", "seek_end", "End", id="replay.end", tooltip="Go to the end"),
        Binding("slash", "search", "Search", id="replay.search", tooltip="Search the turns"),
        Binding("n", "match(1)", "Next match", id="replay.next_match", show=False),
        Binding("N", "match(-1)", "Prev match", id="replay.prev_match", show=False),
        Binding("o", "outline", "Outline", id="replay.outline", tooltip="Episode outline"),
        Binding("escape", "back", "Back", id="replay.back", tooltip="Back"),
    ]

    def __init__(self, debate: Debate, *, autoplay: bool = True) -> None:
        super().__init__()
        self.debate = debate
        self.position = 0
        self.revealed = 0.0
        self.hold = 0.0
        self.playing = autoplay and bool(debate.turns)
        self.speed = 1.0
        self.matches: list[int] = []
        self.boundaries = segment_starts(debate)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="replay-body"):
            yield DataTable(id="turns", cursor_type="row", show_header=False)
            with Vertical(id="stage-column"):
                with VerticalScroll(id="stage-scroll"):
                    yield Static("", id="stage", markup=False)
                with VerticalScroll(id="sources-scroll"):
                    yield SourcesPanel(id="sources")
        yield Timeline(len(self.debate.turns), self.boundaries, id="timeline")
        yield Static("", id="replay-status", markup=False)
        yield Input(
            placeholder="search the turns; Enter to jump, n/N next/previous",
            id="search",
            classes="hidden",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Replay · {self.debate.topic[:60]}"
        turns = self.query_one("#turns", DataTable)
        turns.add_column("#", width=5)
        turns.add_column("speaker", width=14)
        turns.add_column("text", width=60)
        turns.add_rows(turn_row(self.debate, t) for t in self.debate.turns)
        self.show_turn(0, reveal=not self.playing)
        self.set_interval(TICK_S, self.tick)

    # -- playback -----------------------------------------------------------------------------
    @property
    def current(self) -> Turn | None:
        return self.debate.turns[self.position] if self.debate.turns else None

    def tick(self) -> None:
        turn = self.current
        if not self.playing or turn is None:
            return
        if self.revealed < len(turn.text):
            rate = CHARS_PER_SECOND.get(self.debate.language, 15.0)
            self.revealed = min(len(turn.text), self.revealed + rate * self.speed * TICK_S)
            self.paint_stage()
            return
        self.hold += TICK_S * self.speed
        if self.hold >= 0.8:
            if self.position + 1 >= len(self.debate.turns):
                self.playing = False
                self.paint_status()
            else:
                self.show_turn(self.position + 1, reveal=False)

    def show_turn(self, index: int, *, reveal: bool) -> None:
        if not self.debate.turns:
            self.query_one("#stage", Static).update(Text("This debate has no turns.", "dim"))
            return
        self.position = max(0, min(index, len(self.debate.turns) - 1))
        self.revealed = float(len(self.current.text)) if reveal else 0.0  # type: ignore[union-attr]
        self.hold = 0.0
        turns = self.query_one("#turns", DataTable)
        if turns.cursor_row != self.position:
            turns.move_cursor(row=self.position)
        self.query_one("#timeline", Timeline).position = self.position
        turn = self.current
        self.query_one("#sources", SourcesPanel).show(turn, context=citation_context(turn))
        self.paint_stage()

    def paint_stage(self) -> None:
        turn = self.current
        if turn is None:
            return
        body = speaker_line(
            self.debate.persona(turn.speaker_id),
            turn.speaker_id,
            turn.kind,
            turn.index,
            unsupported=turn.unsupported,
        )
        body.append("\n")
        body.append(turn.text[: int(self.revealed)])
        note = turn_note(turn)
        if self.revealed >= len(turn.text) and note:
            body.append("\n" + note, style="dim")
        if self.revealed >= len(turn.text) and failed(turn):
            reason = turn.attribution.reason or "does not argue from its lines"  # type: ignore[union-attr]
            body.append(f"\n{UNSUPPORTED_MARK} not supported: {reason}", style="bold yellow")
        self.query_one("#stage", Static).update(body)
        self.paint_status()

    def paint_status(self) -> None:
        seg = self.current.segment + 1 if self.current else 0
        state = "▶" if self.playing else "⏸"
        found = f" · {len(self.matches)} matches" if self.matches else ""
        self.query_one("#replay-status", Static).update(
            Text(
                f"{state} {self.speed:g}x · turn {self.position + 1}/{len(self.debate.turns)} · "
                f"segment {seg}/{max(1, len(self.debate.agenda))}{found}"
            )
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While typing a search, the arrow keys move the text cursor.
        if action == "step" and isinstance(self.focused, Input):
            return False
        return True

    # -- actions --------------------------------------------------------------------------------
    def action_toggle(self) -> None:
        if (
            self.current is not None
            and not self.playing
            and self.position + 1 >= len(self.debate.turns)
            and self.revealed >= len(self.current.text)
        ):
            self.show_turn(0, reveal=False)
        self.playing = not self.playing
        self.paint_status()

    def action_faster(self) -> None:
        i = SPEEDS.index(self.speed)
        self.speed = SPEEDS[min(i + 1, len(SPEEDS) - 1)]
        self.paint_status()

    def action_slower(self) -> None:
        i = SPEEDS.index(self.speed)
        self.speed = SPEEDS[max(i - 1, 0)]
        self.paint_status()

    def action_step(self, delta: int) -> None:
        self.show_turn(self.position + delta, reveal=True)

    def action_segment(self, delta: int) -> None:
        starts = self.boundaries
        if delta > 0:
            target = next((s for s in starts if s > self.position), self.position)
        else:
            earlier = [s for s in starts if s < self.position]
            target = earlier[-1] if earlier else 0
        self.show_turn(target, reveal=True)

    def action_seek_start(self) -> None:
        self.show_turn(0, reveal=True)

    def action_seek_end(self) -> None:
        self.show_turn(len(self.debate.turns) - 1, reveal=True)

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.remove_class("hidden")
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        needle = event.value.strip().lower()
        self.matches = [t.index for t in self.debate.turns if needle and needle in t.text.lower()]
        event.input.add_class("hidden")
        self.query_one("#turns", DataTable).focus()
        if not self.matches:
            self.notify(f"No turn mentions “{event.value}”.", severity="warning")
            self.paint_status()
            return
        self.playing = False
        self.action_match(1, from_before=True)

    def action_match(self, delta: int, from_before: bool = False) -> None:
        if not self.matches:
            return
        if delta > 0:
            start = self.position - 1 if from_before else self.position
            target = next((m for m in self.matches if m > start), self.matches[0])
        else:
            target = next(
                (m for m in reversed(self.matches) if m < self.position), self.matches[-1]
            )
        self.show_turn(target, reveal=True)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row != self.position:
            self.playing = False
            self.show_turn(event.cursor_row, reveal=True)

    def action_outline(self) -> None:
        from tui.screens.outline import OutlineScreen

        self.app.push_screen(OutlineScreen(self.debate))

    def action_back(self) -> None:
        box = self.query_one("#search", Input)
        if not box.has_class("hidden"):
            box.add_class("hidden")
            self.query_one("#turns", DataTable).focus()
            return
        self.app.pop_screen()
