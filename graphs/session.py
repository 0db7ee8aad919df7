"""The composition root: the one place that assembles what a show runs with (the passage
index and its search, the checkpointer, the chat models) and what saved debates are
judged and written up with (the attribution measure, the e5 embedder, a model's prose),
for the CLI and the TUI alike.

Front ends build a `Session` from their settings and call it, the runner and the
functions here; they import nothing below `graphs` but `core` (types, errors, settings,
files) and `episodes` (to read and render saved debates). Parts are made on first use,
so a command that fails on its input loads nothing.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agents.judge import Judge
from agents.llm.base import ChatModel
from agents.notes import ask_notes
from agents.personas import Persona, select_panel
from agents.personas import load_personas as _load_personas
from core.errors import ModelError, UserError
from core.models import Debate, Verdict
from core.settings import Settings
from episodes.outline import Outline, notes_request, notes_unusable, with_notes
from episodes.store import DebateStore
from graphs import models, runner
from graphs.context import Search, SourceSearch

if TYPE_CHECKING:
    from transcripts.attribution import Attributor
    from transcripts.claims import Topic
    from transcripts.index import PassageIndex

# stage(name, done=0, total=0): what slow work is under way, for a front end to show.
Stage = Callable[..., None]
# progress(done, total): passages encoded while the bundled transcript is indexed.
Progress = Callable[[int, int], None]


# -- services on their own --------------------------------------------------------------------
def e5_embed(texts: Sequence[str]) -> np.ndarray:
    """Passage embeddings from the bundled multilingual-e5-small, one unit row per text
    (`core.services.Embed`: what merging and distinctiveness compare claims with)."""
    from transcripts.embedder import E5Embedder

    return np.asarray(E5Embedder.shared().passage(list(texts)))


def write_notes(outline: Outline, topic: str, model: ChatModel) -> Outline:
    """The outline with its prose parts written by `model` (`agents.notes`): each part
    taken or dropped with its reason (`episodes.outline.with_notes`). A failed call, or a
    reply that does not fit the schema, keeps the assembled text and says so in
    `notes_dropped`; the result is always a valid outline."""
    try:
        notes = ask_notes(model, topic, outline.language, notes_request(outline))
    except ModelError as exc:
        return notes_unusable(outline, exc)
    return with_notes(outline, topic, notes, getattr(model, "name", "model"))


def load_personas(
    folder: Path | None = None, on_skip: Callable[[str], None] | None = None
) -> dict[str, Persona]:
    """The personas of `folder` (the bundled ones by default), by id
    (`agents.personas.load_personas`). UserError for a bad persona file."""
    return _load_personas(folder, on_skip=on_skip)


def check_panel(
    folder: Path | None, ids: Sequence[str] | None, on_skip: Callable[[str], None] | None = None
) -> None:
    """Refuse, before any work, a panel that cannot be formed: a bad persona file or an
    unknown persona id (UserError); files the folder holds but does not load are passed
    to `on_skip`."""
    select_panel(_load_personas(folder, on_skip=on_skip), list(ids) if ids else None)


def skipped_note(skipped: Iterable[Any]) -> str:
    """What reading a source left out, for the user (`transcripts.ingest.skipped_note`)."""
    from transcripts.ingest import skipped_note as note

    return note(list(skipped))


def judged(debate: Debate) -> bool:
    """Whether every panelist turn of `debate` has its verdict saved (`Turn.attribution`)."""
    panel = {p.id for p in debate.personas if p.role == "panelist"}
    return all(t.attribution is not None for t in debate.turns if t.speaker_id in panel)


# -- the session ------------------------------------------------------------------------------
class Session:
    """What one front end works with, made on first use and kept: the passage index and its
    search, the checkpointer (closed by `close()`), one model per set of model settings,
    the store of saved debates. `model`, `search` and `checkpointer`, when given, are used
    instead of making them (tests pass a scripted model, a fixed search and an in-memory
    checkpointer). Use as a context manager, or call `close()`. Any thread may call it."""

    def __init__(
        self,
        settings: Settings,
        *,
        model: ChatModel | None = None,
        search: Search | None = None,
        checkpointer: Any = None,
    ) -> None:
        self.settings = settings
        self.store = DebateStore(settings.out_dir)
        self._model = model
        self._models: dict[tuple, ChatModel] = {}
        self._search = search
        self._index: PassageIndex | None = None
        self._attributor: Attributor | None = None
        self._checkpointer = checkpointer
        self._resources = contextlib.ExitStack()
        self._lock = threading.RLock()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close what the session opened (the checkpointer)."""
        self._resources.close()

    # -- parts ---------------------------------------------------------------------------------
    def index(self, progress: Progress | None = None, *, bundled: bool = True) -> PassageIndex:
        """The passage index under the data directory (or on the Chroma server). With
        `bundled`, the show's own transcript is indexed on first use (a no-op once it is),
        reporting `progress(done, total)` passages encoded."""
        from transcripts.index import PassageIndex

        with self._lock:
            if self._index is None:
                self._index = PassageIndex(
                    self.settings.data_dir, chroma_url=self.settings.chroma_url
                )
            if bundled:
                self._index.ensure_bundled(progress=progress)
            return self._index

    def search(self, progress: Progress | None = None) -> Search:
        """The passage search a show runs with: the index as a `SourceSearch` (the sources'
        claims and the draft check come with it); the first call indexes the bundled
        transcript if it is not yet (`progress` as for `index`)."""
        with self._lock:
            if self._search is None:
                self._search = searcher(self.index(progress))
            return self._search

    def checkpointer(self) -> Any:
        """The checkpointer (SQLite under the data directory, or PostgreSQL)."""
        from graphs.checkpoint import open_checkpointer

        with self._lock:
            if self._checkpointer is None:
                self._checkpointer = self._resources.enter_context(
                    open_checkpointer(self.settings.data_dir, self.settings.checkpoint_url)
                )
            return self._checkpointer

    def model_for(self, settings: Settings | None = None) -> ChatModel:
        """The model `settings` (the session's by default) name, made once per backend,
        model, model file and server."""
        if self._model is not None:
            return self._model
        settings = settings or self.settings
        key = (settings.backend, settings.model, settings.model_path, settings.base_url)
        with self._lock:
            if key not in self._models:
                self._models[key] = models.default_model(settings)
            return self._models[key]

    def saved_model_for(self, debate: Debate) -> ChatModel:
        """The model a saved debate ran with (a server URL or model file of the session's
        settings wins), made once."""
        if self._model is not None:
            return self._model
        rs = debate.settings
        key = ("saved", rs.backend, rs.model, rs.base_url)
        with self._lock:
            if key not in self._models:
                self._models[key] = models.saved_model(self.settings, rs)
            return self._models[key]

    def persona_models(self, settings: Settings | None = None) -> runner.ModelsOf:
        """The models of a panel's personas whose files name their own."""
        settings = settings or self.settings
        return lambda panel: models.persona_models(settings, panel)

    def show_parts(self, settings: Settings, stage: Stage) -> tuple[Search, Any, ChatModel]:
        """Search, checkpointer and model of a show, each stage named as it begins."""
        stage("opening the transcript index")
        search = self.search(
            progress=lambda done, total: stage("indexing the show's transcript", done, total)
        )
        stage("opening the checkpoints")
        saver = self.checkpointer()
        name = settings.model or (
            settings.model_path.name if settings.model_path else "the bundled model"
        )
        stage(f"loading the model ({name})")
        model = self.model_for(settings)
        return search, saver, model

    def attributor(self) -> Attributor:
        """The attribution measure over the session's index (`transcripts.attribution`)."""
        from transcripts.attribution import Attributor

        with self._lock:
            if self._attributor is None:
                self._attributor = Attributor(self.index())
            return self._attributor

    # -- shows ---------------------------------------------------------------------------------
    def new_show(
        self,
        topic: str,
        *,
        search: Search,
        model: ChatModel,
        settings: Settings | None = None,
        persona_ids: list[str] | None = None,
        personas_dir: Path | None = None,
        steerable: bool = False,
    ) -> runner.ShowRunner:
        """A new debate on `topic` (`runner.new_show`), checkpointed by the session."""
        settings = settings or self.settings
        return runner.new_show(
            settings,
            topic,
            search=search,
            checkpointer=self.checkpointer(),
            model=model,
            persona_ids=persona_ids,
            personas_dir=personas_dir,
            steerable=steerable,
            persona_models=self.persona_models(settings),
        )

    def resume(
        self, ref: str, *, search: Search, model: ChatModel | None = None, steerable: bool = False
    ) -> runner.ShowRunner:
        """Continue a saved debate from its last checkpoint (`runner.resume_show`), with the
        model it ran with unless `model` is given."""
        parts = self._continuing(ref, model, steerable)
        return runner.resume_show(self.settings, ref, search=search, **parts)

    def fork(
        self,
        ref: str,
        after_turn: int,
        *,
        search: Search,
        steer: str | None = None,
        turns: int | None = None,
        model: ChatModel | None = None,
        steerable: bool = False,
    ) -> runner.ShowRunner:
        """A new branch of a saved debate after turn `after_turn` (from 1; see
        `runner.fork_show`), with the model the debate ran with unless `model` is given."""
        runner.check_fork(self.store.load(ref), after_turn, steer=steer, turns=turns)
        parts = self._continuing(ref, model, steerable)
        return runner.fork_show(
            self.settings, ref, after_turn, search=search, steer=steer, turns=turns, **parts
        )

    def _continuing(self, ref: str, model: ChatModel | None, steerable: bool) -> dict[str, Any]:
        """What resuming or forking the saved debate `ref` runs with: the checkpointer, its
        model (or `model`), its personas' own. UserError for an unknown debate."""
        return {
            "checkpointer": self.checkpointer(),
            "model": model or self.saved_model_for(self.store.load(ref)),
            "steerable": steerable,
            "persona_models": self.persona_models(),
        }

    # -- saved debates -------------------------------------------------------------------------
    def verdicts(self, debate: Debate) -> dict[int, Verdict]:
        """Verdicts on the debate's turns against the session's index, by turn index."""
        return self.attributor().judge_debate(debate)

    def judge(self, base_url: str, model: str) -> Judge:
        """A judge model on an OpenAI-compatible server, each call bounded by the settings'
        request timeout and retry budget. UserError when the server cannot be used."""
        from agents.llm.factory import make_model

        return Judge(
            make_model(
                "openai",
                model=model,
                base_url=base_url,
                timeout=self.settings.request_timeout_s,
                max_retries=self.settings.max_retries,
            )
        )

    def topics(
        self,
        *,
        language: str = "en",
        sources: Sequence[str] | None = None,
        personas_dir: Path | None = None,
        limit: int = 10,
    ) -> list[Topic]:
        """Claims of the indexed sources no saved debate has made yet, the most substantial
        first (`transcripts.claims.fresh_topics`). UserError for an unknown source id."""
        from transcripts.claims import book_of, fresh_topics

        book = book_of(self.index())
        unknown = [s for s in sources or () if s not in book.sources]
        if unknown:
            raise UserError(
                f"{unknown[0]}: no such source (see `debate sources`)", setting="source"
            )
        turns = [t for d in self.store.list() for t in d.turns]
        names = [p.name for p in _load_personas(personas_dir).values()]
        return fresh_topics(
            book, turns, language=language, names=names, sources=sources, limit=limit
        )


def searcher(index: Any) -> Search:
    """The index as a show's search, with the sources' claims and the draft check."""
    return SourceSearch(index)
