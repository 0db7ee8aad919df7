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
    copies = [p.name for p in cache.iterdir() if not p.name.startswith("llama-probe-")]
    assert copies == [first.path.name]  # no temporary left
    # A changed source gets a new copy, and the old one is dropped.
    other = tmp_path / first.source.name
    other.write_bytes(first.source.read_bytes()[:-16] + bytes(16))
    assert embedded.runtime_copy(other) not in (first.path, other)
    assert len(list(cache.glob("*.gguf"))) == 1
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


def _full_grammar_text(model: EmbeddedModel, messages, schema, sampling: Sampling) -> str:
    """What llama.cpp's own grammar sampler, checking the whole vocabulary, generates."""

    def run(llm) -> str:
        llm.reset()
        prompt, stops = model.prompt_of(messages)
        out = llm.create_completion(
            llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True),
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            seed=sampling.seed,
            stop=stops,
            grammar=model._grammar(schema.model_json_schema()),
        )
        return out["choices"][0]["text"]

    return model.call(run, slot="__structured__")


def test_structured_output_matches_llama_cpps_full_grammar_check():
    """The shortlist grammar mask decodes what the full-vocabulary check decodes, greedy
    and sampled, for an agenda and for a speaker pick."""
    from agents.host import agenda_schema, pick_schema

    model = EmbeddedModel()
    plan = "You plan a TV panel show on the topic: {}\nGuests: Ken, Mori, Sam Altman (simulated)\n"
    cases = [
        (
            plan.format(t) + "Write an agenda of 2 segments, each a short title and a question.",
            agenda_schema(2),
        )
        for t in ("Compute as the new currency", "Basic income in an age of AI")
    ]
    cases.append(
        (
            "Who should speak next: ken, mori or altman? Mori spoke last.",
            pick_schema(["ken", "mori", "altman"]),
        )
    )
    for prompt, schema in cases:
        messages = [{"role": "user", "content": prompt}]
        for temperature, seed in ((0.0, 0), (0.3, 1), (0.7, 2)):
            sampling = Sampling(temperature=temperature, max_tokens=100, seed=seed)
            expected = _full_grammar_text(model, messages, schema, sampling)
            model.call(lambda llm: llm.reset(), slot="__structured__")
            try:
                _, completion = model.structured(messages, schema, sampling)
                got = completion.text
            except embedded.ModelError as exc:  # cut by max_tokens: same text, unparsed
                got = expected if expected[:40] in str(exc) else str(exc)
            assert got == expected, (schema.__name__, temperature)


def test_a_value_the_model_would_never_pick_is_still_decoded():
    """When none of the model's likely tokens fits, the whole vocabulary is checked."""
    from typing import Literal

    from pydantic import BaseModel, ConfigDict

    class Odd(BaseModel):
        model_config = ConfigDict(extra="forbid")
        word: Literal["zyzzyva-quokka"]
        count: int

    model = EmbeddedModel()
    ask = [{"role": "user", "content": "Say hello to the audience."}]
    value, completion = model.structured(ask, Odd, Sampling(temperature=0.7, max_tokens=40))
    assert value.word == "zyzzyva-quokka" and completion.tokens_out > 5


def test_generation_marks_the_cpu_busy_until_the_reply_is_handed_over():
    from core import workload

    model = EmbeddedModel()
    seen = [
        (type(piece).__name__, workload.running())
        for piece in model.stream(ASK, Sampling(temperature=0.0, max_tokens=64))
    ]
    assert seen[0] == ("str", 1)  # generating
    assert seen[-1] == ("Completion", 0)  # done before the reply is handed over


def test_generation_stops_where_another_speaker_is_given_a_line():
    """A reply stops as soon as a line opens with a label the caller refuses, instead of
    generating what would be cut from it afterwards."""
    model = EmbeddedModel()
    ask = [
        {
            "role": "user",
            "content": "Write a short play: a dialogue between Ken and Mori about money. "
            "Each line starts with the speaker's name and a colon.",
        }
    ]

    def mori(label: str) -> bool:
        return label.split("(")[0].strip().lower() == "mori"

    free = complete(model, ask, Sampling(temperature=0.0, max_tokens=120))
    stopped = complete(model, ask, Sampling(temperature=0.0, max_tokens=120, stop_label=mori))
    cut = free.text.lower().index("\nmori")
    assert stopped.text.startswith(free.text[: cut + 1])
    assert stopped.text.rstrip().endswith(":") and stopped.tokens_out < free.tokens_out
