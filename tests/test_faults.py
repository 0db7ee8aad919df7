"""Model faults from a real HTTP server on 127.0.0.1: 429 with Retry-After, 500, 503,
stalls past the timeout, streams cut mid-reply, malformed JSON. Debates survive them,
or pause checkpointed and resume; text of a reply that broke off never enters a turn."""

from __future__ import annotations

import time

import pytest

from agents.llm.base import Sampling
from agents.llm.openai_backend import OpenAIModel
from bench.fake_openai import FakeOpenAI, FaultPlan
from core.errors import ModelError, StructuredOutputError
from core.settings import Settings
from episodes.store import DebateStore
from graphs import events
from graphs.checkpoint import open_checkpointer
from graphs.runner import new_show, resume_show

BROKEN = ("CUT-HERE", "broken")  # what the server sends just before a reply breaks off


def client(server: FakeOpenAI, *, timeout: float = 10.0, retries: int = 4) -> OpenAIModel:
    """A client of `server`; only the stall test needs a timeout short enough to hit."""
    return OpenAIModel("fake-panel", base_url=server.base_url, timeout=timeout, max_retries=retries)


def fault_settings(settings: Settings, **extra) -> Settings:
    return settings.model_copy(
        update={"backend": "openai", "turns": 7, "request_timeout_s": 1.0, **extra}
    )


def drain(runner) -> list:
    return list(runner.run())


def run_show(s: Settings, search, model: OpenAIModel) -> tuple:  # noqa: ANN001
    """A debate on "Who prices compute?" run to its end: (runner, its events)."""
    with open_checkpointer(s.data_dir) as saver:
        runner = new_show(s, "Who prices compute?", search=search, checkpointer=saver, model=model)
        return runner, drain(runner)


def assert_clean(debate) -> None:
    for turn in debate.turns:
        assert not any(mark in turn.text for mark in BROKEN), turn.text
        assert turn.text.endswith("."), turn.text


def test_every_fault_kind_is_survived_and_nothing_broken_is_kept(settings, search):
    plan = FaultPlan(
        stream={2: "429", 3: "500", 4: "503", 5: "stall", 6: "cut", 7: "malformed"},
        structured={1: "malformed"},
        retry_after_s=0.3,
        stall_s=2.5,
    )
    with FakeOpenAI(faults=plan, reply_tokens=30) as server:
        s = fault_settings(settings)
        began = time.perf_counter()
        runner, seen = run_show(s, search, client(server, timeout=1.0))
        took = time.perf_counter() - began
        assert dict(server.stats.faults) == {
            "429": 1,
            "500": 1,
            "503": 1,
            "stall": 1,
            "cut": 1,
            "malformed": 2,
        }
    finished = [e for e in seen if isinstance(e, events.DebateFinished)]
    assert finished and not [e for e in seen if isinstance(e, events.Error)]
    debate = DebateStore(s.out_dir).load(runner.debate.id)
    assert debate.status == "finished" and len(debate.turns) == 7
    assert_clean(debate)
    # The stall, the cut and the malformed chunk each threw a draft away, said so, and retried.
    discarded = [e for e in seen if isinstance(e, events.TurnDiscarded)]
    assert len(discarded) == 3 and all("broke off" in e.reason for e in discarded)
    # 429 waited for Retry-After (0.3 s); the stall waited for the 1 s timeout.
    assert took > 1.3


def test_a_retry_after_header_is_honoured(settings):
    plan = FaultPlan(structured={1: "429"}, retry_after_s=1.0)
    with FakeOpenAI(faults=plan) as server:
        from agents.host import AgendaPlan

        began = time.perf_counter()
        plan_obj, _ = client(server).structured(
            [{"role": "user", "content": "plan"}], AgendaPlan, Sampling(max_tokens=100)
        )
        assert time.perf_counter() - began >= 0.95
        assert plan_obj.segments and server.stats.requests["structured"] == 2


def test_malformed_structured_replies_retry_then_fail_clearly():
    plan = FaultPlan(structured={1: "malformed", 2: "malformed", 3: "malformed"})
    with FakeOpenAI(faults=plan) as server:
        from agents.host import AgendaPlan

        with pytest.raises(StructuredOutputError) as info:
            client(server).structured(
                [{"role": "user", "content": "plan"}], AgendaPlan, Sampling(max_tokens=100)
            )
    assert "3 tries" in str(info.value) and "\n" not in str(info.value)


def test_out_of_retries_the_debate_pauses_checkpointed_and_resume_finishes_it(settings, search):
    # From the 4th streamed call on, every call fails with 503 (the SDK retries twice).
    dead = {n: "503" for n in range(4, 40)}
    with FakeOpenAI(faults=FaultPlan(stream=dead), reply_tokens=30) as server:
        s = fault_settings(settings, max_retries=2)
        runner, seen = run_show(s, search, client(server, retries=2))
        errors = [e for e in seen if isinstance(e, events.Error)]
        assert len(errors) == 1
        message = errors[0].message
        assert "HTTP 503" in message and "after 2 retries" in message
        assert f"debate resume {runner.debate.id}" in message and "\n" not in message
        stopped = DebateStore(s.out_dir).load(runner.debate.id)
        assert stopped.status == "stopped" and len(stopped.turns) == 3
        assert_clean(stopped)

        server.plan.stream = {}  # the server recovers
        with open_checkpointer(s.data_dir) as saver:
            again = resume_show(
                s, runner.debate.id, search=search, checkpointer=saver, model=client(server)
            )
            drain(again)
    done = DebateStore(s.out_dir).load(runner.debate.id)
    assert done.status == "finished" and len(done.turns) == 7
    assert [t.index for t in done.turns] == list(range(7))
    assert done.turns[:3] == stopped.turns[:3]  # nothing lost or redone
    assert_clean(done)


def test_a_stream_that_keeps_breaking_gives_up_with_a_clear_message(monkeypatch):
    plan = FaultPlan(stream={n: "cut" for n in range(1, 10)})
    with FakeOpenAI(faults=plan) as server:
        from agents.personas import load_personas
        from agents.speaker import TurnRequest, speak

        persona = load_personas(None)["economist"]
        req = TurnRequest(
            index=1,
            kind="argument",
            topic="t",
            question="q?",
            language="en",
            passages=[],
            segment=0,
        )
        dropped: list[str] = []
        monkeypatch.setattr("agents.speaker.backoff_s", lambda attempt: 0.0)
        with pytest.raises(ModelError) as info:
            speak(client(server), persona, req, on_discard=dropped.append)
    assert "gave up after 3 retries" in str(info.value)
    assert len(dropped) == 3
