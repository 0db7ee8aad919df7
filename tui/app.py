"""The Textual app: library, new debate, live, replay and outline screens.

Built by `make_app(settings, model=..., search=..., checkpointer=...)`; tests pass
a scripted model, a fixed search and an in-memory checkpointer, so they never
touch a real model or the user's files.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.notifications import SeverityLevel
from textual.screen import Screen

if TYPE_CHECKING:
    from graphs.context import Search
    from graphs.runner import ShowRunner

from agents.errors import UserError
from agents.llm.base import ChatModel
from settings import Settings
from transcripts.store import DebateStore, load_debate


class DebateApp(App[None]):
    TITLE = "Panel debates"
    CSS_PATH = "app.tcss"

    def __init__(
        self,
        settings: Settings,
        *,
        model: ChatModel | None = None,
        search: Search | None = None,
        checkpointer: Any = None,
        replay: str | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.store = DebateStore(settings.out_dir)
        self._model = model
        self._models: dict[tuple, ChatModel] = {}
        self._search = search
        self._checkpointer = checkpointer
        self._resources = contextlib.ExitStack()
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
        if self.replay_ref:
            try:
                self.open_replay(self.replay_ref)
            except UserError as exc:
                self.notify(str(exc), severity="error", timeout=10)

    def on_unmount(self) -> None:
        self._resources.close()

    # -- shared parts, made on first use (from worker threads) -------------------------------------
    def model_for(self, settings: Settings) -> ChatModel:
        if self._model is not None:
            return self._model
        key = (settings.backend, settings.model, settings.model_path, settings.base_url)
        if key not in self._models:
            from graphs.runner import default_model

            self._models[key] = default_model(settings)
        return self._models[key]

    def search(self) -> Search:
        if self._search is None:
            from transcripts.index import PassageIndex

            index = PassageIndex(self.settings.data_dir, chroma_url=self.settings.chroma_url)
            index.ensure_bundled()
            from graphs.context import SourceSearch

            self._search = SourceSearch(index)
        return self._search

    def checkpointer(self) -> Any:
        if self._checkpointer is None:
            from graphs.checkpoint import open_checkpointer

            self._checkpointer = self._resources.enter_context(
                open_checkpointer(self.settings.data_dir, self.settings.checkpoint_url)
            )
        return self._checkpointer

    # -- navigation ------------------------------------------------------------------------------
    def open_replay(self, ref: str) -> None:
        from tui.screens.replay import ReplayScreen

        path = Path(ref)
        debate = (
            load_debate(path) if path.suffix == ".json" and path.exists() else self.store.load(ref)
        )
        self.push_screen(ReplayScreen(debate))

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

        def make_runner() -> ShowRunner:
            from graphs.runner import new_show

            return new_show(
                settings,
                form.topic,
                search=self.search(),
                checkpointer=self.checkpointer(),
                model=self.model_for(settings),
                persona_ids=form.persona_ids,
                steerable=True,
            )

        from tui.screens.new_debate import NewDebateScreen

        live = LiveScreen(make_runner)
        if isinstance(self.screen, NewDebateScreen):
            self.switch_screen(live)
        else:
            self.push_screen(live)

    def start_fork(self, parent_id: str, at_turn: int) -> None:
        from tui.screens.live import LiveScreen

        def make_runner() -> ShowRunner:
            from graphs.runner import fork_show

            return fork_show(
                self.settings,
                parent_id,
                at_turn,
                search=self.search(),
                checkpointer=self.checkpointer(),
                model=self.model_for(self.settings),
                steerable=True,
            )

        self.switch_screen(LiveScreen(make_runner))


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
