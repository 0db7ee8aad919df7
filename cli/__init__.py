"""`debate ...`: a thin command line over the same functions the TUI uses."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.errors import UserError

# How the command line names each setting an error can be about (`core.errors.UserError`).
FLAGS = {
    "topic": "--topic",
    "language": "--lang",
    "backend": "--backend",
    "model": "--model",
    "model_path": "--model-path",
    "base_url": "--base-url",
    "chroma_url": "--chroma-url",
    "checkpoint_url": "--checkpoint-url",
    "at_turn": "--at-turn",
    "fork_turns": "--turns",
    "steer": "--steer",
    "runs": "--runs",
    "concurrency": "--concurrency",
    "merge": "--merge",
    "source": "--source",
}
# `debate eval`: the judge's server and model have flags of their own.
JUDGE_FLAGS = {**FLAGS, "base_url": "--judge-base-url", "model": "--judge-model"}

DEFAULT_TOPIC = "Compute as the new currency: what happens if one AI holds 51% of all compute?"
DEFAULT_TOPIC_JA = (
    "計算機資源が新しい通貨になるとき、一つのAIが全計算資源の51%を握ったら何が起きるか"
)


# -- terminal output ----------------------------------------------------------------------------
def console_for(stream: Any) -> Any:
    """A rich console on `stream`: colour on a terminal unless NO_COLOR is set, plain text
    (no escape codes, no wrapping) into a file or a pipe."""
    from rich.console import Console

    return Console(file=stream, highlight=False, soft_wrap=True, emoji=False)


PLAIN_AFTER_S = 1.0  # into a log, work quicker than this says nothing


@contextmanager
def progress_of(what: str, *, quiet: bool = False, stream: Any = None) -> Iterator[Any]:
    """Progress of slow work: a rich spinner with the stage named, a bar and `done/total`
    when the work is counted, on a terminal (cleared at the end, one summary line left);
    one plain line per stage otherwise, once the first stage has run PLAIN_AFTER_S (work
    that ends sooner, or fails before, leaves nothing but its error). Yields
    `update(stage=None, done=None, total=None)`."""
    import time

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    stream = stream or sys.stderr
    console = console_for(stream)
    if quiet:
        yield lambda *a, **k: None
        return
    began = time.perf_counter()
    said: dict[str, Any] = {"stage": None, "count": "", "shown": False}

    def summary() -> str:
        return f"{what}: done{said['count']} ({time.perf_counter() - began:.1f} s)"

    if console.is_terminal:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(what, total=None)

            def update(stage: str | None = None, done: int | None = None, total: int | None = None):
                if total:
                    said["count"] = f" {done}/{total}"
                progress.update(task, description=stage or what, completed=done, total=total)

            yield update
        console.print(summary(), style="dim")
        return
    lock = threading.Lock()

    def write(line: str) -> None:
        stream.write(line + "\n")
        stream.flush()

    def announce() -> None:
        """Past PLAIN_AFTER_S: say what the work is and the stage it is at."""
        with lock:
            if not said["shown"]:
                said["shown"] = True
                write(f"{what}…")
                if said["stage"]:
                    write(f"{said['stage']}…")

    timer = threading.Timer(PLAIN_AFTER_S, announce)
    timer.daemon = True

    def update_plain(stage: str | None = None, done: int | None = None, total: int | None = None):
        # The clock starts with the first stage: checking the input, before it, stays quiet.
        if not timer.is_alive() and not said["shown"]:
            with contextlib.suppress(RuntimeError):  # started already
                timer.start()
        with lock:
            if total:
                said["count"] = f" {done}/{total}"
            if stage and stage != said["stage"]:
                said["stage"] = stage
                if said["shown"]:
                    write(f"{stage}…")

    try:
        yield update_plain
    finally:
        timer.cancel()
    with lock:
        if said["shown"]:
            write(summary())


def _out(text: str = "", end: str = "\n") -> None:
    sys.stdout.write(text + end)
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _warn(text: str) -> None:
    _err(f"debate: warning: {text}")


# -- settings and shared parts --------------------------------------------------------------------
def make_settings(args: argparse.Namespace, *, note: bool = True):
    """The settings of a command: its options over DEBATE_* variables over the defaults.
    With `note`, says once (on stderr) how to move debates kept in the former default
    folder; the TUI says it on its own screen. UserError for a value out of range."""
    from core.settings import Settings

    fields = Settings.model_fields
    overrides = {
        name: value for name, value in vars(args).items() if name in fields and value is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        flag = "--" + field.replace("_", "-")
        raise UserError(f"{flag}: {first['msg']}") from exc
    if note and (moved := settings.debates_note()) and moved not in _noted:
        _noted.add(moved)
        _err(f"debate: note: {moved}")
    return settings


_noted: set[str] = set()  # what `make_settings` has said in this process


def open_index(session, *, quiet: bool = False):
    """The session's passage index, the bundled transcript indexed first where it is not
    yet (with a progress display, unless `quiet`)."""
    shown = ExitStack()  # progress appears only if there is indexing to do
    update: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal update
        if update is None:
            what = "Indexing the show's transcript (first run only)"
            update = shown.enter_context(progress_of(what, quiet=quiet))
        update("encoding sentences, passages and their glosses", done, total)

    with shown:
        return session.index(progress=progress)


def searcher(index):
    """The index as a show's search, with the sources' claims and the draft check."""
    from graphs.context import SourceSearch

    return SourceSearch(index)


# -- commands -------------------------------------------------------------------------------------
def print_events(runner, console: Any) -> int:
    """Stream a show to `console` (see `console_for`); returns the exit status. Model and
    transcript text is printed as text, never read as markup."""
    from rich.text import Text

    from graphs import events as ev

    def say(*parts: Any, end: str = "\n") -> None:
        console.print(Text.assemble(*parts), end=end)

    names: dict[str, tuple[str, str]] = {}
    status = 0
    for event in runner.run():
        if isinstance(event, ev.DebateStarted):
            for p in event.personas:
                label = f"{p.name} (simulated)" if p.simulated else p.name
                names[p.id] = (label, p.color)
            say((f"▶ {event.topic}", "bold"))
            say((f"  debate {event.debate_id} · up to {event.max_turns} turns", "dim"))
        elif isinstance(event, ev.AgendaPlanned):
            for i, seg in enumerate(event.agenda, 1):
                say((f"  {i}. {seg.title} — {seg.question}", "dim"))
        elif isinstance(event, ev.SegmentStarted):
            say()
            say((f"── Segment {event.index + 1}: {event.title} ──", "bold"))
        elif isinstance(event, ev.TurnStarted):
            label, color = names.get(event.speaker_id, (event.speaker_id, ""))
            say()
            say((label, f"bold {color}".strip()), (f" · {event.turn_kind}", "dim"))
        elif isinstance(event, ev.Token):
            say(event.text, end="")
        elif isinstance(event, ev.TurnDiscarded):
            say((f"  ↺ draft discarded ({event.reason}); again:", "dim"))
        elif isinstance(event, ev.TurnFinished):
            say()
            mark = turn_mark(event.turn)
            if mark:
                say((f"  {mark}", "dim"))
        elif isinstance(event, ev.Interrupted):
            say((f"  ⏸ {event.reason}", "dim"))
        elif isinstance(event, ev.Resumed):
            say((f"  ▶ resumed after {event.from_turn} turns", "dim"))
        elif isinstance(event, ev.DebateFinished):
            say()
            say(
                (
                    f"■ {event.stop_reason} · {event.turns} turns · "
                    f"{event.tokens_in} tokens in, {event.tokens_out} out · "
                    f"${event.cost_usd:.4f} · {event.wall_s:.1f} s",
                    "bold",
                )
            )
            for path in event.paths:
                say(f"  saved {path}")
        elif isinstance(event, ev.Error):
            say()
            _err(f"debate: error: {event.message}")
            status = 1
    return status


REPORTED = "quoted from the show's report of the real person's words"


def turn_mark(turn) -> str:  # noqa: ANN001  (a Turn)
    """What the terminal prints under a turn: the lines it cites, whether its claim is the
    show's report of a simulated persona's real person, and whether it was stated from the
    template or is unsupported (every draft failed its check)."""
    parts = []
    cites = " ".join(c.anchor for c in turn.citations)
    if cites:
        parts.append(f"[{cites}]")
    if turn.claim is not None and turn.claim.reported:
        parts.append(REPORTED)
    if turn.voiced_by == "template" and turn.claim is not None:
        parts.append("stated from the template")
    if turn.unsupported:
        parts.append("⚠ unsupported: no draft passed its check")
    return " · ".join(parts)


def _producer_input(runner) -> None:
    """Lines typed during an interactive run become questions for the panel."""
    for line in sys.stdin:
        text = line.strip()
        if not text:
            continue
        voice, to = "host", None
        if text.lower().startswith("a:"):
            voice, text = "audience", text[2:].strip()
        if text.startswith("@"):
            to, _, text = text[1:].partition(" ")
        try:
            runner.interject(text, voice, to)
            _err(f"  (question queued for after this turn{f', to {to}' if to else ''})")
        except UserError as exc:
            _err(f"debate: {exc.shown(FLAGS)}")


def show_inputs(args: argparse.Namespace) -> tuple[Any, str, list[str] | None]:
    """Settings, topic and persona ids of `run` and `batch`, checked before any loading."""
    from graphs.runner import check_topic
    from graphs.session import check_panel

    if args.lang is not None:
        args.language = args.lang
    settings = make_settings(args)
    topic = args.topic
    if topic is None:
        topic = DEFAULT_TOPIC_JA if settings.language == "ja" else DEFAULT_TOPIC
    topic = check_topic(topic)
    personas = [p.strip() for p in args.personas.split(",")] if args.personas else None
    # Bad personas fail before work; files the folder holds but does not load are named.
    check_panel(args.personas_dir, personas, on_skip=_warn)
    return settings, topic, personas


def cmd_run(args: argparse.Namespace) -> int:
    from graphs.runner import check_language
    from graphs.session import Session

    settings, topic, personas = show_inputs(args)
    check_language(settings.language, settings.backend, settings.model_path)
    with Session(settings) as session:
        model = session.model_for()
        index = open_index(session)
        runner = session.new_show(
            topic,
            search=searcher(index),
            model=model,
            persona_ids=personas,
            personas_dir=args.personas_dir,
            steerable=args.interactive,
        )
        if args.interactive:
            _err(
                "Interactive: type a question and Enter to put it to the panel after the "
                "current turn ('a: …' for an audience question, '@id …' to address a panelist)."
            )
            threading.Thread(target=_producer_input, args=(runner,), daemon=True).start()
        try:
            return print_events(runner, console_for(sys.stdout))
        except KeyboardInterrupt:
            runner.save("stopped")
            _err(f"\ndebate: stopped; continue with `debate resume {runner.debate.id}`")
            return 130


class BatchDisplay:
    """Progress of a batch: a rich progress bar (done/total, running, failed, turns, tok/s)
    on a terminal; a line per finished debate otherwise. Use as a context manager."""

    def __init__(self, stream: Any, total: int) -> None:
        self.stream = stream
        self.console = console_for(stream)
        self.tty = self.console.is_terminal
        self.total = total
        self.progress: Any = None
        self.task: Any = None

    def __enter__(self) -> BatchDisplay:
        if self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("debates"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.progress.__enter__()
            self.task = self.progress.add_task("batch", total=self.total, detail="starting")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def __call__(self, progress, result) -> None:
        if result is not None and not self.tty:
            where = f" on {result.base_url}" if result.base_url else ""
            what = f"{result.turns} turns" if result.status == "finished" else result.message
            self.stream.write(
                f"[{progress.finished + progress.failed}/{self.total}] "
                f"{result.debate_id or '-'} {result.status}{where}: {what} "
                f"({result.wall_s:.1f} s)\n"
            )
            self.stream.flush()
            return
        if self.progress is None:
            return
        rate = progress.tokens_out / max(progress.elapsed_s, 1e-6)
        self.progress.update(
            self.task,
            completed=progress.finished + progress.failed,
            detail=f"{progress.running} running · {progress.failed} failed · "
            f"{progress.turns} turns · {rate:.0f} tok/s",
        )


def cmd_batch(args: argparse.Namespace) -> int:
    import asyncio

    from graphs.batch import check_counts, run_batch
    from graphs.models import model_from
    from graphs.session import Session

    args.backend = "openai"  # batches run against servers; the embedded model is one at a time
    settings, topic, personas = show_inputs(args)
    check_counts(args.runs, args.concurrency)
    urls = list(dict.fromkeys(args.base_urls or [""]))  # "": the OpenAI API itself
    models = {
        url: model_from(settings, "openai", settings.model, None, url or None, settings.seed)
        for url in urls
    }
    session = Session(settings)
    index = open_index(session)
    display = BatchDisplay(sys.stderr, args.runs)
    servers = f"{len(urls)} server{'s' if len(urls) > 1 else ''}"
    _err(f"Running {args.runs} debates, {args.concurrency} at a time, on {servers}…")
    with session, display:
        results = asyncio.run(
            run_batch(
                settings,
                topic,
                runs=args.runs,
                concurrency=args.concurrency,
                models=models,
                search=searcher(index),
                checkpointer=session.checkpointer(),
                persona_ids=personas,
                personas_dir=args.personas_dir,
                on_progress=display,
            )
        )
    finished = [r for r in results if r.status == "finished"]
    failed = [r for r in results if r.status != "finished"]
    wall = max((r.wall_s for r in results), default=0.0)
    _out(f"{len(finished)}/{len(results)} debates finished (longest {wall:.1f} s)")
    for r in results:
        mark = "✓" if r.status == "finished" else "✗"
        _out(f"  {mark} {r.debate_id or '-'}  {r.turns:>3} turns  {r.wall_s:6.1f} s  {r.message}")
    for r in failed:
        if r.debate_id:
            _err(
                f"debate: {r.debate_id} did not finish; "
                f"continue it with `debate resume {r.debate_id}`"
            )
    return 0 if not failed else 1


def cmd_resume(args: argparse.Namespace) -> int:
    from graphs.session import Session

    with Session(make_settings(args)) as session:
        session.store.load(args.id)  # an unknown id fails before any loading
        index = open_index(session, quiet=True)
        runner = session.resume(args.id, search=searcher(index))
        return print_events(runner, console_for(sys.stdout))


def cmd_fork(args: argparse.Namespace) -> int:
    from graphs.session import Session

    with Session(make_settings(args)) as session:
        session.store.load(args.id)  # an unknown id fails before any loading
        index = open_index(session, quiet=True)
        runner = session.fork(
            args.id,
            args.at_turn,
            search=searcher(index),
            steer=args.steer,
            turns=args.fork_turns,
        )
        return print_events(runner, console_for(sys.stdout))


def cmd_list(args: argparse.Namespace) -> int:
    from episodes.store import DebateStore

    settings = make_settings(args)
    debates = DebateStore(settings.out_dir).list()
    if args.json:
        _out(
            json.dumps(
                [
                    {
                        "id": d.id,
                        "parent_id": d.parent_id,
                        "forked_after_turn": d.forked_after,
                        "topic": d.topic,
                        "language": d.language,
                        "turns": len(d.turns),
                        "status": d.status,
                        "created_at": d.created_at.isoformat(),
                    }
                    for d in debates
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    if not debates:
        _out(f"No debates in {settings.out_dir} yet. Start one with `debate run`.")
        return 0
    children: dict[str | None, list] = {}
    ids = {d.id for d in debates}
    for d in debates:
        children.setdefault(d.parent_id if d.parent_id in ids else None, []).append(d)

    def show(d, depth: int) -> None:
        branch = "  " * depth + ("└ " if depth else "")
        fork = f" (fork after turn {d.forked_after})" if d.parent_id else ""
        _out(
            f"{branch}{d.id}  {d.created_at:%Y-%m-%d %H:%M}  {d.language}  "
            f"{len(d.turns):>3} turns  {d.status:<8} {d.topic[:60]}{fork}"
        )
        for child in children.get(d.id, []):
            show(child, depth + 1)

    for d in children.get(None, []):
        show(d, 0)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from graphs.session import Session

    settings = make_settings(args)
    if args.k < 1:
        raise UserError("--k must be at least 1")
    if not args.query.strip():
        raise UserError("the search query is empty")
    index = open_index(Session(settings), quiet=args.json)
    found = index.search(args.query, args.k, sources=args.source or None)
    if args.json:
        rows = []
        for p in found:
            row = {
                "source_id": p.source_id,
                "line_start": p.line_start,
                "line_end": p.line_end,
                "text": p.text,
                "score": p.score,
            }
            if p.gloss:
                row["gloss"] = p.gloss
            rows.append(row)
        _out(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for i, p in enumerate(found, 1):
        _out(f"{i}. {p.anchor}  (score {p.score:.4f})")
        _out(f"   {p.text}")
        if p.gloss:
            _out(f"   — {p.gloss}")
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    """Claims of the sources that no saved debate has made yet: seeds for the next episode."""
    from graphs.session import Session

    if args.limit < 1:
        raise UserError(f"--limit {args.limit}: give 1 or more")
    with Session(make_settings(args)) as session:
        open_index(session, quiet=args.json)
        found = session.topics(
            language=args.lang or "en",
            sources=args.source,
            personas_dir=args.personas_dir,
            limit=args.limit,
        )
    if args.json:
        _out(json.dumps([t.__dict__ for t in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        _out("Every claim of the sources has been made in a saved debate.")
        return 0
    for t in found:
        _out(f"- {t.source_id}:{t.line}  {t.claim}")
    return 0


def cmd_personas(args: argparse.Namespace) -> int:
    from graphs.session import load_personas

    personas = load_personas(args.personas_dir, on_skip=_warn)
    for p in personas.values():
        sim = "  [simulated]" if p.simulated else ""
        _out(f"{p.id:<12} {p.role:<9} {p.name} — {p.title}{sim}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from graphs.session import Session

    settings = make_settings(args)
    if args.source_id and len(args.paths) > 1:
        raise UserError("--source-id names one source; give one PATH with it")
    index = Session(settings).index(bundled=False)
    for path in args.paths:
        with progress_of(f"Indexing {path.name}") as update:
            result = index.ingest(
                path,
                args.source_id,
                progress=lambda done, total: update("encoding passages", done, total),
            )
        _out(ingest_line(result))
    return 0


def ingest_line(result) -> str:
    """One line on what `ingest` did with a file, with what it read and what it left out:
    `ep1: added, 12 chunks from 42 cues, skipped 1 unreadable cue at line 7 (0.4 s)`."""
    from graphs.session import skipped_note

    chunks = "chunk" if result.chunks == 1 else "chunks"
    parts = [f"{result.source_id}: {result.status}, {result.chunks} {chunks}"]
    if result.cues is not None:
        parts[0] += f" from {result.cues} cue{'s' if result.cues != 1 else ''}"
    if result.skipped:
        parts.append(skipped_note(result.skipped))
    if result.repeats:
        lines = "line" if result.repeats == 1 else "lines"
        parts.append(f"{result.repeats} repeated caption {lines} dropped")
    return ", ".join(parts) + f" ({result.seconds:.1f} s)"


def cmd_sources(args: argparse.Namespace) -> int:
    from graphs.session import Session

    index = Session(make_settings(args)).index(bundled=False)
    if args.action == "remove":
        if not args.id:
            raise UserError("`debate sources remove` needs the source ID")
        n = index.remove(args.id)
        _out(f"removed {args.id} ({n} chunks)")
        return 0
    rows = index.sources()
    if not rows:
        _out("No sources indexed yet (`debate ingest PATH` or `debate run` adds the show's).")
    for s in rows:
        _out(f"{s.source_id:<32} {s.chunks:>5} chunks  {s.ingested_at}  {s.path}")
    return 0


def cmd_outline(args: argparse.Namespace) -> int:
    from episodes.export import to_html
    from episodes.outline import build_outline, outline_html, outline_markdown
    from graphs.session import Session, write_notes

    settings = make_settings(args)
    with Session(settings) as session:
        if args.merge:
            return _merged_outline(args, session.store)
        if len(args.ids) != 1:
            raise UserError("outline takes one debate id (use --merge to combine several)")
        debate = session.store.load(args.ids[0])
        if args.output is not None and args.output.is_dir():  # say so before any work
            raise UserError(f"{args.output}: cannot write the file (it is a folder)")
        if args.format == "debate-html":
            return _deliver(args.output, to_html(debate))
        outline = build_outline(
            debate,
            wpm=settings.speech_wpm,
            cpm=settings.speech_cpm,
            verdicts=_verdicts(session, debate),
        )
        if not args.no_model and debate.turns:
            with progress_of(f"Outline of {debate.id}") as update:
                update(f"loading the model ({debate.settings.model})")
                writer = _outline_writer(session, debate)
                if writer is not None:
                    update("the model writes the title, logline and working titles")
                    outline = write_notes(outline, debate.topic, writer)
    text = _rendered(args.format, outline, outline_html, outline_markdown)
    status = _deliver(args.output, text)
    for reason in outline.notes_dropped:  # once the outline is out
        _err(f"debate: note: not used from the model: {reason}")
    return status


def _verdicts(session, debate):
    """Verdicts on the debate's turns for its fact-check: None when every panelist turn
    has one saved already, else worked out against the index (the bundled show's
    transcript is indexed on first use)."""
    from graphs.session import judged

    if judged(debate):
        return None
    open_index(session, quiet=True)
    return session.verdicts(debate)


def _rendered(fmt: str, value: Any, html: Any, markdown: Any) -> str:
    if fmt == "json":
        return value.model_dump_json(indent=2) + "\n"
    return html(value) if fmt == "html" else markdown(value)


def _deliver(output: Path | None, text: str) -> int:
    """Write to `output` (atomically) or to standard output."""
    from core.files import atomic_write

    if output:
        atomic_write(output, text)
        _out(f"saved {output}")
    else:
        _out(text, end="")
    return 0


def _outline_writer(session, debate):
    """The model the debate ran with, to write the outline's prose; none if it cannot be had."""
    from core.errors import ModelError

    try:
        return session.saved_model_for(debate)
    except (UserError, ModelError) as exc:
        shown = exc.shown(FLAGS) if isinstance(exc, UserError) else exc
        _err(f"debate: note: no model for the outline's prose ({shown}); assembling it instead")
        return None


def _merged_outline(args: argparse.Namespace, store) -> int:
    from episodes.merge import merge_debates, merged_html, merged_markdown
    from graphs.session import e5_embed

    if args.format == "debate-html":
        raise UserError("--merge writes an outline: use --format md, json or html")
    debates = [store.load(ref) for ref in args.ids]
    merged = merge_debates(debates, e5_embed)
    return _deliver(args.output, _rendered(args.format, merged, merged_html, merged_markdown))


def cmd_eval(args: argparse.Namespace) -> int:
    from episodes.evaluate import evaluate, judge_turns, with_verdicts
    from graphs.session import Session, e5_embed

    if bool(args.judge_base_url) != bool(args.judge_model):
        raise UserError("--judge-base-url and --judge-model go together: give both or neither")
    session = Session(make_settings(args))
    store = session.store
    debate = store.load(args.id)
    judge = None
    if args.judge_base_url:
        try:
            # The run's request timeout and retry budget bound every call to the judge, as
            # they bound a debate's: a judge that stops answering fails the command in
            # (retries + 1) x timeout per turn, not after the SDK's own, longer waits.
            judge = session.judge(args.judge_base_url, args.judge_model)
        except UserError as exc:  # a server setting of the judge's: its own flag
            raise UserError(exc.shown(JUDGE_FLAGS)) from exc
    open_index(session, quiet=args.json)
    attributor = session.attributor()
    with progress_of(f"Evaluating {debate.id}", quiet=args.json) as update:
        update(f"checking each turn against its cited lines ({len(debate.turns)} turns)")
        verdicts = attributor.judge_debate(debate)
        update("measuring grounding, balance, echo and distinctiveness")
        result = evaluate(debate, e5_embed, attributor, verdicts=verdicts)
        if judge is not None:
            update(f"the judge ({args.judge_model}) rates each turn")
            try:
                result.judge = judge_turns(debate, judge, attributor, result.turns)
            except UserError as exc:  # unreachable or timed out mid-way: nothing is saved
                raise UserError(exc.shown(JUDGE_FLAGS)) from exc
    metrics = debate.metrics.model_copy(update={"evaluation": result.model_dump()})
    store.save(with_verdicts(debate, verdicts).model_copy(update={"metrics": metrics}))
    if args.json:
        _out(result.model_dump_json(indent=2))
        return 0
    for line in eval_report(debate, result):
        _out(line)
    return 0


def eval_report(debate, result) -> list[str]:
    """`debate eval` as text: attribution per debate and per turn, then the form figures."""
    judged = [c for c in result.turns if c.judged]
    passed = sum(1 for c in judged if c.attributable)
    inventing = sum(1 for c in judged if c.invented)
    out = [
        f"Evaluation of {debate.id} ({len(debate.turns)} turns)",
        f"  attributable              {result.attributable_share:.2f}  ({passed} of "
        f"{len(judged)} panelist turns argue from their cited lines; score >= "
        f"{result.threshold:.2f})",
        f"  invented names or figures {result.invented_share:.2f}  ({inventing} of "
        f"{len(judged)} panelist turns)",
        "  per turn:",
    ]
    for c in result.turns:
        lines = ", ".join(a.rsplit(":", 1)[-1] for a in c.anchors) or "no lines"
        head = f"    #{c.turn} {c.speaker_id} {c.kind} [{lines}]"
        if c.judged:
            where = f"rank {c.rank}" if c.rank else f"not in the top {result.k}"
            mark = "attributable" if c.attributable else "NOT attributable"
            head += f": {mark} (score {c.score:.2f}, overlap {c.overlap:.2f}, {where})"
        else:
            head += ": host turn, checked for invented items only"
        if c.invented:
            head += " · invented: " + "; ".join(c.invented)
        out.append(head)
    if result.judge is not None:
        j = result.judge
        rated = sum(1 for r in j.ratings if r.rating is not None)
        out.append(
            f"  judge {j.model}: {rated} of {len(j.ratings)} turns rated; supported "
            f"{j.supported_share:.2f}, coherent {j.coherent_share:.2f}, in character "
            f"{j.in_character_share:.2f}; agrees with attribution on {j.agreement:.2f}"
        )
        for r in j.ratings:
            if r.rating is None:
                out.append(f"    #{r.turn}: no usable rating")
            else:
                out.append(
                    f"    #{r.turn}: {r.rating.supported}, "
                    f"{'coherent' if r.rating.coherent else 'incoherent'}, "
                    f"{'in character' if r.rating.in_character else 'out of character'}"
                )
    shares = ", ".join(f"{k} {v:.2f}" for k, v in result.speaker_share.items())
    out += [
        "  form:",
        f"  citation validity         {result.citation_validity:.2f}",
        f"  grounding rate            {result.grounding_rate:.2f}",
        f"  speaker share             {shares}",
        f"  copy_rate / distinct-2    {result.copy_rate:.2f} / {result.distinct_2:.2f}",
        f"  persona distinctiveness   {result.persona_distinctiveness:.2f}",
        f"  agenda coverage           {result.agenda_coverage:.2f}",
        f"  tokens {result.tokens_in} in / {result.tokens_out} out · "
        f"{result.latency_ms / 1000:.1f} s of model time · ${result.cost_usd:.4f}",
    ]
    return out


def cmd_tui(args: argparse.Namespace) -> int:
    from tui.app import main as tui_main

    return tui_main(make_settings(args, note=False))


def cmd_replay(args: argparse.Namespace) -> int:
    from episodes.store import DebateStore, load_debate
    from tui.app import main as tui_main

    settings = make_settings(args, note=False)
    path = Path(args.ref)
    if path.suffix == ".json":
        load_debate(path)  # a bad file is one line here, before the screen opens
    else:
        DebateStore(settings.out_dir).load(args.ref)
    return tui_main(settings, replay=args.ref)


def serve_command(args: argparse.Namespace) -> list[str]:
    """The command line the server starts for each browser: this program's `tui` (`python
    -m cli tui`), with the storage and model options `serve` was given."""
    argv = [sys.executable, "-m", "cli", "tui"]
    for flag, value in (
        ("--data-dir", args.data_dir),
        ("--out", args.out_dir),
        ("--chroma-url", args.chroma_url),
        ("--checkpoint-url", args.checkpoint_url),
        ("--backend", args.backend),
        ("--model", args.model),
        ("--model-path", args.model_path),
        ("--base-url", args.base_url),
    ):
        if value is not None:
            argv += [flag, str(value)]
    return argv


def cmd_serve(args: argparse.Namespace) -> int:
    import ipaddress
    import os
    import shlex

    make_settings(args, note=False)  # bad options fail here, not in every browser tab
    if not 1 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: give a port between 1 and 65535")
    try:
        from textual_serve.server import Server
    except ImportError as exc:
        raise UserError("`debate serve` needs textual-serve (pip install textual-serve)") from exc
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback:
        _err(
            f"debate: note: serving on {args.host}: anyone who can reach it can run, fork "
            "and delete debates here"
        )
    server = Server(
        shlex.join(serve_command(args)),
        host=args.host,
        port=args.port,
        title="Panel debates",
    )
    try:
        server.serve()
    except OSError as exc:  # the port is taken, or the host is not this machine's
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise UserError(
            f"--host {args.host} --port {args.port}: cannot listen there ({why.lower()}); "
            "give another --port"
        ) from exc
    return 0


# -- parser --------------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: what is wrong, and where to read the usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # every character str.splitlines() breaks at, shown escaped: the error is one line
        flat = "".join(
            ch if len(f"{ch}x".splitlines()) == 1 else ch.encode("unicode_escape").decode()
            for ch in message
        )
        sys.stderr.write(f"debate: error: {flat} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, help="Chroma store and checkpoints (default ./.debate)")
    p.add_argument(
        "--out",
        dest="out_dir",
        type=Path,
        help="where debates are saved (default ./debates)",
    )
    p.add_argument("--chroma-url", help="use a Chroma server instead of the local store")
    p.add_argument("--checkpoint-url", help="postgresql:// URL for checkpoints (default SQLite)")


def _show(p: argparse.ArgumentParser, *, seed_help: str) -> None:
    """What a show is about and who is on it: the options `run` and `batch` share."""
    from core.settings import POLICIES

    p.add_argument("--topic", help="what the panel debates (default: the show's question)")
    p.add_argument("--turns", type=int, help="most turns, host's included (default 12)")
    p.add_argument("--lang", choices=["en", "ja"], help="language of the debate (default en)")
    p.add_argument("--policy", choices=POLICIES, help="who speaks next (default round-robin)")
    p.add_argument(
        "--agenda",
        choices=["auto", "model", "standard"],
        help="who writes the segments: the host's model, the standard agenda, or auto "
        "(default: standard on the bundled model, the model otherwise)",
    )
    p.add_argument(
        "--reply-search",
        choices=["auto", "claim", "tail", "question"],
        help="what a reply's passages are searched with: the question and the claim of the "
        "turn it answers (claim), the question and the end of that turn (tail), or the "
        "question alone (default: question on the bundled model, claim otherwise)",
    )
    p.add_argument("--personas", help="comma-separated persona ids (default: all)")
    p.add_argument("--personas-dir", type=Path, help="a folder of persona YAML files")
    p.add_argument("--seed", type=int, help=seed_help)
    p.add_argument("--temperature", type=float, help="default temperature (0.7)")


def _backend(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend", choices=["embedded", "openai"], help="model backend (default embedded)"
    )
    p.add_argument("--model", help="model name for the openai backend")
    p.add_argument("--model-path", type=Path, help="a GGUF file for the embedded backend")
    p.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")


def build_parser() -> argparse.ArgumentParser:

    parser = Parser(
        prog="debate",
        description="Simulated, source-grounded panel debates on the compute-as-currency show.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log fallbacks and retries")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    run = sub.add_parser("run", help="run a new debate and save it")
    _show(run, seed_help="sampling seed (default 0)")
    run.add_argument("--token-budget", type=int, help="stop after this many tokens")
    run.add_argument("--time-budget", dest="time_budget_s", type=float, help="stop after N seconds")
    run.add_argument(
        "--interactive", action="store_true", help="type questions for the panel while it debates"
    )
    _backend(run)
    _common(run)
    run.set_defaults(func=cmd_run, language=None)

    batch = sub.add_parser(
        "batch", help="run many debates at once against OpenAI-compatible servers"
    )
    batch.add_argument("--runs", type=int, default=4, help="how many debates (default 4)")
    batch.add_argument(
        "--concurrency", type=int, default=4, help="most debates at once (default 4)"
    )
    _show(batch, seed_help="seed of the first run; run i uses seed+i")
    batch.add_argument("--model", help="model name on the servers")
    batch.add_argument(
        "--base-url",
        dest="base_urls",
        action="append",
        metavar="URL",
        help="an OpenAI-compatible server; repeat to spread the debates over several",
    )
    _common(batch)
    batch.set_defaults(func=cmd_batch, language=None)

    resume = sub.add_parser("resume", help="continue a stopped or killed debate")
    resume.add_argument("id", help="debate id (or a unique prefix)")
    _backend(resume)
    _common(resume)
    resume.set_defaults(func=cmd_resume)

    fork = sub.add_parser("fork", help="continue a debate after turn N as a new branch")
    fork.add_argument("id", help="debate id (or a unique prefix)")
    fork.add_argument(
        "--at-turn",
        type=int,
        required=True,
        metavar="N",
        help="fork after turn N, numbered from 1 as replay and exports number turns "
        "(the branch keeps turns 1-N)",
    )
    fork.add_argument("--steer", help="a question the host puts to the panel at the fork")
    fork.add_argument(
        "--turns",
        dest="fork_turns",
        type=int,
        help="most turns the branch adds after the fork, its closing included "
        "(default: the parent's turn limit stands)",
    )
    _backend(fork)
    _common(fork)
    fork.set_defaults(func=cmd_fork)

    lst = sub.add_parser("list", help="saved debates with their branches")
    lst.add_argument("--json", action="store_true", help="print JSON")
    _common(lst)
    lst.set_defaults(func=cmd_list)

    topics = sub.add_parser(
        "topics", help="claims of the show no saved debate has made yet (next-episode seeds)"
    )
    topics.add_argument("--limit", type=int, default=10, help="how many (default 10)")
    topics.add_argument("--source", action="append", help="only this source id (repeatable)")
    topics.add_argument("--lang", choices=["en", "ja"], help="the claims' language (default en)")
    topics.add_argument("--personas-dir", type=Path, help="a folder of persona YAML files")
    topics.add_argument("--json", action="store_true", help="print a JSON array")
    _common(topics)
    topics.set_defaults(func=cmd_topics)

    search = sub.add_parser("search", help="search the indexed transcripts")
    search.add_argument("query", help="a question or keywords, Japanese or English")
    search.add_argument("--k", type=int, default=5, help="how many passages (default 5)")
    search.add_argument("--source", action="append", help="only this source id (repeatable)")
    search.add_argument("--json", action="store_true", help="print a JSON array")
    _common(search)
    search.set_defaults(func=cmd_search)

    personas = sub.add_parser("personas", help="list the personas")
    personas.add_argument("--personas-dir", type=Path, help="a folder of persona YAML files")
    personas.set_defaults(func=cmd_personas)

    ingest = sub.add_parser("ingest", help="index transcripts (.txt .md .srt .vtt)")
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument("--source-id", help="id for the source (default: the file name)")
    _common(ingest)
    ingest.set_defaults(func=cmd_ingest)

    sources = sub.add_parser("sources", help="list indexed sources, or `sources remove ID`")
    sources.add_argument("action", nargs="?", choices=["list", "remove"], default="list")
    sources.add_argument("id", nargs="?", help="source id to remove")
    _common(sources)
    sources.set_defaults(func=cmd_sources)

    outline = sub.add_parser("outline", help="the episode outline of a debate (or several)")
    outline.add_argument(
        "ids", nargs="+", metavar="ID", help="debate id (or a unique prefix); several with --merge"
    )
    outline.add_argument(
        "--merge",
        action="store_true",
        help="merge several debates on one topic: agreed and contested points",
    )
    outline.add_argument(
        "--no-model",
        action="store_true",
        help="assemble every part; no model writes the title, logline or working titles",
    )
    outline.add_argument("-o", "--output", type=Path, help="write to this file")
    outline.add_argument(
        "--format",
        choices=["md", "json", "html", "debate-html"],
        default="md",
        help="md (default), json, html, or the whole debate as html",
    )
    _backend(outline)
    _common(outline)
    outline.set_defaults(func=cmd_outline)

    evaluate = sub.add_parser("eval", help="quality figures of a debate (stored in it)")
    evaluate.add_argument("id", help="debate id (or a unique prefix)")
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    evaluate.add_argument(
        "--judge-base-url",
        metavar="URL",
        help="also have a model on this OpenAI-compatible server rate each turn (each call "
        "waits at most DEBATE_REQUEST_TIMEOUT_S, retried DEBATE_MAX_RETRIES times)",
    )
    evaluate.add_argument("--judge-model", metavar="M", help="the judge model's name")
    _common(evaluate)
    evaluate.set_defaults(func=cmd_eval)

    tui = sub.add_parser("tui", help="open the terminal UI")
    _backend(tui)
    _common(tui)
    tui.set_defaults(func=cmd_tui)

    serve = sub.add_parser("serve", help="serve the terminal UI to a web browser")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    _backend(serve)
    _common(serve)
    serve.set_defaults(func=cmd_serve)

    replay = sub.add_parser("replay", help="replay a saved debate in the terminal UI")
    replay.add_argument("ref", metavar="FILE_OR_ID", help="a debate JSON file or a debate id")
    _common(replay)
    replay.set_defaults(func=cmd_replay)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR,
        format="debate: %(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        args = parser.parse_args(["run", *(argv or [])])
    try:
        return args.func(args)
    except UserError as exc:
        _err(f"debate: error: {exc.shown(FLAGS)}")
        return 2
    except BrokenPipeError:
        return 0
