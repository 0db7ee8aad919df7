"""Run a show: start, resume or fork a debate, yield its events, save it as it goes.

The same ShowRunner serves the CLI and the TUI (`graphs.session` assembles what it runs
with: it is handed its search, checkpointer and models, and makes none). A producer
steers it from any thread: `interject()` takes effect at the next interrupt (before the
next speaker is chosen), as a state update; `pause()` and `stop()` also cut the turn
being generated at its next streamed piece (it is spoken again on `play()`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from agents.llm.base import ChatModel, capabilities_of
from agents.personas import Persona, load_personas, select_panel
from agents.speaker import card_head
from core.errors import ModelError, UserError
from core.files import atomic_write
from core.models import Debate, Metrics, RunSettings, Turn
from core.settings import Settings
from episodes.export import to_markdown
from episodes.store import DebateStore, new_debate_id
from graphs import events
from graphs.builder import compile_show
from graphs.context import Search, ShowContext
from graphs.state import Interjection, NextTurn

log = logging.getLogger(__name__)
MAX_TOPIC = 500
# The models of the personas whose files name one of their own, by persona id.
ModelsOf = Callable[[Sequence[Persona]], dict[str, ChatModel]]


# The bundled 135M model writes English only: a Japanese debate on it is not Japanese a
# viewer can read (docs/ARCHITECTURE.md).
ENGLISH_ONLY = (
    "ja: the bundled model (SmolLM2-135M) writes English only; run Japanese debates on a "
    "server model"
)
SERVER_MODEL = {"backend": "openai", "base_url": "URL", "model": "NAME"}


def check_language(language: str, backend: str, model_path: Path | None = None) -> None:
    """Refuse, in one line and before any work, a Japanese debate on the bundled model
    (the embedded backend without a model file of the user's own). UserError."""
    if language == "ja" and backend == "embedded" and model_path is None:
        raise UserError(ENGLISH_ONLY, setting="language", fix=SERVER_MODEL)


def check_topic(topic: str) -> str:
    topic = " ".join((topic or "").split())
    if not topic:
        raise UserError("is empty; say what the panel should debate", setting="topic")
    if len(topic) > MAX_TOPIC:
        raise UserError(f"is {len(topic)} characters; keep it under {MAX_TOPIC}", setting="topic")
    return topic


class TurnCancelled(BaseException):
    """The producer cut the model call under way (a pause or a stop). A BaseException, so
    that no fallback for a failing call (`except Exception`) mistakes it for one."""


class Cuttable:
    """A ChatModel whose calls end early once `cut` is set: before a call starts, and
    between the pieces of a streamed reply. Everything else is the wrapped model's."""

    def __init__(self, inner: ChatModel, cut: threading.Event) -> None:
        self.inner = inner
        self.cut = cut

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def stream(self, messages: Any, sampling: Any, *, slot: str | None = None) -> Iterator[Any]:
        if self.cut.is_set():
            raise TurnCancelled
        pieces = self.inner.stream(messages, sampling, slot=slot)
        try:
            for piece in pieces:
                if self.cut.is_set():
                    raise TurnCancelled
                yield piece
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()

    def structured(self, messages: Any, schema: Any, sampling: Any) -> Any:
        if self.cut.is_set():
            raise TurnCancelled
        return self.inner.structured(messages, schema, sampling)


def debate_metrics(
    turns: list[Turn], settings: Settings, wall_s: float, fallbacks: int, picks: int = 0
) -> Metrics:
    return Metrics(
        turns=len(turns),
        tokens_in=sum(t.tokens_in for t in turns),
        tokens_out=sum(t.tokens_out for t in turns),
        wall_s=round(wall_s, 3),
        cost_usd=round(sum(settings.cost(t.model, t.tokens_in, t.tokens_out) for t in turns), 6),
        fallback_picks=fallbacks,
        model_picks=picks,
    )


@dataclass
class ShowRunner:
    """One debate being run."""

    settings: Settings
    debate: Debate
    panel: list[Persona]
    model: ChatModel
    search: Search
    checkpointer: Any
    persona_models: dict[str, ChatModel] = field(default_factory=dict)
    steerable: bool = False
    resuming: bool = False
    _questions: queue.Queue[Interjection] = field(default_factory=queue.Queue)
    _playing: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _cut: threading.Event = field(default_factory=threading.Event)
    _heard: list[Turn] = field(default_factory=list)
    _values: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self._playing.set()
        self.graph = compile_show(self.checkpointer, steerable=self.steerable)
        self.store = DebateStore(self.settings.out_dir)
        # Each speaker's persona card is the fixed head of all its prompts: a model that
        # keeps per-speaker contexts evaluates it now, before the debate's clock starts.
        cards = {p.id: card_head(p, self.debate.language) for p in self.panel}
        for model in {id(m): m for m in [self.model, *self.persona_models.values()]}.values():
            prepare = getattr(model, "prepare", None)
            if prepare is not None:
                prepare(cards)

    # -- steering (any thread) --------------------------------------------------------------
    def interject(self, text: str, voice: str = "host", to: str | None = None) -> None:
        text = " ".join(text.split())
        if not text:
            raise UserError("the question is empty")
        if voice not in ("host", "audience"):
            raise UserError(f"voice must be host or audience, not {voice!r}")
        self._questions.put(Interjection(text=text[:MAX_TOPIC], voice=voice, to=to))  # type: ignore[arg-type]

    def pause(self, *, cut: bool = False) -> None:
        """Wait at the next interrupt; with `cut`, also end the turn being generated now
        (it is generated again on `play`)."""
        self._playing.clear()
        if cut:
            self._cut.set()

    def play(self) -> None:
        self._cut.clear()
        self._playing.set()

    @property
    def paused(self) -> bool:
        return not self._playing.is_set()

    def stop(self, *, cut: bool = False) -> None:
        """End the show at the next interrupt; with `cut`, end the turn being generated
        now (it is not saved)."""
        self._stop.set()
        if cut:
            self._cut.set()
        self._playing.set()

    # -- running ----------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        return {"configurable": {"thread_id": self.debate.id}}

    def context(self) -> ShowContext:
        rs = self.debate.settings
        return ShowContext(
            debate_id=self.debate.id,
            panel=self.panel,
            model=Cuttable(self.model, self._cut),  # type: ignore[arg-type]
            search=self.search,
            persona_models={
                k: Cuttable(m, self._cut)  # type: ignore[misc]
                for k, m in self.persona_models.items()
            },
            policy=rs.policy,
            max_turns=rs.max_turns,
            passages_per_turn=self.settings.passages_per_turn,
            temperature=rs.temperature,
            seed=rs.seed,
            token_budget=self.settings.token_budget,
            time_budget_s=self.settings.time_budget_s,
            agenda=rs.agenda,
            reply_search=rs.reply_search,
            book=getattr(self.search, "book", None),
            check=getattr(self.search, "check", None),
        )

    def snapshot(self, status: str) -> Debate:
        # The state the graph last streamed; reading it back from the checkpointer would
        # deserialize every turn again at every save.
        values = (
            self._values if self._values is not None else self.graph.get_state(self.config).values
        )
        turns = list(values.get("turns", []))
        # Checkpoints are written in the background: right after a turn's event the
        # state may not hold that turn yet, but the saved debate must.
        if len(self._heard) > len(turns):
            turns = list(self._heard)
        self.debate = self.debate.model_copy(
            update={
                "agenda": list(values.get("agenda", [])),
                "turns": turns,
                "status": status,
                "metrics": debate_metrics(
                    turns,
                    self.settings,
                    values.get("elapsed_s", 0.0),
                    values.get("fallback_picks", 0),
                    values.get("model_picks", 0),
                ),
            }
        )
        return self.debate

    def save(self, status: str, *, markdown: bool = False) -> list[Path]:
        debate = self.snapshot(status)
        paths = [self.store.save(debate)]
        if markdown:
            md = self.store.folder / f"{debate.id}.md"
            paths.append(atomic_write(md, to_markdown(debate)))
        return paths

    def _apply_steering(self) -> Iterator[events.Event]:
        """At an interrupt: wait while paused, then hand over one queued question."""
        after = len(self.graph.get_state(self.config).values.get("turns", []))
        if self.paused:
            self.save("running")
            yield events.Interrupted(self.debate.id, after - 1, "paused")
            self._playing.wait()
            if not self._stop.is_set():
                yield events.Resumed(self.debate.id, after)
        try:
            question = self._questions.get_nowait()
        except queue.Empty:
            return
        # The show is paused before `select`, right after a turn was spoken.
        self.graph.update_state(self.config, {"pending": question}, as_node="speak")
        yield events.Interrupted(self.debate.id, after - 1, "interjection")

    def run(self) -> Iterator[events.Event]:
        """Run the show to its end (or a stop), yielding every event."""
        yield events.DebateStarted(
            self.debate.id,
            self.debate.topic,
            self.debate.language,
            self.debate.personas,
            self.debate.settings.max_turns,
            self.debate.parent_id,
        )
        began = time.perf_counter()
        ctx = self.context()
        payload: Any = None
        self._heard = list(self.graph.get_state(self.config).values.get("turns", []))
        if self.resuming:
            yield events.Resumed(self.debate.id, len(self._heard))
        else:
            payload = {"topic": self.debate.topic, "language": self.debate.language}
        self.save("running")
        try:
            while True:
                try:
                    for mode, chunk in self.graph.stream(
                        payload, self.config, context=ctx, stream_mode=["custom", "values"]
                    ):
                        if mode == "values":
                            self._values = chunk  # the state after each step, as it stands
                            continue
                        yield chunk
                        if isinstance(chunk, events.TurnFinished):
                            index = chunk.turn.index
                            self._heard = [*self._heard[:index], chunk.turn]
                            self.save("running")
                except TurnCancelled:
                    # The graph stays at its last checkpoint, before the cut turn: a stop
                    # saves what was spoken, a pause waits and then speaks that turn anew.
                    payload = None
                    yield from self._after_cut()
                    if self._stop.is_set():
                        paths = self.save("stopped", markdown=True)
                        yield self._finished("stopped", paths, began)
                        return
                    continue
                payload = None
                state = self.graph.get_state(self.config)
                if not state.next:
                    break
                if self._stop.is_set():
                    paths = self.save("stopped", markdown=True)
                    yield self._finished("stopped", paths, began)
                    return
                yield from self._apply_steering()
                if self._stop.is_set():
                    paths = self.save("stopped", markdown=True)
                    yield self._finished("stopped", paths, began)
                    return
        except (UserError, ModelError) as exc:
            self.save("stopped", markdown=False)
            yield events.Error(
                f"{exc} -- the debate is saved; continue it with `debate resume {self.debate.id}`",
                self.debate.id,
            )
            return
        paths = self.save("finished", markdown=True)
        yield self._finished(
            self.graph.get_state(self.config).values.get("stop_reason") or "agenda_done",
            paths,
            began,
        )

    def _after_cut(self) -> Iterator[events.Event]:
        """Say that the turn under way was cut; on a pause, wait for `play` (or a stop)."""
        index = len(self._heard)
        yield events.TurnDiscarded(index, "cut by the producer")
        if self._stop.is_set():
            return
        self.save("running")
        yield events.Interrupted(self.debate.id, index - 1, "paused")
        self._playing.wait()
        self._cut.clear()
        if not self._stop.is_set():
            yield events.Resumed(self.debate.id, index)

    def _finished(self, reason: str, paths: list[Path], began: float) -> events.DebateFinished:
        m = self.debate.metrics
        return events.DebateFinished(
            self.debate.id,
            reason,
            [str(p) for p in paths],
            m.turns,
            m.tokens_in,
            m.tokens_out,
            m.cost_usd,
            time.perf_counter() - began,
        )


def run_settings(
    settings: Settings, model: ChatModel, panel: list[Persona], policy: str
) -> RunSettings:
    return RunSettings(
        backend=settings.backend,
        model=model.name,
        base_url=settings.base_url,
        policy=policy,
        seed=settings.seed,
        temperature=settings.temperature,
        max_turns=settings.turns,
        persona_models={p.id: p.model for p in panel if p.model},
        agenda=agenda_mode(settings, model),
        reply_search=reply_search_mode(settings, model),
    )


def agenda_mode(settings: Settings, model: ChatModel) -> Literal["model", "standard"]:
    """`auto` keeps a model whose agendas are not worth asking for (`plans_agenda`: the
    bundled 135M model) off the agenda: asked for three segments it repeats one question
    or copies the notes, and most plans end up replaced by the standard agenda anyway,
    after the decoding of a plan (docs/ARCHITECTURE.md has the figures)."""
    if settings.agenda == "auto":
        return "model" if capabilities_of(model).plans_agenda else "standard"
    return settings.agenda


def reply_search_mode(settings: Settings, model: ChatModel) -> Literal["claim", "tail", "question"]:
    """`auto` searches a reply's passages with the segment question alone on a model whose
    turns make no usable query (`turns_as_queries`: the bundled 135M model). Its turns are
    rarely a usable query (half-sentences, stray names and
    numbers): with them, support and copy rate were the same as without, and each reply
    search of a debate cost an e5 encoding of its own, where the question's own search is
    cached (docs/ARCHITECTURE.md has the figures). Other models search with the question
    and the claim of the turn a reply answers: what that turn argues, in the source's
    words; claims come from one source, so in a batch most of their encodings are cached
    (docs/SCALING.md)."""
    if settings.reply_search == "auto":
        return "claim" if capabilities_of(model).turns_as_queries else "question"
    return settings.reply_search


def new_show(
    settings: Settings,
    topic: str,
    *,
    search: Search,
    checkpointer: Any,
    model: ChatModel,
    persona_ids: list[str] | None = None,
    personas_dir: Path | None = None,
    steerable: bool = False,
    persona_models: ModelsOf | None = None,
) -> ShowRunner:
    """A new debate, ready to run. `model` speaks for every persona but those that
    `persona_models` gives a model of their own (their files name one:
    `graphs.models.persona_models`). Raises UserError for a bad topic, an unknown persona,
    or a Japanese debate on a model that writes English only."""
    topic = check_topic(topic)
    if settings.language == "ja" and not capabilities_of(model).writes_japanese:
        raise UserError(ENGLISH_ONLY, setting="language", fix=SERVER_MODEL)
    panel = select_panel(load_personas(personas_dir), persona_ids)
    overrides = persona_models(panel) if persona_models is not None else {}
    debate = Debate(
        id=new_debate_id(),
        topic=topic,
        language=settings.language,
        settings=run_settings(settings, model, panel, settings.policy),
        personas=[p.snapshot() for p in panel],
    )
    return ShowRunner(settings, debate, panel, model, search, checkpointer, overrides, steerable)


def panel_of(debate: Debate) -> list[Persona]:
    return [Persona.model_validate(p.model_dump()) for p in debate.personas]


def continuing(
    settings: Settings,
    debate: Debate,
    model: ChatModel | None,
    search: Search,
    checkpointer: Any,
    steerable: bool,
    persona_models: ModelsOf | None = None,
) -> ShowRunner:
    """A runner that continues `debate` from its checkpoints (resume or fork), with the
    model it ran with (`graphs.models.saved_model`) and its personas' own."""
    if model is None:
        raise ValueError("a debate continues with a model: graphs.session makes its own")
    panel = panel_of(debate)
    return ShowRunner(
        settings,
        debate,
        panel,
        model,
        search,
        checkpointer,
        persona_models(panel) if persona_models is not None else {},
        steerable,
        resuming=True,
    )


def _old_next_turn(checkpointer: Any, config: dict[str, Any]) -> NextTurn | None:
    """The next turn a checkpoint holds under the state's former key, `next` (checkpoints
    written before it was named `next_turn`); None when it holds none there."""
    saved = checkpointer.get_tuple(config)
    if saved is None:
        return None
    values = saved.checkpoint.get("channel_values", {})
    old = values.get("next") if "next_turn" not in values else None
    return old if isinstance(old, NextTurn) else None


def _carry_old_next_turn(runner: ShowRunner) -> None:
    """A debate whose last checkpoint was written before the state's next turn was named
    `next_turn` resumes with that turn under its new name, written as the node before
    the one that reads it wrote it (`select` before `retrieve`, `retrieve` before
    `speak`)."""
    old = _old_next_turn(runner.checkpointer, runner.config)
    if old is None:
        return
    after = {"retrieve": "select", "speak": "retrieve"}
    waiting = [after[n] for n in runner.graph.get_state(runner.config).next if n in after]
    if waiting:
        runner.graph.update_state(runner.config, {"next_turn": old}, as_node=waiting[0])


def resume_show(
    settings: Settings,
    ref: str,
    *,
    search: Search,
    checkpointer: Any,
    model: ChatModel | None = None,
    steerable: bool = False,
    persona_models: ModelsOf | None = None,
) -> ShowRunner:
    """Continue a debate from its last checkpoint, with `model` (the one it ran with:
    `graphs.models.saved_model`) and its personas' own (`persona_models`). Raises
    UserError for an unknown or finished debate, or one without checkpoints."""
    store = DebateStore(settings.out_dir)
    debate = store.load(ref)
    if debate.status == "finished":
        raise UserError(f"debate {debate.id} is finished; fork it to continue (`debate fork`)")
    runner = continuing(settings, debate, model, search, checkpointer, steerable, persona_models)
    if not runner.graph.get_state(runner.config).values:
        raise UserError(f"debate {debate.id} has no checkpoint in {settings.data_dir}")
    _carry_old_next_turn(runner)
    return runner


def check_fork(
    parent: Debate, after_turn: int, *, steer: str | None = None, turns: int | None = None
) -> None:
    """Refuse, before anything is loaded, a fork `fork_show` cannot make of `parent`: `turns`
    below 1, a turn number (from 1) outside the debate, or a steering question after a
    producer's question. UserError."""
    if turns is not None and turns < 1:
        raise UserError(f"{turns}: a fork adds at least 1 turn", setting="fork_turns")
    if not parent.turns:
        raise UserError(
            f"{after_turn}: debate {parent.id} has no turns to fork after", setting="at_turn"
        )
    if not 1 <= after_turn <= len(parent.turns):
        raise UserError(
            f"{after_turn}: debate {parent.id} has turns 1-{len(parent.turns)}", setting="at_turn"
        )
    if steer and parent.turns[after_turn - 1].kind == "interjection":
        raise UserError(
            f"{after_turn}: turn {after_turn} is a producer's question; a steering question "
            "needs a turn of the panel",
            setting="at_turn",
        )


def fork_show(
    settings: Settings,
    ref: str,
    after_turn: int,
    *,
    search: Search,
    checkpointer: Any,
    steer: str | None = None,
    turns: int | None = None,
    model: ChatModel | None = None,
    steerable: bool = False,
    persona_models: ModelsOf | None = None,
) -> ShowRunner:
    """A new debate that continues from the state right after turn number `after_turn` of
    another: numbered from 1, as replay and every export number turns (`Turn.number`), so
    `after_turn=5` keeps the parent's first five turns. `turns`: most turns the branch adds
    after the fork point, its closing included (a producer's question does not count); by
    default the parent's turn limit stands. `model` and `persona_models` as for
    `resume_show`, the parent's. Raises UserError for an unknown debate, a turn
    outside it, or `turns` below 1."""
    parent = DebateStore(settings.out_dir).load(ref)
    check_fork(parent, after_turn, steer=steer, turns=turns)
    last = after_turn - 1  # the index of the last turn the fork keeps
    graph = compile_show(checkpointer)
    source = None
    # Right after turn K the show is about to choose a speaker (`select`), or, when turn K
    # is a producer's question, to fetch passages for its answer (`retrieve`).
    after = "moderate" if parent.turns[last].kind == "interjection" else "speak"
    wanted = "retrieve" if after == "moderate" else "select"
    for snap in graph.get_state_history({"configurable": {"thread_id": parent.id}}):
        if len(snap.values.get("turns", [])) == last + 1 and wanted in snap.next:
            source = snap
            break
    if source is None:
        raise UserError(
            f"debate {parent.id} has no checkpoint after turn {after_turn} to fork from"
        )
    settings_of_fork = parent.settings
    if turns is not None:
        kept = sum(1 for t in parent.turns[: last + 1] if t.kind != "interjection")
        settings_of_fork = parent.settings.model_copy(update={"max_turns": kept + turns})
    debate = parent.model_copy(
        update={
            "settings": settings_of_fork,
            "id": new_debate_id(),
            "parent_id": parent.id,
            "forked_at": last,
            "turns": [],
            "status": "running",
            "created_at": datetime.now(UTC),
        }
    )
    runner = continuing(settings, debate, model, search, checkpointer, steerable, persona_models)
    values = dict(source.values)
    if "next_turn" not in values and (old := _old_next_turn(checkpointer, source.config)):
        values["next_turn"] = old  # a checkpoint from before the key was renamed
    runner.graph.update_state(runner.config, values, as_node=after)
    if steer:
        runner.graph.update_state(
            runner.config, {"pending": Interjection(text=steer, voice="host")}, as_node="speak"
        )

    return runner
