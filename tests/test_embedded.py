"""The embedded backend on the real bundled model: the runtime copy, and turn endings."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.llm import embedded
from agents.llm.base import Sampling, complete
from agents.llm.embedded import SENTENCE_ENDS, EmbeddedModel, bundled_model_path

pytestmark = pytest.mark.e2e

ASK = [{"role": "user", "content": "Tell me, at length, what the future of money looks like."}]


def greedy(model: EmbeddedModel, tokens: int) -> str:
    return complete(model, ASK, Sampling(temperature=0.0, max_tokens=tokens)).text


def test_bundled_model_runs_from_a_q8_copy_made_once(tmp_path: Path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("DEBATE_CACHE_DIR", str(cache))
    first = EmbeddedModel()
    assert first.path.parent == cache and first.path.name.endswith(".q8_0.gguf")
    assert first.source == bundled_model_path()
    made = first.path.stat().st_mtime_ns
    second = EmbeddedModel()
    assert second.path == first.path and second.path.stat().st_mtime_ns == made
    assert [p.name for p in cache.iterdir()] == [first.path.name]  # no temporary left
    # A changed source gets a new copy, and the old one is dropped.
    other = tmp_path / first.source.name
    other.write_bytes(first.source.read_bytes()[:-16] + bytes(16))
    assert embedded.runtime_copy(other) not in (first.path, other)
    assert len(list(cache.iterdir())) == 1
    # The same model: greedy decoding starts with the same words as the shipped file.
    as_shipped = EmbeddedModel(bundled_model_path())  # a file the user names runs as given
    assert as_shipped.path == bundled_model_path()
    assert greedy(second, 8) == greedy(as_shipped, 8)


def test_without_a_writable_cache_the_shipped_file_runs(tmp_path: Path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("DEBATE_CACHE_DIR", str(blocker / "cache"))
    model = EmbeddedModel()
    assert model.path == bundled_model_path()
    assert greedy(model, 4)


def test_turns_land_on_a_finished_sentence(monkeypatch):
    """Past min_tokens, sentence ends grow likelier up to max_tokens, so turns end whole
    instead of being cut; without the push about half of these windows end mid-sentence."""
    model = EmbeddedModel()

    def endings(bias: float) -> list[bool]:
        monkeypatch.setattr(embedded, "LANDING_BIAS", bias)
        out = []
        for seed in range(8):
            sampling = Sampling(
                temperature=0.9,
                max_tokens=40,
                min_tokens=20,
                end_on_sentence=True,
                repeat_penalty=1.3,
                seed=seed,
            )
            out.append(complete(model, ASK, sampling).text.rstrip().endswith(SENTENCE_ENDS))
        return out

    assert all(endings(embedded.LANDING_BIAS))
    assert not all(endings(0.0))
