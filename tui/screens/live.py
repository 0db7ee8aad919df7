"""Watch a debate live: turns stream in, sources beside them, the producer steers."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import get_current_worker

from core.models import Passage, PersonaSnapshot, Turn
from graphs import events as ev
from graphs.runner import ShowRunner
from tui.messages import ShowEvent
from tui.widgets.dialogs import ForkDialog, ForkRequest, InterjectDialog, Question
from tui.widgets.footer import KeyFooter
from tui.widgets.progress import StageLine
from tui.widgets.sources_panel import SourcesPanel
from tui.widgets.status_bar import LiveStatus, StatusBar, stop_words
from tui.widgets.turn_block import TurnBlock, speaker_cell, turn_note

REDRAW_S = 0.125  # how often a streaming turn's new text is drawn

RunnerFactory = Callable[[Callable[..., None]], ShowRunner]  # given a stage(name, done, total)


class LiveScreen(Screen[None]):
    HELP = (
        "A debate as it is spoken. p and s act at once: the turn being generated is cut "
        "(a pause speaks it again on continue). ↑/↓ pick a turn, f forks from it."
    )
    SELECT = Binding.Group("Turn")
    # In order of importance: the footer drops keys from the end when the terminal is narrow.
    BINDINGS = [
        Binding("p", "pause", "Pause/Continue", id="live.pause", tooltip="Pause now / continue"),
        Binding("s", "stop", "Stop & save", id="live.stop", tooltip="Stop now and save"),
        Binding(
            "i",
            "interject",
            "Interject",
            id="live.interject",
            tooltip="Put a question to the panel",
        ),
        Binding("f", "fork", "Fork", id="live.fork", tooltip="Fork from the selected turn"),
        Binding("escape", "back", "Back", id="live.back", tooltip="Stop and go back"),
        Binding("up", "select(-1)", "Prev", tooltip="Select the previous turn", group=SELECT),
        Binding("down", "select(1)", "Next", tooltip="Select the next turn", group=SELECT),
    ]

    def __init__(
        self, make_runner: RunnerFactory, *, fork_of: tuple[str, int] | None = None
    ) -> None:
        super().__init__()
        self.make_runner = make_runner
        self.fork_of = fork_of  # (parent id, 0-based turn) when this show is a fork
        self.runner: ShowRunner | None = None
        self.personas: dict[str, PersonaSnapshot] = {}
        self.blocks: dict[int, TurnBlock] = {}
        self.streaming: TurnBlock | None = None  # a block with text not yet drawn
        self.passages: dict[int, list[Passage]] = {}
        self.turns: dict[int, Turn] = {}
        self.selected: int | None = None
        self.follow = True
        self.status = LiveStatus()
        self.started = time.monotonic()
        self.finished = False
        self.stop_asked = False
        self.pending_fork: tuple[int, ForkRequest] | None = None
        self.stream_chars = 0
        self.stream_began = 0.0

    def compose(self) -> ComposeResult:
        yield Header()
        yield StageLine(id="live-stage")
        with Horizontal(id="live-body"):
            # Not focusable: ↑/↓ select turns here instead of scrolling a container.
            yield VerticalScroll(id="live-turns", can_focus=False)
            with VerticalScroll(id="live-sources", can_focus=False):
                yield SourcesPanel(id="sources")
        yield StatusBar(id="live-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "Live · starting"
        self.query_one(StageLine).set_stage("starting")
        self.set_interval(0.5, self.tick)
        self.set_interval(REDRAW_S, self.redraw_stream)
        self.run_show()

    def redraw_stream(self) -> None:
        """Show the streaming turn's new text. Redrawing on every token batch cost the
        model about a fifth of its speed on two cores; a few times a second reads the same."""
        block, self.streaming = self.streaming, None
        if block is not None:
            block.redraw()
            if self.follow:
                self.query_one("#live-turns", VerticalScroll).scroll_end(animate=False)

    def tick(self) -> None:
        if not self.finished:
            self.status.elapsed_s = time.monotonic() - self.started
        self.query_one(StatusBar).show(self.status)

    def on_unmount(self) -> None:
        # A show left running (the app quit, the screen replaced) must not hold its thread.
        if self.runner is not None and not self.finished:
            self.runner.stop(cut=True)

    def stage(self, name: str, done: int = 0, total: int = 0) -> None:
        """Name the slow work under way (from the worker thread); nothing once the screen
        is gone (the producer went back while the show was starting)."""

        def show() -> None:
            if self.is_attached:
                self.query_one(StageLine).set_stage(name, done, total)

        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(show)

    @work(thread=True, exclusive=True, group="show")
    def run_show(self) -> None:
        worker = get_current_worker()
        try:
            runner = self.make_runner(self.stage)
        except Exception as exc:  # a UserError or a model that cannot load
            self.post_message(ShowEvent(ev.Error(str(exc))))
            return
        self.runner = runner
        if self.stop_asked or worker.is_cancelled:
            self.post_message(ShowEvent(ev.Error("Stopped before the first turn; nothing saved.")))
            return
        self.stage("planning the agenda")
        for event in runner.run():
            self.post_message(ShowEvent(event))
            if worker.is_cancelled:
                runner.stop(cut=True)

    # -- events ----------------------------------------------------------------------------------
    def on_show_event(self, message: ShowEvent) -> None:
        event = message.event
        column = self.query_one("#live-turns", VerticalScroll)
        if isinstance(event, ev.DebateStarted):
            self.personas = {p.id: p for p in event.personas}
            self.status.max_turns = event.max_turns
            self.status.state = "live"
            if event.parent_id and self.fork_of is not None:
                after = self.fork_of[1] + 1
                self.sub_title = (
                    f"Live · fork {event.debate_id} of {event.parent_id} after turn {after}"
                )
                self.notify(
                    f"Forked: new debate {event.debate_id}, a branch of {event.parent_id} "
                    f"after turn {after}.",
                    timeout=8,
                    markup=False,
                )
            else:
                self.sub_title = f"Live · {event.debate_id} · {event.topic[:60]}"
        elif isinstance(event, ev.AgendaPlanned):
            self.status.segments = len(event.agenda)
        elif isinstance(event, ev.SegmentStarted):
            self.status.segment = event.index
            column.mount(
                Static(
                    Text(
                        f"── Segment {event.index + 1}: {event.title} ──\n{event.question}",
                        style="bold",
                    ),
                    classes="segment",
                )
            )
        elif isinstance(event, ev.TurnStarted):
            self.query_one(StageLine).finish()
            if event.turn_kind == "interjection":
                self.status.questions += 1
            block = TurnBlock(
                event.index, self.personas.get(event.speaker_id), event.speaker_id, event.turn_kind
            )
            self.blocks[event.index] = block
            column.mount(block)
            self.status.turn = event.index + 1
            self.stream_chars, self.stream_began = 0, time.monotonic()
            if self.follow:
                self.select(event.index)
                column.scroll_end(animate=False)
        elif isinstance(event, ev.PassagesRetrieved):
            self.passages[event.index] = event.passages
            if self.selected == event.index:
                self.show_sources(event.index)
        elif isinstance(event, ev.Token):
            block = self.blocks.get(event.index)
            if block is not None:
                # The text grows now; the screen catches up on the next redraw tick.
                block.append(event.text)
                self.streaming = block
                self.stream_chars += len(event.text)
                spent = time.monotonic() - self.stream_began
                if spent > 0.2:  # about four characters a token
                    self.status.tokens_per_s = self.stream_chars / 4 / spent
            return
        elif isinstance(event, ev.TurnDiscarded):
            block = self.blocks.get(event.index)
            if block is not None:
                block.text = ""
                if event.reason == "cut by the producer":
                    block.text = "(cut: spoken again on continue)" if not self.stop_asked else ""
                block.redraw()
                if self.stop_asked and event.reason == "cut by the producer":
                    block.remove()
                    self.blocks.pop(event.index, None)
        elif isinstance(event, ev.TurnFinished):
            turn = event.turn
            self.turns[turn.index] = turn
            block = self.blocks.get(turn.index)
            if block is not None:
                block.finish(turn.text, turn_note(turn), unsupported=turn.unsupported)
            if turn.latency_ms and turn.tokens_out:
                self.status.tokens_per_s = turn.tokens_out / (turn.latency_ms / 1000)
            if self.selected == turn.index:
                self.show_sources(turn.index)
        elif isinstance(event, ev.Interrupted):
            if event.reason == "paused":
                self.status.state = "paused · p continues"
            else:
                self.status.state = "live"
        elif isinstance(event, ev.Resumed):
            self.status.state = "live"
        elif isinstance(event, ev.DebateFinished):
            self.finished = True
            self.query_one(StageLine).finish()
            self.status.state = stop_words(event.stop_reason)
            saved = ", ".join(event.paths) or "nothing"
            self.notify(
                f"Debate {event.debate_id}: {stop_words(event.stop_reason)}. Saved {saved}",
                timeout=8,
                markup=False,
            )
            if self.pending_fork is not None:
                self.start_fork(*self.pending_fork)
        elif isinstance(event, ev.Error):
            self.finished = True
            self.query_one(StageLine).finish()
            self.status.state = "error"
            self.notify(event.message, severity="error", timeout=10, markup=False)
        self.query_one(StatusBar).show(self.status)

    # -- selection -------------------------------------------------------------------------------
    def select(self, index: int) -> None:
        if self.selected is not None and self.selected in self.blocks:
            self.blocks[self.selected].remove_class("-selected")
        self.selected = index
        if index in self.blocks:
            self.blocks[index].add_class("-selected")
        self.show_sources(index)

    def show_sources(self, index: int) -> None:
        turn = self.turns.get(index)
        self.query_one("#sources", SourcesPanel).show(turn, self.passages.get(index))

    def action_select(self, delta: int) -> None:
        if not self.blocks:
            return
        current = self.selected if self.selected is not None else max(self.blocks)
        target = max(0, min(max(self.blocks), current + delta))
        self.follow = target == max(self.blocks)
        self.select(target)
        self.blocks[target].scroll_visible(animate=False)

    # -- steering ----------------------------------------------------------------------------------
    def action_interject(self) -> None:
        if self.finished or self.runner is None:
            self.notify("The debate is not running.", severity="warning")
            return

        def ask(question: Question | None) -> None:
            if question is not None and self.runner is not None:
                self.runner.interject(question.text, question.voice)
                self.notify("Question queued: the panel answers it next.")

        self.app.push_screen(InterjectDialog(), ask)

    def action_pause(self) -> None:
        if self.runner is None or self.finished:
            self.notify("The debate is not running yet.", severity="warning")
            return
        if self.runner.paused:
            self.runner.play()
            self.status.state = "live"
            self.notify("Continuing.")
        else:
            self.runner.pause(cut=True)
            self.status.state = "paused · p continues"
            self.notify("Paused. A turn being spoken was cut; it is spoken again on continue.")
        self.query_one(StatusBar).show(self.status)

    def action_stop(self) -> None:
        if self.finished:
            return
        self.stop_asked = True
        if self.runner is not None:
            self.runner.stop(cut=True)
        self.status.state = "stopping · saving"
        self.query_one(StatusBar).show(self.status)

    def action_fork(self) -> None:
        if self.selected is None or self.selected not in self.turns:
            self.notify("Select a finished turn to fork from (↑/↓).", severity="warning")
            return
        if self.runner is None:
            return
        turn = self.turns[self.selected]
        who = speaker_cell(self.personas.get(turn.speaker_id), turn.speaker_id).plain
        start = " ".join(turn.text.split())[:90]
        summary = (
            f"Fork {self.runner.debate.id} after turn {turn.index + 1} "
            f"({who}, {turn.kind}):\n“{start}…”"
        )
        left = max(3, self.status.max_turns - turn.index - 1)

        def chosen(request: ForkRequest | None) -> None:
            if request is None or self.runner is None:
                return
            if self.finished:
                self.start_fork(turn.index, request)
                return
            self.pending_fork = (turn.index, request)
            self.stop_asked = True
            self.runner.stop(cut=True)
            self.status.state = "stopping · the fork starts next"
            self.query_one(StatusBar).show(self.status)

        self.app.push_screen(ForkDialog(summary, left, stops_live=not self.finished), chosen)

    def start_fork(self, at_turn: int, request: ForkRequest) -> None:
        if self.runner is None:
            return
        parent = self.runner.debate.id
        self.pending_fork = None
        self.app.start_fork(parent, at_turn, request)  # type: ignore[attr-defined]

    def action_back(self) -> None:
        if not self.finished:
            self.stop_asked = True
            if self.runner is not None:
                self.runner.stop(cut=True)
        self.app.pop_screen()
