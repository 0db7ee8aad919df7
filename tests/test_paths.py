"""Saved debates live in ./debates; those saved in ./transcripts/debates before it moved
are still found there, with one line on how to move them."""

from __future__ import annotations

from pathlib import Path

import cli
from core.paths import DEBATES_DIR, OLD_DEBATES_DIR, default_debates_dir, moved_debates_note
from core.settings import Settings
from episodes.store import DebateStore
from tests.tui_fixtures import sample_debate

OLD_ID = "20261128-120000-abcd"


def test_debates_are_saved_in_debates_of_the_working_directory(tmp_path: Path):
    assert default_debates_dir() == Path("debates") == Settings().out_dir
    assert Settings().debates_note() is None


def test_debates_of_the_old_folder_are_still_found_and_the_move_is_said_once(
    tmp_path: Path, capsys, monkeypatch
):
    monkeypatch.setattr(cli, "_noted", set())  # nothing said yet in this process
    DebateStore(tmp_path / OLD_DEBATES_DIR).save(sample_debate(OLD_ID))
    assert Settings().out_dir == OLD_DEBATES_DIR
    assert cli.main(["list"]) == 0
    out, err = capsys.readouterr()
    assert OLD_ID in out
    notes = err.splitlines()
    assert notes == [
        "debate: note: debates are saved in ./debates now; yours are still read from "
        "./transcripts/debates: move them with `mv transcripts/debates debates`"
    ]
    assert cli.main(["list"]) == 0  # said once in a process
    assert capsys.readouterr().err == ""


def test_once_moved_the_new_folder_is_used_and_nothing_is_said(tmp_path: Path, capsys):
    DebateStore(tmp_path / OLD_DEBATES_DIR).save(sample_debate(OLD_ID))
    (tmp_path / DEBATES_DIR).mkdir()
    assert Settings().out_dir == DEBATES_DIR
    assert moved_debates_note(OLD_DEBATES_DIR) is None


def test_an_old_folder_named_on_purpose_is_used_without_a_note(tmp_path: Path, monkeypatch):
    DebateStore(tmp_path / OLD_DEBATES_DIR).save(sample_debate(OLD_ID))
    assert Settings(out_dir=OLD_DEBATES_DIR).debates_note() is None
    monkeypatch.setenv("DEBATE_OUT_DIR", str(OLD_DEBATES_DIR))
    assert Settings().debates_note() is None


def test_an_empty_old_folder_is_not_kept(tmp_path: Path):
    (tmp_path / OLD_DEBATES_DIR).mkdir(parents=True)
    assert default_debates_dir() == DEBATES_DIR
