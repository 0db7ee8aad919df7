"""Shared fixtures: every user path points into a temporary folder; a scripted panel."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.llm.scripted import ScriptedModel
from core.models import Passage
from core.settings import Settings
from graphs.checkpoint import serializer
from tests.pg import pg_url, postgres_url  # noqa: F401  (PostgreSQL fixtures)

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "transcripts" / "sources" / "compute_resource_ism_panel.ja.txt"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of derived model files for the whole session (the Q8_0 copy is made once)."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    """No test reads or writes the user's files or keys."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEBATE_CACHE_DIR", str(model_cache))
    for name in (
        "OPENAI_API_KEY",
        "DEBATE_DATA_DIR",
        "DEBATE_OUT_DIR",
        "DEBATE_BACKEND",
        "DEBATE_CHROMA_URL",
        "DEBATE_CHECKPOINT_URL",
    ):
        monkeypatch.delenv(name, raising=False)


# A complete, valid persona file; tests break it one field at a time.
GOOD_PERSONA = """id: guest
name: Ada Guest
role: panelist
title: Engineer
bio: Builds chips.
stance: Compute is power.
style: Dry.
color: "#ffffff"
"""


def check_fork(parent, child, out_dir: Path) -> None:  # noqa: ANN001  (two Debates)
    """A branch forked from `parent` after turn 5 (numbered from 1) with the steer "What
    about energy?": it keeps the first five turns, puts the steer to the panel next,
    closes, and leaves the parent as it was saved."""
    from episodes.store import DebateStore

    assert child.parent_id == parent.id and child.forked_at == 4 and child.forked_after == 5
    assert [t.text for t in child.turns[:5]] == [t.text for t in parent.turns[:5]]
    assert child.turns[5].kind == "interjection" and "What about energy?" in child.turns[5].text
    assert child.turns[-1].kind == "closing"
    again = DebateStore(out_dir).load(parent.id)
    assert [t.text for t in again.turns] == [t.text for t in parent.turns]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", out_dir=tmp_path / "debates", turns=12)


PASSAGES = [
    Passage(
        source_id="panel",
        chunk_id="panel:3-3:a",
        line_start=3,
        line_end=3,
        text="計算資源こそが新しい通貨になる。",
        score=0.9,
        gloss="Compute resources will become the new currency.",
    ),
    Passage(
        source_id="panel",
        chunk_id="panel:10-11:b",
        line_start=10,
        line_end=11,
        text="半導体工場を世界中に作っていく。",
        score=0.8,
        gloss="He would build semiconductor factories all over the world.",
    ),
    Passage(
        source_id="panel",
        chunk_id="panel:30-30:c",
        line_start=30,
        line_end=30,
        text="善良な独裁者に支配される方がまし。",
        score=0.7,
        gloss="Better to be ruled by a benevolent dictator.",
    ),
]


class StubSearch:
    """A search function that records its queries and returns fixed passages."""

    def __init__(self, passages: list[Passage] | None = None) -> None:
        self.passages = PASSAGES if passages is None else passages
        self.queries: list[str] = []

    def __call__(self, query: str | tuple[str, ...], k: int, sources=None) -> list[Passage]:
        self.queries.append(query if isinstance(query, str) else " ".join(query))
        return self.passages[:k]


@pytest.fixture
def search() -> StubSearch:
    return StubSearch()


def varied(prefix: str = "Point") -> ScriptedModel:
    """A scripted model whose every reply is different (so no echo redrafts)."""
    counter = {"n": 0}

    def respond(messages) -> str:
        counter["n"] += 1
        n = counter["n"]
        return f"{prefix} {n}: chips factories {n * 7} energy fusion {n * 13} wages {n * 17}."

    return ScriptedModel(responder=respond)


@pytest.fixture
def model() -> ScriptedModel:
    return varied()


@pytest.fixture
def saver() -> InMemorySaver:
    return InMemorySaver(serde=serializer())


# The installed console script, as a user runs it (`python -m cli` from a folder that
# holds a `transcripts/` directory would import that folder instead of the package).
DEBATE = [str(Path(sys.executable).with_name("debate"))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def bundled_source() -> Iterator[Path]:
    yield SOURCE


@pytest.fixture(scope="session")
def indexed_data(tmp_path_factory) -> Path:
    """A data directory with the show's transcript indexed once; copy it, don't write to it."""
    from transcripts.index import PassageIndex

    data = tmp_path_factory.mktemp("indexed")
    PassageIndex(data).ensure_bundled()
    return data
