"""Debates checkpointed before the domain models moved to `core` still fork and resume.

`tests/data/before_recut/` was written by the code as it stood before the move (the
models then lived in `transcripts.models`), with a scripted model and a fixed search: a
finished 8-turn debate (`…-f1n1`) and one stopped after its fourth turn (`…-5t0p`), with
their SQLite checkpoints. Those checkpoints name every turn's type by its old module.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from core.models import Turn
from core.settings import Settings
from episodes.store import DebateStore
from graphs.checkpoint import open_checkpointer
from graphs.runner import fork_show, resume_show
from tests.conftest import check_fork, varied

OLD = Path(__file__).parent / "data" / "before_recut"
FINISHED = "20260101-000000-f1n1"
STOPPED = "20260101-000100-5t0p"


def _copy(tmp_path: Path) -> Settings:
    shutil.copytree(OLD, tmp_path / "old")
    root = tmp_path / "old"
    return Settings(data_dir=root / "data", out_dir=root / "debates", turns=8, agenda="standard")


def test_the_old_checkpoints_hold_turns_by_their_old_module():
    blob = (OLD / "data" / "checkpoints.sqlite").read_bytes()
    assert b"transcripts.models" in blob and b"core.models" not in blob


def test_an_old_checkpoint_revives_its_turns_as_turns(tmp_path: Path):
    settings = _copy(tmp_path)
    with open_checkpointer(settings.data_dir) as saver:
        saved = saver.get_tuple({"configurable": {"thread_id": FINISHED}})
    turns = saved.checkpoint["channel_values"]["turns"]
    assert len(turns) == 8 and all(isinstance(t, Turn) for t in turns)
    assert all(isinstance(p.gloss, str) for t in turns for p in t.passages)


def test_a_debate_checkpointed_before_the_move_forks(tmp_path: Path, search):
    settings = _copy(tmp_path)
    store = DebateStore(settings.out_dir)
    parent = store.load(FINISHED)
    with open_checkpointer(settings.data_dir) as saver:
        runner = fork_show(
            settings,
            FINISHED,
            5,
            search=search,
            checkpointer=saver,
            steer="What about energy?",
            model=varied("Fork"),
        )
        list(runner.run())
    check_fork(parent, runner.debate, settings.out_dir)
    assert store.load(runner.debate.id).status == "finished"


def test_a_debate_checkpointed_before_the_move_resumes(tmp_path: Path, search):
    settings = _copy(tmp_path)
    store = DebateStore(settings.out_dir)
    before = store.load(STOPPED)
    assert before.status == "stopped" and len(before.turns) == 4
    with open_checkpointer(settings.data_dir) as saver:
        runner = resume_show(
            settings, STOPPED, search=search, checkpointer=saver, model=varied("Again")
        )
        list(runner.run())
    after = store.load(STOPPED)
    assert after.status == "finished" and len(after.turns) > 4
    assert [t.text for t in after.turns[:4]] == [t.text for t in before.turns]
    assert after.turns[-1].kind == "closing"
