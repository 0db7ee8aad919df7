"""The command line's output on rich: colour only on a terminal and never with NO_COLOR,
plain lines into files and pipes, progress named by stage; `debate fork --turns`."""

from __future__ import annotations

import io
import json
import re

import pytest

import cli
from tests.conftest import StubSearch, varied

ESCAPE = re.compile(r"\x1b\[")
COLOUR = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-7]|38;[25];[0-9;]+)m")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_show(settings, saver, model=None):
    from graphs.runner import new_show

    return new_show(
        settings, "Compute", search=StubSearch(), checkpointer=saver, model=model or varied()
    )


def test_a_show_into_a_pipe_is_plain_text(settings, saver):
    out = io.StringIO()
    assert cli.print_events(run_show(settings, saver), cli.console_for(out)) == 0
    text = out.getvalue()
    assert not ESCAPE.search(text)
    assert "Sam Altman (simulated) · argument" in text and "■ " in text


def test_a_show_on_a_terminal_is_coloured_unless_no_color(settings, saver, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    out = Terminal()
    cli.print_events(run_show(settings, saver), cli.console_for(out))
    assert COLOUR.search(out.getvalue())  # persona colours
    monkeypatch.setenv("NO_COLOR", "1")
    out = Terminal()
    cli.print_events(run_show(settings.model_copy(), saver), cli.console_for(out))
    assert not COLOUR.search(out.getvalue())


def test_model_text_is_never_markup(settings, saver):
    model = varied("[bold red]not markup[/] [link=x]y[/link]")
    out = io.StringIO()
    cli.print_events(run_show(settings, saver, model), cli.console_for(out))
    assert "[bold red]not markup[/] [link=x]y[/link]" in out.getvalue()


def test_progress_in_a_log_is_one_line_per_stage(monkeypatch):
    monkeypatch.setattr(cli, "PLAIN_AFTER_S", 0.0)  # as if each stage took a while
    log = io.StringIO()
    with cli.progress_of("Indexing x.srt", stream=log) as update:
        import time

        update("encoding passages", 0, 100)
        time.sleep(0.1)  # the announcement comes from a timer thread
        for done in range(10, 101, 10):
            update("encoding passages", done, 100)
        update("writing the index")
    lines = log.getvalue().splitlines()
    assert lines[:3] == ["Indexing x.srt…", "encoding passages…", "writing the index…"]
    assert re.fullmatch(r"Indexing x\.srt: done 100/100 \(\d+\.\d s\)", lines[3])
    assert not ESCAPE.search(log.getvalue()) and "\r" not in log.getvalue()


def test_quick_or_failing_work_leaves_only_its_error():
    log = io.StringIO()
    with cli.progress_of("Indexing x.srt", stream=log) as update:
        update("encoding passages", 1, 2)
    assert log.getvalue() == ""
    log = io.StringIO()
    try:
        with cli.progress_of("Indexing x.srt", stream=log):
            raise ValueError("boom")
    except ValueError:
        pass
    assert log.getvalue() == ""


def test_progress_on_a_terminal_draws_a_bar(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    term = Terminal()
    with cli.progress_of("Indexing x.srt", stream=term) as update:
        update("encoding passages", 50, 100)
    assert "encoding passages" in term.getvalue() and "50/100" in term.getvalue()
    assert "Indexing x.srt: done 50/100" in term.getvalue()  # the bar goes, a summary stays


def forkable(tmp_path, monkeypatch):
    """A finished 12-turn debate to fork on the command line (scripted models and a stub
    search in place of the index): its settings, its runner and the CLI's folder options."""
    from core.settings import Settings
    from graphs.checkpoint import open_checkpointer

    settings = Settings(data_dir=tmp_path / "d", out_dir=tmp_path / "o", turns=12)
    with open_checkpointer(settings.data_dir, None) as saver:
        parent = run_show(settings, saver)
        list(parent.run())
    monkeypatch.setattr(cli, "open_index", lambda *a, **k: StubSearch())
    monkeypatch.setattr(cli, "searcher", lambda index: index)
    monkeypatch.setattr("graphs.models.saved_model", lambda *a, **k: varied("Fork"))
    common = ["--data-dir", str(settings.data_dir), "--out", str(settings.out_dir)]
    return settings, parent, common


def test_fork_turns_on_the_command_line(tmp_path, monkeypatch, capsys):
    from episodes.store import DebateStore

    settings, parent, common = forkable(tmp_path, monkeypatch)
    pid = parent.debate.id
    assert cli.main(["fork", pid, "--at-turn", "6", "--turns", "3", *common]) == 0
    forks = [d for d in DebateStore(settings.out_dir).list() if d.parent_id == pid]
    assert len(forks) == 1
    added = [t for t in forks[0].turns[6:] if t.kind != "interjection"]
    assert 1 <= len(added) <= 3 and added[-1].kind == "closing"
    capsys.readouterr()
    assert cli.main(["fork", pid, "--at-turn", "6", "--turns", "0", *common]) == 2
    said = capsys.readouterr().err.strip()
    assert said == "debate: error: --turns 0: a fork adds at least 1 turn"


def test_fork_counts_turns_from_1_as_replay_and_exports_do(tmp_path, monkeypatch, capsys):
    """`--at-turn N` is turn N as replay and the Markdown export number it: the branch keeps
    turns 1-N, and the listing, the export and every error count the same way."""
    from episodes.export import to_markdown
    from episodes.store import DebateStore

    settings, parent, common = forkable(tmp_path, monkeypatch)
    pid = parent.debate.id
    shown = to_markdown(parent.debate)
    assert "· #1" in shown and "· #12" in shown and "· #0" not in shown
    for outside in ("0", "13"):
        capsys.readouterr()
        assert cli.main(["fork", pid, "--at-turn", outside, *common]) == 2
        said = capsys.readouterr().err.strip()
        assert said == f"debate: error: --at-turn {outside}: debate {pid} has turns 1-12"
    assert not [d for d in DebateStore(settings.out_dir).list() if d.parent_id == pid]
    assert cli.main(["fork", pid, "--at-turn", "3", "--turns", "2", *common]) == 0
    (fork,) = [d for d in DebateStore(settings.out_dir).list() if d.parent_id == pid]
    branch = DebateStore(settings.out_dir).load(fork.id)
    parent_turns = DebateStore(settings.out_dir).load(pid).turns
    assert [t.text for t in branch.turns[:3]] == [t.text for t in parent_turns[:3]]
    assert branch.turns[3].text != parent_turns[3].text  # turn 4 is the branch's own
    assert branch.forked_at == 2  # stored as the index of the last turn kept
    assert f"fork of `{pid}` after turn 3" in to_markdown(branch)
    capsys.readouterr()
    assert cli.main(["list", *common]) == 0
    assert "(fork after turn 3)" in capsys.readouterr().out
    assert cli.main(["list", "--json", *common]) == 0
    listed = {d["id"]: d for d in json.loads(capsys.readouterr().out)}
    assert listed[fork.id]["forked_after_turn"] == 3 and "forked_at" not in listed[fork.id]
    with pytest.raises(SystemExit):
        cli.main(["fork", "--help"])
    assert "numbered from 1" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("name", ["Painter", "BatchDisplay"])
def test_no_hand_written_escape_codes_left(name):
    import inspect

    source = inspect.getsource(cli)
    assert "\\033[" not in source and "\\x1b[" not in source
    if name == "BatchDisplay":
        assert "rich.progress" in inspect.getsource(cli.BatchDisplay)
