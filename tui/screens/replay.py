"""Replay a saved debate like a recording: play/pause, speed, step, seek, search."""

from __future__ import annotations

import re

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from core.models import Debate, Turn
from episodes.export import turn_label
from episodes.outline import UNSUPPORTED_MARK
from tui.widgets.dialogs import ForkDialog, ForkRequest
from tui.widgets.footer import KeyFooter, route_to_box, typing_into
from tui.widgets.sources_panel import SourcesPanel, source_lines
from tui.widgets.timeline import Timeline
from tui.widgets.turn_block import speaker_cell, speaker_line, turn_note

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
CHARS_PER_SECOND = {"en": 15.0, "ja": 5.0}  # about 150 words or 300 characters a minute
TICK_S = 0.05
MATCH_STYLE = "black on yellow"


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


NUMBER_CELLS = 5  # "12 ⚠"
SPEAKER_CELLS = 24  # "Sam Altman (simulated)" and a little more
MIN_TEXT_CELLS = 12


def fit_turn_columns(width: int) -> tuple[int, int, int]:
    """Cells of the turn list's number, speaker and first-words columns in a list `width`
    cells wide, so that nothing scrolls sideways: the speaker column is whole first, the
    words take what is left, or vanish (0) when fewer than MIN_TEXT_CELLS would be left."""
    usable = width - 2 - 2 * 2 - NUMBER_CELLS  # scrollbar, padding of two cells
    speaker = min(SPEAKER_CELLS, max(8, usable - 2))
    text = usable - speaker - 2 - 2  # its padding, and a cell to spare
    if text < MIN_TEXT_CELLS:
        return NUMBER_CELLS, max(8, usable - 2), 0
    return NUMBER_CELLS, speaker, text


def turn_row(
    debate: Debate,
    turn: Turn,
    speaker_width: int = SPEAKER_CELLS,
    text_width: int = 60,
    needle: str = "",
) -> tuple[Text, ...]:
    """Cells of a turn in the turn list: its number (from 1; marked ⚠ when the turn failed
    its check against its lines), the speaker (a real person's persona marked simulated),
    and the first words, the search needle highlighted. Never markup."""
    persona = debate.persona(turn.speaker_id)
    number = Text(str(turn.index + 1), style="dim", justify="right")
    if failed(turn):
        number.append(f" {UNSUPPORTED_MARK}", style="bold yellow")
    speaker = speaker_cell(persona, turn.speaker_id, speaker_width)
    if not text_width:
        return (number, speaker)
    words = Text(" ".join(turn.text.split())[:text_width])
    if needle:
        words.highlight_regex(re.compile(re.escape(needle), re.I), MATCH_STYLE)
    return (number, speaker, words)


def segment_starts(debate: Debate) -> list[int]:
    starts, current = [], None
    for t in debate.turns:
        if t.segment != current:
            starts.append(t.index)
            current = t.segment
    return starts


class ReplayScreen(Screen[None]):
    HELP = (
        "A saved debate played back like a recording. Turns are numbered from 1; the "
        "passages a turn cites come first in the sources panel."
    )
    STEP = Binding.Group("Step")
    SPEED = Binding.Group("Speed")
    SEGMENT = Binding.Group("Segment")
    SCROLL = Binding.Group("Sources")
    # In order of importance: the footer drops keys from the end when the terminal is narrow.
    BINDINGS = [
        Binding("space", "toggle", "Play", id="replay.toggle", tooltip="Play or pause"),
        Binding(
            "left",
            "step(-1)",
            "Prev turn",
            id="replay.prev",
            tooltip="Previous turn",
            priority=True,
            group=STEP,
        ),
        Binding(
            "right",
            "step(1)",
            "Next turn",
            id="replay.next",
            tooltip="Next turn",
            priority=True,
            group=STEP,
        ),
        Binding(
            "end,G",
            "seek_end",
            "Last",
            id="replay.end",
            tooltip="Go to the last turn",
            key_display="End",
            priority=True,
        ),
        Binding("slash", "search", "Search", id="replay.search", tooltip="Search the turns"),
        Binding("o", "outline", "Outline", id="replay.outline", tooltip="Episode outline"),
        Binding("escape", "back", "Back", id="replay.back", tooltip="Back"),
        Binding(
            "home,g",
            "seek_start",
            "First",
            id="replay.start",
            tooltip="Go to the first turn",
            key_display="Home",
            priority=True,
        ),
        Binding("f", "fork", "Fork", id="replay.fork", tooltip="Fork from this turn"),
        Binding("minus", "slower", "Slower", id="replay.slower", tooltip="Slower", group=SPEED),
        Binding(
            "plus,equals_sign",
            "faster",
            "Faster",
            id="replay.faster",
            tooltip="Faster (0.25x to 16x)",
            group=SPEED,
        ),
        Binding(
            "left_square_bracket",
            "segment(-1)",
            "Prev segment",
            id="replay.prev_segment",
            tooltip="Start of the previous segment",
            group=SEGMENT,
        ),
        Binding(
            "right_square_bracket",
            "segment(1)",
            "Next segment",
            id="replay.next_segment",
            tooltip="Start of the next segment",
            group=SEGMENT,
        ),
        Binding(
            "k",
            "scroll_sources(-1)",
            "Up",
            id="replay.sources_up",
            tooltip="Scroll the sources panel up",
            group=SCROLL,
        ),
        Binding(
            "j",
            "scroll_sources(1)",
            "Down",
            id="replay.sources_down",
            tooltip="Scroll the sources panel down",
            group=SCROLL,
        ),
        Binding(
            "n",
            "match(1)",
            "Next match",
            id="replay.next_match",
            show=False,
            tooltip="Next search match",
        ),
        Binding(
            "N",
            "match(-1)",
            "Prev match",
            id="replay.prev_match",
            show=False,
            tooltip="Previous search match",
        ),
        Binding(
            "e",
            "export",
            "Export outline",
            id="replay.export",
            show=False,
            tooltip="Write the episode outline as Markdown",
        ),
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
        self.needle = ""
        self.boundaries = segment_starts(debate)
        self.columns: tuple[int, int, int] = (0, 0, 0)

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
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"Replay · {self.debate.topic[:60]}"
        self.fill_turn_list()
        self.show_turn(0, reveal=not self.playing)
        self.set_interval(TICK_S, self.tick)

    def on_resize(self) -> None:
        self.fill_turn_list()

    def fill_turn_list(self, *, force: bool = False) -> None:
        """(Re)build the turn list with columns that fit its width: nothing scrolls sideways."""
        turns = self.query_one("#turns", DataTable)
        columns = fit_turn_columns(turns.size.width or self.size.width * 2 // 5 or 32)
        if columns == self.columns and not force:
            return
        self.columns = columns
        number, speaker, text = columns
        # The rebuild moves the cursor; those moves are not the producer's choice of turn.
        with turns.prevent(DataTable.RowHighlighted):
            turns.clear(columns=True)
            turns.add_column("#", width=number)
            turns.add_column("speaker", width=speaker)
            if text:
                turns.add_column("text", width=text)
            turns.add_rows(
                turn_row(self.debate, t, speaker, text, self.needle) for t in self.debate.turns
            )
            if self.debate.turns:
                turns.move_cursor(row=self.position, column=0)
        turns.scroll_to(x=0, animate=False)

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
        self.query_one("#sources-scroll", VerticalScroll).scroll_home(animate=False)
        self.paint_stage()

    def stage_body(self) -> Text | None:
        """The turn card as shown now: speaker line, the text revealed so far with search
        matches lit, and its citations once it is whole."""
        turn = self.current
        if turn is None:
            return None
        body = speaker_line(
            self.debate.persona(turn.speaker_id),
            turn.speaker_id,
            turn_label(turn, self.debate.language),
            turn.index,
            unsupported=turn.unsupported,
        )
        body.append("\n")
        shown = Text(turn.text[: int(self.revealed)])
        if self.needle:
            shown.highlight_regex(re.compile(re.escape(self.needle), re.I), MATCH_STYLE)
        body.append_text(shown)
        note = turn_note(turn)
        if self.revealed >= len(turn.text) and note:
            body.append("\n" + note, style="dim")
        if self.revealed >= len(turn.text) and failed(turn):
            reason = turn.attribution.reason or "does not argue from its lines"  # type: ignore[union-attr]
            body.append(f"\n{UNSUPPORTED_MARK} not supported: {reason}", style="bold yellow")
        return body

    def paint_stage(self) -> None:
        body = self.stage_body()
        if body is None:
            return
        self.query_one("#stage", Static).update(body)
        self.paint_status()

    def paint_status(self) -> None:
        seg = self.current.segment + 1 if self.current else 0
        state = "▶" if self.playing else "⏸"
        found = ""
        if self.matches:
            where = (
                f"match {self.matches.index(self.position) + 1} of {len(self.matches)}"
                if self.position in self.matches
                else f"{len(self.matches)} matches"
            )
            found = f" · {where} for “{self.needle}” (n/N)"
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
        # Keys typed right after `/`, before the box has the focus, are the search's words.
        if action != "back" and typing_into(self, "#search"):
            return False
        return True

    def on_key(self, event: events.Key) -> None:
        route_to_box(self, "#search", event, self.action_search)

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
        needle = event.value.strip()
        low = needle.lower()
        self.matches = [t.index for t in self.debate.turns if low and low in t.text.lower()]
        self.needle = needle if self.matches else ""
        event.input.add_class("hidden")
        self.query_one("#turns", DataTable).focus()
        self.fill_turn_list(force=True)
        if not self.matches:
            if needle:
                self.notify(f"No turn mentions “{needle}”.", severity="warning", markup=False)
            self.paint_stage()
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
        self.app.open_outline(self.debate)  # type: ignore[attr-defined]

    def action_export(self) -> None:
        self.app.export_outline(self.debate)  # type: ignore[attr-defined]

    def action_scroll_sources(self, direction: int) -> None:
        panel = self.query_one("#sources-scroll", VerticalScroll)
        panel.scroll_relative(y=direction * max(1, panel.size.height - 2), animate=False)

    def action_fork(self) -> None:
        turn = self.current
        if turn is None:
            return
        persona = self.debate.persona(turn.speaker_id)
        who = speaker_cell(persona, turn.speaker_id).plain
        start = " ".join(turn.text.split())[:90]
        summary = (
            f"Fork “{self.debate.topic}” after turn {turn.index + 1} of "
            f"{len(self.debate.turns)} ({who}, {turn.kind}):\n“{start}…”"
        )
        left = max(3, self.debate.settings.max_turns - turn.index - 1)

        def chosen(request: ForkRequest | None) -> None:
            if request is not None:
                self.app.start_fork(self.debate.id, turn.index, request)  # type: ignore[attr-defined]

        self.app.push_screen(ForkDialog(summary, left), chosen)

    def action_back(self) -> None:
        box = self.query_one("#search", Input)
        if not box.has_class("hidden"):
            box.add_class("hidden")
            self.query_one("#turns", DataTable).focus()
            return
        self.app.pop_screen()
