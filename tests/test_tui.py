"""The TUI driven with Pilot: every binding, markup safety, and screen snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, SelectionList

from agents.llm.scripted import ScriptedModel
from core.models import grounding
from core.settings import Settings
from episodes.store import DebateStore
from graphs import events as ev
from tests.conftest import StubSearch, varied
from tests.tui_fixtures import sample_debate
from tui.app import make_app
from tui.messages import ShowEvent
from tui.screens.library import LibraryScreen, library_rows
from tui.screens.live import LiveScreen
from tui.screens.new_debate import NewDebateScreen, parse_form
from tui.screens.outline import OutlineScreen
from tui.screens.replay import SPEEDS, ReplayScreen
from tui.widgets.dialogs import ConfirmDialog, ForkDialog
from tui.widgets.timeline import timeline_text

SIZE = (110, 34)


@pytest.fixture
def tui_settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", out_dir=tmp_path / "debates", turns=6)


@pytest.fixture
def library(tui_settings: Settings) -> DebateStore:
    store = DebateStore(tui_settings.out_dir)
    store.save(sample_debate())
    store.save(
        sample_debate("20261128-130000-beef", turns=4, topic="Basic income in compute").model_copy(
            update={"parent_id": "20261128-120000-abcd", "forked_at": 2}
        )
    )
    return store


def app_for(settings: Settings, saver=None, model=None, **kw):
    return make_app(settings, model or varied(), search=StubSearch(), checkpointer=saver, **kw)


def start_show(app, turns: int) -> None:
    """Start a live show from the form's values, as the new-debate screen would."""
    app.start_live(
        parse_form(
            "Who owns compute?",
            ["altman", "economist", "futurist"],
            str(turns),
            "round-robin",
            "en",
            "embedded",
            "",
        )
    )


def screen_text(app) -> str:
    """What the terminal shows, as plain text, one line per terminal row."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


async def wait_for(pilot, condition, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


# -- helpers without the UI ------------------------------------------------------------------
def test_library_rows_filter_and_branches():
    parent = sample_debate()
    child = sample_debate("x2", turns=3).model_copy(update={"parent_id": parent.id})
    import json

    from episodes.store import DebateSummary

    summaries = [DebateSummary.of(json.loads(d.model_dump_json())) for d in (parent, child)]
    rows = dict(library_rows(summaries))
    assert rows[parent.id][6] == 1 and rows["x2"][0].startswith("↳ ")
    assert rows[parent.id][5] == "100%" and summaries[0].grounding == grounding(parent.turns)
    assert [r[0] for r in library_rows(summaries, "x2")] == ["x2"]


def test_form_validation():
    with pytest.raises(ValueError, match="topic"):
        parse_form(" ", ["altman"], "6", "round-robin", "en", "embedded", "")
    with pytest.raises(ValueError, match="between 3 and 500"):
        parse_form("x", ["altman"], "2", "round-robin", "en", "embedded", "")
    with pytest.raises(ValueError, match="model name"):
        parse_form("x", ["altman"], "6", "round-robin", "en", "openai", "")
    form = parse_form(" a  topic ", ["altman"], "6", "bidding", "ja", "openai", "m")
    assert form.topic == "a topic" and form.turns == 6 and form.language == "ja"


def test_timeline_marks_segments_and_position():
    line = timeline_text(20, 10, 4, [0, 5]).plain
    assert line[10] == "┃" and line[:10] == "█" * 10 and line.endswith("░" * 9)


# -- library ----------------------------------------------------------------------------------
async def test_library_lists_sorts_filters_and_deletes(tui_settings, library):
    app = app_for(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        await pilot.press("s")
        assert app.screen.sort_column == 2
        await pilot.press("slash")
        await pilot.press(*"basic")
        await pilot.pause()
        assert table.row_count == 1
        await pilot.press("escape")
        await pilot.pause()
        assert table.row_count == 2
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("n")  # "no" in the confirm dialog
        await pilot.pause()
        assert table.row_count == 2
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("enter")  # the safe button has the focus: nothing is deleted
        await pilot.pause()
        assert table.row_count == 2 and len(library.list()) == 2
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert table.row_count == 1
        assert len(library.list()) == 1


async def test_library_keys_open_screens(tui_settings, library):
    app = app_for(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReplayScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LibraryScreen)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, OutlineScreen)
        await pilot.press("e")
        await pilot.pause()
        assert (tui_settings.out_dir / f"{app.screen.debate.id}.outline.md").exists()
        await pilot.press("escape")
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NewDebateScreen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


def summaries_of(*debates):
    import json

    from episodes.store import DebateSummary

    return [DebateSummary.of(json.loads(d.model_dump_json())) for d in debates]


def tree_fixture():
    from datetime import UTC, datetime

    def at(d, day, **kw):
        return d.model_copy(update={"created_at": datetime(2026, 11, day, 12, tzinfo=UTC), **kw})

    older = at(sample_debate("a-old", topic="Older root"), 1, status="stopped")
    newer = at(sample_debate("b-new", topic="Newer root"), 5)
    fork = at(sample_debate("c-fork", turns=3, topic="Fork of older"), 9, parent_id="a-old")
    return older, newer, fork


@pytest.mark.parametrize("column", ["date", "status", "model", "branches", "topic", "turns"])
@pytest.mark.parametrize("reverse", [True, False])
def test_a_fork_stays_under_its_parent_in_every_sort_order(column, reverse):
    from tui.screens.library import library_tree

    rows = library_tree(summaries_of(*tree_fixture()), sort=column, reverse=reverse)
    ids = [r.summary.id for r in rows]
    assert ids.index("c-fork") == ids.index("a-old") + 1
    assert [r.depth for r in rows if r.summary.id == "c-fork"] == [1]


def test_a_fork_whose_parent_is_gone_is_a_root():
    from tui.screens.library import library_tree

    _older, newer, fork = tree_fixture()
    rows = library_tree(summaries_of(newer, fork))
    assert [(r.summary.id, r.depth) for r in rows] == [("c-fork", 0), ("b-new", 0)]
    assert not rows[0].cells()["topic"].startswith("↳")


def test_library_columns_fit_the_width():
    from tui.screens.library import CELL_PADDING, fit_columns

    for width in (60, 80, 120, 200):
        columns = dict(fit_columns(width))
        assert {"topic", "grounding", "status"} <= set(columns)
        used = sum(w + CELL_PADDING for w in columns.values())
        assert used <= width - 2 or width < 70
    assert set(dict(fit_columns(200))) == {
        "topic",
        "date",
        "lang",
        "turns",
        "model",
        "grounding",
        "branches",
        "status",
    }


async def test_delete_names_the_topic_and_its_branches_and_orphans_become_roots(
    tui_settings, library
):
    app = app_for(tui_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=0)  # the parent (newest root first, its fork under it)
        await pilot.press("d")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert dialog.focused is not None and dialog.focused.id == "no"
        text = screen_text(app)
        assert "Compute as the new currency" in text and "Basic income in compute" in text
        await pilot.press("y")
        await pilot.pause()
        text = screen_text(app)
        assert "Basic income in" in text and "↳" not in text
        assert "1 debate ·" in app.screen.sub_title


async def test_library_says_when_no_debate_matches(tui_settings, library):
    app = app_for(tui_settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *"zzz")
        await pilot.pause()
        assert "No debates match “zzz”" in screen_text(app)
        assert app.screen.sub_title.startswith("0 of 2 debates")
        await pilot.press("escape")
        await pilot.pause()
        assert "No debates match" not in screen_text(app)


@pytest.mark.parametrize("size", [(80, 24), (120, 32), (200, 50)])
async def test_library_keeps_status_and_grounding_visible(tui_settings, library, size):
    app = app_for(tui_settings)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        header = screen_text(app).splitlines()[1]
        assert "grounding" in header and "status" in header and "topic" in header


# -- replay -----------------------------------------------------------------------------------
async def test_replay_bindings(tui_settings, library):
    app = app_for(tui_settings, replay="20261128-120000-abcd")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplayScreen) and screen.playing
        await pilot.press("space")
        assert not screen.playing
        for _ in range(3):
            await pilot.press("plus")
        assert screen.speed == 8.0
        for _ in range(10):
            await pilot.press("plus")
        assert screen.speed == SPEEDS[-1] == 16.0
        for _ in range(12):
            await pilot.press("minus")
        assert screen.speed == SPEEDS[0] == 0.25
        await pilot.press("right", "right")
        assert screen.position == 2
        await pilot.press("left")
        assert screen.position == 1
        await pilot.press("right_square_bracket")
        assert screen.position == 4  # first turn of segment 2
        await pilot.press("left_square_bracket")
        assert screen.position == 0
        await pilot.press("G")
        assert screen.position == 7
        await pilot.press("g")
        assert screen.position == 0
        await pilot.press("slash")
        await pilot.press(*"compute")
        await pilot.press("enter")
        await pilot.pause()
        assert screen.matches == [0, 1, 2, 5, 7]
        assert screen.position == 0
        await pilot.press("n", "n")
        assert screen.position == 2
        await pilot.press("N")
        assert screen.position == 1
        sources = screen.query_one("#sources").text.plain
        assert "✓ cited" in sources and "panel:10-11" in sources
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, OutlineScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LibraryScreen)


async def test_replay_marks_a_turn_that_fails_its_check_with_the_reason(tui_settings):
    from core.models import Verdict

    debate = sample_debate("20261128-140000-f00d")
    reason = "does not argue from its lines (score 0.05 < 0.30: overlap 0.05, rank 7)"
    debate.turns[1].attribution = Verdict(True, 0.6, 1, (), "")
    debate.turns[5].attribution = Verdict(False, 0.05, 7, ("Elon Musk",), reason)
    DebateStore(tui_settings.out_dir).save(debate)
    app = app_for(tui_settings, replay=debate.id)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("space", "right")
        await pilot.pause()
        screen = app.screen
        table = screen.query_one("#turns", DataTable)
        assert "⚠" not in str(table.get_row_at(1)[0]) and "⚠" in str(table.get_row_at(5)[0])
        assert "✓ cited" in screen.query_one("#sources").text.plain
        assert "not supported" not in str(screen.query_one("#stage").render())
        await pilot.press("right", "right", "right", "right")
        await pilot.pause()
        assert screen.position == 5
        stage = str(screen.query_one("#stage").render())
        assert f"⚠ not supported: {reason}" in stage
        sources = screen.query_one("#sources").text.plain
        assert "⚠ cited" in sources and "✓ cited" not in sources


async def test_replay_plays_at_the_chosen_speed(tui_settings, library):
    app = app_for(tui_settings, replay="20261128-120000-abcd")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("plus", "plus", "plus", "plus")  # 16x
        await wait_for(pilot, lambda: screen.position >= 2, timeout=15)


async def test_transcript_text_is_never_markup(tui_settings, library):
    app = app_for(tui_settings, replay="20261128-120000-abcd")
    async with app.run_test(size=(240, 40)) as pilot:
        await pilot.press("space", "right")
        await pilot.pause()
        assert "[bold red]not markup[/]" in screen_text(app)
        await pilot.press("right")
        await pilot.pause()
        assert "[@click=app.quit]x[/]" in screen_text(app)
        await pilot.click("#stage")
        await pilot.pause()
        assert app.return_code is None and app.is_running  # no click action ran


@pytest.mark.parametrize("size", [(80, 24), (120, 32), (200, 50)])
async def test_replay_end_and_home_keep_the_names_and_count_from_one(tui_settings, library, size):
    app = app_for(tui_settings, replay="20261128-120000-abcd")
    async with app.run_test(size=size) as pilot:
        await pilot.press("space", "end")
        await pilot.pause()
        screen = app.screen
        assert screen.position == 7
        text = screen_text(app)
        assert "Mika Aoyama" in text and "turn 8/8" in text and "#8" in text
        assert "Sam Altman (simulated)" in text  # the mark, whole, at every width
        turns = screen.query_one("#turns", DataTable)
        assert turns.scroll_x == 0
        assert [str(turns.get_row_at(i)[0]) for i in (0, 7)] == ["1", "8"]
        await pilot.press("home")
        await pilot.pause()
        assert screen.position == 0 and "turn 1/8" in screen_text(app)


async def test_replay_footer_keeps_the_main_keys_at_120_columns(tui_settings, library):
    app = app_for(tui_settings, replay="20261128-120000-abcd")
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        for word in ("End", "Search", "Outline", "Back", "Help"):
            assert word in footer, (word, footer)


async def test_search_highlights_and_counts_matches(tui_settings, library):
    app = app_for(tui_settings, replay="20261128-120000-abcd")
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.press("space", "slash", *"compute", "enter")
        await pilot.pause()
        screen = app.screen
        assert "match 1 of 5" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert "match 2 of 5" in screen_text(app)
        stage = screen.stage_body()
        lit = [stage.plain[s.start : s.end] for s in stage.spans if s.style == "black on yellow"]
        assert lit and all(w.lower() == "compute" for w in lit)


async def test_sources_panel_cited_first_numbered_and_scrolls(tui_settings, tmp_path):
    from core.models import Passage

    debate = sample_debate()
    extra = [
        Passage(
            source_id="panel",
            chunk_id=f"panel:{n}",
            line_start=n,
            line_end=n + 1,
            text=f"line {n}\nline {n + 1}",
            score=0.5,
        )
        for n in range(40, 80, 2)
    ]
    turn = debate.turns[1]
    turn.passages = extra + turn.passages  # the cited passage comes last in search order
    DebateStore(tui_settings.out_dir).save(debate)
    app = app_for(tui_settings, replay=debate.id)
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.press("space", "right")
        await pilot.pause()
        panel = app.screen.query_one("#sources").text.plain
        cited = turn.citations[0]
        assert panel.index("✓ cited") < panel.index("line 40")
        assert f"panel:{cited.line_start}-{cited.line_end}" in panel.splitlines()[0]
        assert "   41 line 41" in panel
        scroller = app.screen.query_one("#sources-scroll")
        await pilot.press("j")
        await pilot.pause()
        assert scroller.scroll_y > 0
        await pilot.press("k")
        await pilot.pause()
        assert scroller.scroll_y == 0


async def test_help_lists_the_keys_of_each_screen(tui_settings, library, saver):
    app = app_for(tui_settings, saver)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "Keys · Library" in text and "Delete (asks first)" in text
        await pilot.press("escape", "enter")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "Keys · Replay" in text and "Go to the last turn" in text
        assert "Scroll the sources panel down" in text
        await pilot.press("escape", "o")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert "Keys · Outline" in screen_text(app)


async def test_palette_holds_the_apps_commands(tui_settings, library):
    from textual.command import CommandPalette

    app = app_for(tui_settings)
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"delete the")
        await pilot.pause(0.5)
        assert "Delete the selected debate" in screen_text(app)
        for _ in range(10):
            await pilot.press("backspace")
        await pilot.press(*"new debate")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, NewDebateScreen)


# -- new debate and live ------------------------------------------------------------------------
async def test_new_debate_runs_live_with_scripted_model(tui_settings, saver):
    app = app_for(tui_settings, saver)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        form.query_one("#topic", Input).value = "Who owns compute?"
        form.query_one("#personas", SelectionList).deselect("futurist")
        form.query_one("#turns", Input).value = "5"
        await pilot.press("ctrl+s")
        await pilot.pause()
        live = app.screen
        assert isinstance(live, LiveScreen)
        await wait_for(pilot, lambda: live.finished)
        speakers = [b.speaker_id for b in live.blocks.values()]
        assert speakers[0] == "host" and speakers[-1] == "host"
        assert "futurist" not in speakers
        assert live.status.state == "finished · turn limit reached"
        assert len(DebateStore(tui_settings.out_dir).list()) == 1


def slow_model(delay: float = 0.05, model=None):
    model = model or varied()
    original = model.stream

    def stream(messages, sampling, *, slot=None):
        import time

        for piece in original(messages, sampling, slot=slot):
            time.sleep(delay)
            yield piece

    model.stream = stream  # type: ignore[method-assign]
    return model


async def test_live_interject_pause_stop(tui_settings, saver):
    settings = tui_settings.model_copy(update={"turns": 60})
    app = app_for(settings, saver, model=slow_model())
    async with app.run_test(size=SIZE) as pilot:
        start_show(app, 60)
        await pilot.pause()
        live = app.screen
        await wait_for(pilot, lambda: live.runner is not None and len(live.turns) >= 1)
        await pilot.press("i")
        await pilot.pause()
        await pilot.press(*"Who pays?")
        await pilot.press("enter")
        await pilot.pause()
        await wait_for(pilot, lambda: any(t.kind == "interjection" for t in live.turns.values()))
        asked = next(t for t in live.turns.values() if t.kind == "interjection")
        await wait_for(pilot, lambda: asked.index + 1 in live.turns)
        assert live.turns[asked.index + 1].speaker_id != "host"
        await pilot.press("p")
        assert live.runner.paused
        await wait_for(pilot, lambda: live.status.state.startswith("paused"))
        count = len(live.turns)
        await pilot.pause(0.5)
        assert len(live.turns) == count
        await pilot.press("p")
        assert not live.runner.paused
        await pilot.press("s")
        await wait_for(pilot, lambda: live.finished)
        saved = DebateStore(settings.out_dir).list()
        assert saved[0].status == "stopped" and len(saved[0].turns) < 60
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LibraryScreen)


async def test_live_fork_asks_first_then_shows_the_fork(tui_settings, saver):
    app = app_for(tui_settings, saver)
    async with app.run_test(size=SIZE) as pilot:
        start_show(app, 6)
        await pilot.pause()
        live = app.screen
        await wait_for(pilot, lambda: live.finished)
        parent = live.runner.debate.id
        await pilot.press("up", "up", "up")
        assert live.selected == 2
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, ForkDialog)  # nothing forked yet
        assert "after turn 3" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is live and len(DebateStore(tui_settings.out_dir).list()) == 1
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"What about energy?")
        app.screen.query_one("#fork-turns", Input).value = "3"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not live and app.screen.finished)
        fork = app.screen
        child = fork.runner.debate
        assert child.parent_id == parent and child.forked_at == 2
        asked = [t for t in child.turns if t.kind == "interjection"]
        assert asked and "What about energy?" in asked[0].text
        assert len([t for t in child.turns[3:] if t.kind != "interjection"]) <= 3
        assert child.id in fork.sub_title and parent in fork.sub_title
        status = fork.status
        assert status.turn <= status.total and "max_turns" not in status.render().plain
        assert status.state.startswith("finished")


async def test_live_pause_and_stop_act_within_a_second(tui_settings, saver):
    import time

    long_turns = ScriptedModel(responder=lambda m: " ".join(["compute"] * 60) + ".")
    model = slow_model(0.05, long_turns)
    app = app_for(tui_settings.model_copy(update={"turns": 20}), saver, model=model)
    async with app.run_test(size=SIZE) as pilot:
        start_show(app, 20)
        await pilot.pause()
        live = app.screen
        await wait_for(pilot, lambda: 2 in live.blocks)
        await pilot.pause(0.5)  # the model is part way through turn 2 (3 s a draft)
        assert 2 not in live.turns
        began = time.monotonic()
        await pilot.press("p")
        await wait_for(pilot, lambda: "cut" in live.blocks[2].text, timeout=1.0)
        assert time.monotonic() - began < 1.0
        assert live.status.state.startswith("paused")
        assert 2 not in live.turns  # the turn was cut, not finished
        await pilot.press("p")
        await wait_for(
            pilot, lambda: len(live.blocks[2].text) > 20 and "cut" not in live.blocks[2].text
        )
        began = time.monotonic()
        await pilot.press("s")
        await wait_for(pilot, lambda: live.finished, timeout=1.0)
        assert time.monotonic() - began < 1.0
        saved = DebateStore(tui_settings.out_dir).list()[0]
        assert saved.status == "stopped"
        assert [t.index for t in saved.turns] == sorted(live.turns)  # no half turn was saved


async def test_starting_a_debate_names_each_stage(tui_settings, saver):
    import threading

    gate = threading.Event()
    app = app_for(tui_settings, saver)
    original = app.session.model_for

    def slow_model_for(settings):
        gate.wait(5)
        return original(settings)

    app.session.model_for = slow_model_for
    async with app.run_test(size=SIZE) as pilot:
        start_show(app, 4)
        live = app.screen
        await wait_for(pilot, lambda: "loading the model" in screen_text(app))
        gate.set()
        await wait_for(pilot, lambda: live.finished)
        assert "loading the model" not in screen_text(app)  # the stage line is gone


# -- snapshots ----------------------------------------------------------------------------------
def test_snapshot_library(snap_compare, tui_settings, library):
    assert snap_compare(app_for(tui_settings), terminal_size=SIZE)


def test_snapshot_replay(snap_compare, tui_settings, library):
    async def end(pilot):
        await pilot.press("space", "G")
        await pilot.pause()

    assert snap_compare(
        app_for(tui_settings, replay="20261128-120000-abcd"), terminal_size=SIZE, run_before=end
    )


def test_snapshot_outline(snap_compare, tui_settings, library):
    async def outline(pilot):
        await pilot.press("o")
        await pilot.pause()

    assert snap_compare(app_for(tui_settings), terminal_size=SIZE, run_before=outline)


def test_snapshot_live(snap_compare, tui_settings, saver, monkeypatch):
    from tests.conftest import ScriptedModel

    monkeypatch.setattr("graphs.runner.new_debate_id", lambda: "20261128-140000-live")
    replies = iter(["no agenda"] + [f"Scripted turn {i} on chips and power." for i in range(20)])
    model = ScriptedModel(responder=lambda m: next(replies))

    async def run(pilot):
        app = pilot.app
        start_show(app, 5)
        await pilot.pause()
        live = app.screen
        await wait_for(pilot, lambda: live.finished)
        live.status.elapsed_s = 0
        live.status.tokens_per_s = 0
        live.tick()
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(
        app_for(tui_settings, saver, model=model), terminal_size=SIZE, run_before=run
    )


def test_events_are_the_only_interface():
    # the live screen handles every event kind the graph can emit
    import inspect

    source = inspect.getsource(LiveScreen.on_show_event)
    for name in (
        "DebateStarted",
        "AgendaPlanned",
        "SegmentStarted",
        "TurnStarted",
        "PassagesRetrieved",
        "Token",
        "TurnDiscarded",
        "TurnFinished",
        "Interrupted",
        "Resumed",
        "DebateFinished",
        "Error",
    ):
        assert f"ev.{name}" in source
    assert hasattr(ev, "Event")


def test_snapshot_delete_dialog(snap_compare, tui_settings, library):
    async def ask(pilot):
        await pilot.press("d")
        await pilot.pause()

    assert snap_compare(app_for(tui_settings), terminal_size=(80, 24), run_before=ask)


def test_snapshot_replay_narrow(snap_compare, tui_settings, library):
    async def end(pilot):
        await pilot.press("space", "end")
        await pilot.pause()

    assert snap_compare(
        app_for(tui_settings, replay="20261128-120000-abcd"),
        terminal_size=(80, 24),
        run_before=end,
    )


def test_snapshot_help(snap_compare, tui_settings, library):
    async def help_on_replay(pilot):
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("space", "question_mark")
        await pilot.pause()

    assert snap_compare(app_for(tui_settings), terminal_size=(120, 32), run_before=help_on_replay)


def test_snapshot_fork_dialog(snap_compare, tui_settings, library):
    async def fork(pilot):
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("space", "right", "right", "f")
        await pilot.pause()

    assert snap_compare(app_for(tui_settings), terminal_size=(120, 32), run_before=fork)


# -- text from users, models and files is never markup ----------------------------------------
BRACKETED = "[draft] Compute as currency [part 2/3] and [/]"


def bracketed_debate():
    debate = sample_debate("20261130-162248-bracket", topic=BRACKETED)
    debate.turns[3].text = "Let me sum up [laughs]: scarcity agreed, money disputed."
    debate.turns[5].text = "Whoever holds *51%* of [all compute](http://x) rules <b>all</b>."
    return debate


async def test_replay_search_for_brackets_finds_text_and_says_so_as_text(tui_settings):
    DebateStore(tui_settings.out_dir).save(bracketed_debate())
    app = app_for(tui_settings, replay="20261130-162248-bracket")
    async with app.run_test(size=(140, 34), notifications=True) as pilot:
        screen = app.screen
        await pilot.press("space", "slash", *"[/]", "enter")
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert screen.matches == [1, 2]  # the two turns with "[/]" in them
        await pilot.press("slash", "ctrl+u", *"[laughs]", "enter")
        await pilot.pause()
        assert screen.matches == [3] and screen.position == 3
        await pilot.press("slash", "ctrl+u", *"[sighs] [b]x[/b]", "enter")
        await pilot.pause()
        assert screen.matches == []
        assert "No turn mentions “[sighs] [b]x[/b]”." in screen_text(app)
        assert f"Replay · {BRACKETED}" in screen_text(app)


async def test_library_shows_bracketed_topics_and_models_as_written(tui_settings, library):
    store = DebateStore(tui_settings.out_dir)
    debate = bracketed_debate()
    debate.settings = debate.settings.model_copy(update={"model": "[red]m[/red]"})
    store.save(debate)
    app = app_for(tui_settings)
    async with app.run_test(size=(200, 34), notifications=True) as pilot:
        await pilot.pause()
        shown = screen_text(app)
        assert BRACKETED in shown and "[red]m[/red]" in shown
        for _ in range(len("topic date lang turns model grounding branches status".split())):
            await pilot.press("s")  # every column sorts, Text cells and numbers alike
        assert app.is_running and app.screen.query_one(DataTable).row_count == 3
        await pilot.press("slash", *"[part")
        await pilot.pause()
        assert app.screen.query_one(DataTable).row_count == 1


async def test_outline_screen_shows_text_as_written(tui_settings):
    DebateStore(tui_settings.out_dir).save(bracketed_debate())
    app = app_for(tui_settings, replay="20261130-162248-bracket")
    async with app.run_test(size=(200, 80), notifications=True) as pilot:
        await pilot.press("space", "o")
        await pilot.pause()
        assert isinstance(app.screen, OutlineScreen)
        shown = screen_text(app)
        assert "[bold red]not markup[/]" in shown
        assert "Whoever holds *51%* of [all compute](http://x) rules <b>all</b>." in shown


async def test_notifications_are_text(tui_settings, library):
    app = app_for(tui_settings)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.screen.notify("Saved [/] and [b]bold[/b] [@click=app.quit]x[/]")
        app.notify("[laughs]", severity="error")
        await pilot.pause()
        shown = screen_text(app)
        assert "Saved [/] and [b]bold[/b] [@click=app.quit]x[/]" in shown and "[laughs]" in shown


async def test_persona_names_in_the_form_are_text(tui_settings, monkeypatch):
    from agents.personas import load_personas

    real = load_personas()
    odd = real["futurist"].model_copy(update={"name": "Ren [part 2/3] Kurosawa [/]"})
    monkeypatch.setattr("tui.screens.new_debate.load_personas", lambda: {**real, "futurist": odd})
    app = app_for(tui_settings)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("n")
        await pilot.pause()
        assert "Ren [part 2/3] Kurosawa [/]" in screen_text(app)


async def test_live_topic_turns_and_errors_with_brackets(tui_settings, saver):
    replies = iter(["no agenda"] + [f"[laughs] Turn {i} on chips [/] and power." for i in range(9)])
    from tests.conftest import ScriptedModel

    model = ScriptedModel(responder=lambda m: next(replies))
    app = app_for(tui_settings, saver, model=model)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        app.start_live(parse_form(BRACKETED, ["altman"], "4", "round-robin", "en", "embedded", ""))
        await pilot.pause()
        live = app.screen
        await wait_for(pilot, lambda: live.finished)
        shown = screen_text(app)
        # The host's turns quote the topic, brackets and all (claim-first panelist turns
        # say their claims, not the scripted replies).
        assert "Tonight we ask: What would “[draft] Compute as currency [part 2/3] and" in shown
        assert "[/]” mean for ordinary people?" in shown
        assert "Live · " in shown and f"· {BRACKETED}" in shown
        live.post_message(ShowEvent(ev.Error("server said [/] and [b]no[/b]")))
        await pilot.pause()
        assert "server said [/] and [b]no[/b]" in screen_text(app)


async def test_a_saved_persona_colour_rich_cannot_read_is_not_a_crash(tui_settings):
    debate = sample_debate("20261130-170000-color")
    debate.personas = [p.model_copy(update={"color": "[red]"}) for p in debate.personas]
    DebateStore(tui_settings.out_dir).save(debate)
    app = app_for(tui_settings, replay=debate.id)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("space", "right")
        await pilot.pause()
        assert app.is_running and "Sam Altman" in screen_text(app)


def test_a_crash_exits_non_zero(tui_settings, library, monkeypatch):
    """An error the app does not handle ends it with status 1 (it was 0), through the same
    `main` that `debate tui` and `debate replay` return from; a clean quit is 0."""
    import tui.app
    from tui.app import DebateApp

    class Headless(DebateApp):
        CSS_PATH = str(Path(tui.app.__file__).with_name("app.tcss"))
        crash = False

        def on_mount(self) -> None:
            super().on_mount()
            self.set_timer(0.3, self.boom if self.crash else self.exit)

        def boom(self) -> None:
            raise RuntimeError("an error nobody handled")

        def run(self, **kw):  # type: ignore[override]
            return super().run(headless=True, size=SIZE)

    for crash, status in ((True, 1), (False, 0)):
        monkeypatch.setattr(Headless, "crash", crash)
        monkeypatch.setattr(tui.app, "make_app", lambda settings, replay=None: Headless(settings))
        assert tui.app.main(tui_settings) == status


async def test_library_reports_a_debate_file_broken_since_it_was_listed(tui_settings, library):
    app = app_for(tui_settings)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        for path in tui_settings.out_dir.glob("*.json"):
            path.write_text("{", encoding="utf-8")
        await pilot.press("enter")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, LibraryScreen)
        await pilot.press("o")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, LibraryScreen)
        assert "not" in screen_text(app).lower()


async def test_keys_typed_fast_after_slash_are_the_search_not_commands(tui_settings, library):
    from textual import events

    def burst(app, text):
        for ch in text:
            app.post_message(events.Key("slash" if ch == "/" else ch, ch))

    app = app_for(tui_settings)
    async with app.run_test(size=SIZE) as pilot:
        burst(app, "/qdons")  # q quits, d deletes, n opens the form: none of them may run
        await pilot.pause(0.5)
        assert app.is_running and isinstance(app.screen, LibraryScreen)
        assert app.screen.query_one("#filter", Input).value == "qdons"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        replay = app.screen
        await pilot.press("space")
        burst(app, "/compute")
        await pilot.pause(0.5)
        assert app.screen is replay and replay.query_one("#search", Input).value == "compute"


@pytest.mark.parametrize("size", [(80, 24), (120, 32), (200, 50)])
async def test_live_marks_the_simulated_persona_at_every_width(tui_settings, saver, size):
    app = app_for(tui_settings, saver)
    async with app.run_test(size=size) as pilot:
        start_show(app, 4)
        await pilot.pause()
        live = app.screen
        await wait_for(pilot, lambda: live.finished)
        await wait_for(pilot, lambda: 1 in live.blocks)
        live.follow = False
        live.blocks[1].scroll_visible(animate=False, top=True)
        await pilot.pause(0.2)
        text = screen_text(app)
        line = next(ln for ln in text.splitlines() if "Sam Altman ·" in ln)  # the speaker line
        assert "simulated" in line


async def test_going_back_while_a_debate_starts_is_not_a_crash(tui_settings, saver):
    import threading

    gate = threading.Event()
    app = app_for(tui_settings, saver)
    original = app.session.model_for

    def slow_model_for(settings):
        gate.wait(5)
        return original(settings)

    app.session.model_for = slow_model_for
    async with app.run_test(size=SIZE) as pilot:
        start_show(app, 4)
        await wait_for(pilot, lambda: "loading the model" in screen_text(app))
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LibraryScreen)
        gate.set()
        await pilot.pause(1.0)
        assert app.is_running and app.return_code is None
        assert DebateStore(tui_settings.out_dir).list() == []  # nothing was started


def test_japanese_on_the_bundled_model_is_refused_in_the_form():
    with pytest.raises(ValueError, match="writes English only"):
        parse_form("計算資源", ["altman"], "8", "round-robin", "ja", "embedded", "")
    form = parse_form("計算資源", ["altman"], "8", "round-robin", "ja", "openai", "m")
    assert form.language == "ja"


def test_a_turn_that_failed_its_check_is_marked_unsupported():
    from tests.tui_fixtures import claimed_debate
    from tui.widgets.turn_block import speaker_line, turn_note

    debate = claimed_debate()
    marked, fine = debate.turns[6], debate.turns[2]
    persona = debate.persona(marked.speaker_id)
    line = speaker_line(persona, marked.speaker_id, marked.kind, 6, unsupported=True)
    assert "unsupported" in line.plain
    assert "unsupported" not in speaker_line(persona, fine.speaker_id, fine.kind, 2).plain
    assert turn_note(marked) == "panel:3-3 · no draft passed its check"
    stated = fine.model_copy(update={"voiced_by": "template"})
    assert turn_note(stated) == "panel:30-30 · claim stated from the template"
