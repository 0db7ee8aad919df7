"""Steering a running show: a pause or a stop cuts the turn being generated at once,
and a fork takes a turn count of its own."""

from __future__ import annotations

import threading
import time

import pytest

from agents.llm.scripted import ScriptedModel
from core.errors import UserError
from graphs import events as ev
from graphs.runner import fork_show, new_show
from tests.conftest import varied


class SlowModel(ScriptedModel):
    """Streams one word every `delay` seconds, so a cut lands in the middle of a turn."""

    delay: float = 0.05

    def stream(self, messages, sampling, *, slot=None):
        for piece in super().stream(messages, sampling, slot=slot):
            if isinstance(piece, str):
                time.sleep(self.delay)
            yield piece


def slow() -> SlowModel:
    counter = {"n": 0}

    def respond(messages) -> str:
        counter["n"] += 1
        n = counter["n"]
        words = " ".join(f"word{n}x{i}" for i in range(40))
        return f"Point {n}: {words} chips {n * 7}."

    return SlowModel(responder=respond)


def test_stop_cuts_the_turn_under_way(settings, search, saver):
    runner = new_show(
        settings, "Compute", search=search, checkpointer=saver, model=slow(), steerable=True
    )
    seen: list = []
    stopped_at = None
    for e in runner.run():
        seen.append(e)
        if isinstance(e, ev.Token) and e.index == 2 and stopped_at is None:
            stopped_at = time.perf_counter()
            runner.stop(cut=True)
    took = time.perf_counter() - stopped_at
    assert took < 1.0  # the 40-word turn would take 2 s to finish
    assert any(isinstance(e, ev.TurnDiscarded) and e.index == 2 for e in seen)
    assert isinstance(seen[-1], ev.DebateFinished) and seen[-1].stop_reason == "stopped"
    assert [t.index for t in runner.debate.turns] == [0, 1]  # the cut turn is not saved
    assert runner.debate.status == "stopped"


def test_pause_cuts_the_turn_and_play_speaks_it_again(settings, search, saver):
    runner = new_show(
        settings, "Compute", search=search, checkpointer=saver, model=slow(), steerable=True
    )
    seen: list = []
    paused_at = None
    for e in runner.run():
        seen.append(e)
        if isinstance(e, ev.Token) and e.index == 1 and paused_at is None:
            paused_at = time.perf_counter()
            runner.pause(cut=True)
        if isinstance(e, ev.Interrupted) and e.reason == "paused":
            assert time.perf_counter() - paused_at < 1.0
            threading.Timer(0.2, runner.play).start()
        if isinstance(e, ev.TurnFinished) and e.turn.index == 3:
            runner.stop(cut=True)
    kinds = [type(e).__name__ for e in seen]
    assert "TurnDiscarded" in kinds and "Resumed" in kinds
    assert [t.index for t in runner.debate.turns][:3] == [0, 1, 2]
    assert runner.debate.turns[1].text.strip() not in ("", "…")  # spoken again, whole


def test_fork_turns_limits_the_branch(settings, search, saver):
    model = varied()
    runner = new_show(settings, "Compute", search=search, checkpointer=saver, model=model)
    list(runner.run())
    parent = runner.debate
    fork = fork_show(
        settings,
        parent.id,
        6,
        search=search,
        checkpointer=saver,
        model=model,
        steer="What about energy?",
        turns=3,
    )
    list(fork.run())
    new = [t for t in fork.debate.turns[6:] if t.kind != "interjection"]
    assert 1 <= len(new) <= 3 and new[-1].kind == "closing"  # the agenda may close sooner
    assert fork.debate.settings.max_turns == 6 + 3
    with pytest.raises(UserError, match="at least 1 turn"):
        fork_show(settings, parent.id, 6, search=search, checkpointer=saver, turns=0)


@pytest.mark.parametrize(
    "raw",
    [
        "BEGIN ANSWER: Energy decides who holds compute. END ANSWER:",
        "Begin answer: Energy decides who holds compute.\nEND ANSWER: and then the host said",
        "Energy decides who holds compute. END ANSWER: BEGIN ANSWER: again",
    ],
)
def test_prompt_scaffolding_never_reaches_a_turn(raw):
    from agents.personas import load_personas
    from agents.speaker import clean_reply

    altman = load_personas()["altman"]
    assert clean_reply(raw, altman, ["Mika Aoyama"]) == "Energy decides who holds compute."
