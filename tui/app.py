"""The Textual app: library, new debate, live, replay and outline screens.

Built by `make_app(settings, model=..., search=..., checkpointer=...)`: its parts come
from one `graphs.session.Session`, as the CLI's do; tests pass a scripted model, a fixed
search and an in-memory checkpointer, so they never touch a real model or the user's
files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

if TYPE_CHECKING:
    from graphs.context import Search
    from graphs.runner import ShowRunner
    from graphs.session import ChatModel

from core.errors import UserError
from core.models import Debate
from core.settings import Settings
from episodes.store import load_debate
from graphs.session import Session, Stage
from tui.commands import DebateCommands
from tui.widgets.dialogs import ForkRequest


class DebateApp(App[None]):
    TITLE = "Panel debates"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding(
            "question_mark",
            "help",
            "Help",
            id="app.help",
            tooltip="Every key of this screen",
        ),
    ]
    COMMANDS = App.COMMANDS | {DebateCommands}

    def __init__(
        self,
        settings: Settings,
        *,
        model: ChatModel | None = None,
        search: Search | None = None,
        checkpointer: Any = None,
        replay: str | None = None,
    ) -> None:
        """The app over a `Session` of `settings`; `model`, `search` and `checkpointer` as
        the session takes them (tests pass their own)."""
        super().__init__()
        self.settings = settings
        self.session = Session(settings, model=model, search=search, checkpointer=checkpointer)
        self.store = self.session.store
        self.replay_ref = replay

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a notification, always as text: messages carry topics, search words, file
        names and model errors, and "[/]" or "[laughs]" in one is neither a crash nor
        lost. (Screens' and widgets' `notify` come here too; `markup` is ignored.)"""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def get_default_screen(self) -> Screen:
        from tui.screens.library import LibraryScreen

        return LibraryScreen()

    def on_mount(self) -> None:
        if moved := self.settings.debates_note():
            self.notify(moved, timeout=10)
        if self.replay_ref:
            try:
                self.open_replay(self.replay_ref)
            except UserError as exc:
                self.notify(str(exc), severity="error", timeout=10)

    def on_unmount(self) -> None:
        self.session.close()

    # -- shared parts, made on first use (from worker threads) -------------------------------------
    def saved_model_for(self, debate: Debate) -> ChatModel:
        """The model a saved debate ran with (for the outline's prose), made once."""
        return self.session.saved_model_for(debate)

    # -- app-wide actions ----------------------------------------------------------------------
    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    def action_new_debate(self) -> None:
        from tui.screens.new_debate import NewDebateScreen

        if not isinstance(self.screen, NewDebateScreen):
            self.push_screen(NewDebateScreen())

    def action_library(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    # -- navigation ------------------------------------------------------------------------------
    def open_replay(self, ref: str) -> None:
        from tui.screens.replay import ReplayScreen

        path = Path(ref)
        debate = (
            load_debate(path) if path.suffix == ".json" and path.exists() else self.store.load(ref)
        )
        self.push_screen(ReplayScreen(debate))

    def open_outline(self, ref: str | Debate) -> None:
        from tui.screens.outline import OutlineScreen

        debate = self.store.load(ref) if isinstance(ref, str) else ref
        self.push_screen(OutlineScreen(debate))

    def export_outline(self, debate: Debate) -> None:
        from tui.screens.outline import export_outline

        path = export_outline(self.store.folder, debate)
        self.notify(f"Outline written to {path}", markup=False)

    def start_live(self, form: Any) -> None:
        from tui.screens.live import LiveScreen

        settings = self.settings.model_copy(
            update={
                "turns": form.turns,
                "policy": form.policy,
                "language": form.language,
                "backend": form.backend,
                "model": form.model,
            }
        )

        def make_runner(stage: Stage) -> ShowRunner:
            search, _, model = self.session.show_parts(settings, stage)
            stage("reading the persona cards into the model")
            return self.session.new_show(
                form.topic,
                settings=settings,
                search=search,
                model=model,
                persona_ids=form.persona_ids,
                steerable=True,
            )

        from tui.screens.new_debate import NewDebateScreen

        live = LiveScreen(make_runner)
        if isinstance(self.screen, NewDebateScreen):
            self.switch_screen(live)
        else:
            self.push_screen(live)

    def start_fork(self, parent_id: str, at_turn: int, request: ForkRequest | None = None) -> None:
        """Open a live screen on a new branch of `parent_id` after the turn at index `at_turn`
        (from 0, `Turn.index`; shown as turn `at_turn + 1`): it replaces a live screen (the
        parent's), or opens over a replay."""
        from tui.screens.live import LiveScreen

        steer = request.steer if request else None
        turns = request.turns if request else None

        def make_runner(stage: Stage) -> ShowRunner:
            search, _, model = self.session.show_parts(self.settings, stage)
            stage(f"forking {parent_id} after turn {at_turn + 1}")
            return self.session.fork(
                parent_id,
                at_turn + 1,  # fork_show counts turns from 1, as they are shown
                search=search,
                model=model,
                steer=steer,
                turns=turns,
                steerable=True,
            )

        live = LiveScreen(make_runner, fork_of=(parent_id, at_turn))
        if isinstance(self.screen, LiveScreen):
            self.switch_screen(live)
        else:
            self.push_screen(live)


def make_app(
    settings: Settings,
    model: ChatModel | None = None,
    *,
    search: Search | None = None,
    checkpointer: Any = None,
    replay: str | None = None,
) -> DebateApp:
    return DebateApp(settings, model=model, search=search, checkpointer=checkpointer, replay=replay)


def main(settings: Settings, replay: str | None = None) -> int:
    """Run the app; the exit status is non-zero when it ended on an error."""
    app = make_app(settings, replay=replay)
    app.run()
    return app.return_code or 0
