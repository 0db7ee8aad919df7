"""The show graph on a scripted model: order, kinds, budgets, policies, steering."""

from __future__ import annotations

import json

import pytest

from agents.host import AgendaPlan, SegmentPlan
from agents.llm.scripted import ScriptedModel
from core.errors import ModelError
from core.settings import Settings
from episodes.store import DebateStore
from graphs import events as ev
from graphs.builder import build_graph
from graphs.runner import fork_show, new_show, resume_show
from tests.conftest import check_fork, varied


def run(settings, model, search, saver, **kw):
    runner = new_show(
        settings,
        kw.pop("topic", "Compute as the new currency"),
        search=search,
        checkpointer=saver,
        model=model,
        **kw,
    )
    got = list(runner.run())
    return runner, got


def test_graph_has_the_show_nodes():
    graph = build_graph()
    assert {"plan", "open", "select", "retrieve", "speak", "moderate", "close"} <= set(graph.nodes)


def test_twelve_turn_show_opens_rotates_and_closes(settings, model, search, saver):
    runner, got = run(settings, model, search, saver)
    turns = runner.debate.turns
    assert len(turns) == 12
    assert [t.speaker_id for t in turns][0] == "host" and turns[0].kind == "opening"
    assert turns[-1].speaker_id == "host" and turns[-1].kind == "closing"
    panel = [t.speaker_id for t in turns if t.speaker_id != "host"]
    assert panel == ["altman", "economist", "futurist", "altman", "economist", "futurist"]
    kinds = [t.kind for t in turns]
    assert kinds.count("summary") == 2 and kinds.count("question") == 2
    for t in turns:
        assert t.citations, t
        assert t.invalid_citations() == []
        assert t.text
    assert [t.index for t in turns] == list(range(12))
    assert isinstance(got[0], ev.DebateStarted) and isinstance(got[-1], ev.DebateFinished)
    saved = json.loads(DebateStore(settings.out_dir).path_of(runner.debate.id).read_text())
    assert list(saved)[0] == "schema_version"
    assert saved["status"] == "finished" and len(saved["turns"]) == 12
    assert "OPENAI" not in json.dumps(saved)


def test_event_stream_order_per_turn(settings, model, search, saver):
    _, got = run(settings, model, search, saver)
    kinds = [e.kind for e in got]
    assert kinds[:4] == ["debate_started", "agenda_planned", "segment_started", "turn_started"]
    first_turn = kinds[3 : kinds.index("turn_finished") + 1]
    assert first_turn[:2] == ["turn_started", "passages_retrieved"]
    assert set(first_turn[2:-1]) == {"token"}
    streamed = "".join(e.text for e in got if isinstance(e, ev.Token) and e.index == 0)
    finished = next(e for e in got if isinstance(e, ev.TurnFinished))
    assert finished.turn.text in streamed


def test_agenda_from_structured_output(settings, search, saver):
    plan = AgendaPlan(
        segments=[
            SegmentPlan(title="Chips", question="Who builds the chips of the future?"),
            SegmentPlan(title="Income", question="Can a basic income be paid in compute?"),
            SegmentPlan(title="Power", question="What if one AI holds 51% of compute?"),
        ]
    )
    model = varied().enqueue(plan)
    runner, got = run(settings, model, search, saver)
    agenda = runner.debate.agenda
    assert [s.title for s in agenda] == ["Chips", "Income", "Power"]
    assert sum(s.turns for s in agenda) == 6
    planned = next(e for e in got if isinstance(e, ev.AgendaPlanned))
    assert planned.fallback is False


def test_agenda_parts_copied_from_the_notes_are_not_used(settings, search, saver):
    """A small model copies source notes into its plan: a copied question is replaced from
    the standard agenda, a copied title by one made from its own question."""
    plan = AgendaPlan(
        segments=[
            SegmentPlan(
                title="Compute resources will become the new",
                question="Who builds the chips of the future?",
            ),
            SegmentPlan(
                title="Factories",
                question="He would build semiconductor factories all over the world.",
            ),
            SegmentPlan(title="Power", question="What if one AI holds 51% of compute?"),
        ]
    )
    runner, got = run(settings, varied().enqueue(plan), search, saver)
    agenda = runner.debate.agenda
    assert [s.title for s in agenda[:2]] == ["Who builds the chips…", "Power"]
    assert agenda[1].question == "What if one AI holds 51% of compute?"
    assert "semiconductor factories" not in agenda[2].question  # from the standard agenda
    assert next(e for e in got if isinstance(e, ev.AgendaPlanned)).fallback is True


def test_agenda_questions_about_the_show_or_its_guests_are_replaced(settings, search, saver):
    """Seen with a 1.5B server model: it asked what the show is about, and every guest
    answered that question literally. Such a question is replaced like a repeated one."""
    plan = AgendaPlan(
        segments=[
            SegmentPlan(
                title="Opening",
                question="What is the main topic of the show and what will guests discuss?",
            ),  # fmt: skip
            SegmentPlan(title="Chips", question="Who builds the chips of the future?"),
            SegmentPlan(title="Keiko", question="Keiko, what do you make of basic income?"),
        ]
    )
    runner, got = run(settings, varied().enqueue(plan), search, saver)
    questions = [s.question for s in runner.debate.agenda]
    assert questions[0] == "Who builds the chips of the future?"
    assert not any("show" in q or "Keiko" in q for q in questions)
    assert next(e for e in got if isinstance(e, ev.AgendaPlanned)).fallback is True


def test_unusable_agenda_falls_back(settings, search, saver):
    model = varied().enqueue("not json at all")
    runner, got = run(settings, model, search, saver)
    assert len(runner.debate.agenda) == 3
    assert next(e for e in got if isinstance(e, ev.AgendaPlanned)).fallback is True


def test_standard_agenda_asks_no_model(settings, search, saver):
    """--agenda standard (auto's choice on the bundled 135M model): the segments are the
    standard ones, no structured call is made, and the choice is saved with the debate."""
    from agents.host import standard_agenda

    model = varied()
    runner, got = run(settings.model_copy(update={"agenda": "standard"}), model, search, saver)
    assert all(call.schema is None for call in model.history)
    want = standard_agenda("Compute as the new currency", "en", settings.turns)
    assert runner.debate.agenda == want and len(want) == 3
    assert next(e for e in got if isinstance(e, ev.AgendaPlanned)).fallback is False
    assert runner.debate.settings.agenda == "standard"
    assert len(runner.debate.turns) == 12


def test_a_topic_with_its_own_question_opens_on_it():
    """ "Theme: question?" opens on its question; the standard questions name the theme."""
    from agents.host import standard_agenda_rows

    rows = standard_agenda_rows(
        "Compute as the new currency: what happens if one AI holds 51% of all compute?", "en", 3
    )
    assert rows[0][1] == "What happens if one AI holds 51% of all compute?"
    assert (
        rows[1][1] == "What would \u201cCompute as the new currency\u201d mean for ordinary people?"
    )
    assert len(rows) == 3 and len({q for _, q in rows}) == 3
    assert standard_agenda_rows("計算機資源主義：一つのAIが51%を握ったら？", "ja", 2)[0][1] == (
        "一つのAIが51%を握ったら？"
    )
    plain = standard_agenda_rows("Note: a primer", "en", 1)  # no question after the colon
    assert plain[0][1] == "What would \u201cNote: a primer\u201d mean for ordinary people?"


def test_a_topic_that_is_a_question_is_asked_first_and_never_quoted_into_another():
    from agents.host import standard_agenda_rows

    rows = standard_agenda_rows("should a basic income be paid in compute?", "en", 4)
    assert rows[0][1] == "Should a basic income be paid in compute?"
    assert len(rows) == 4 and len({q for _, q in rows}) == 4
    assert not any("basic income be paid" in q for _, q in rows[1:])
    assert all(q.endswith("?") and "\u201c" not in q for _, q in rows)
    ja = standard_agenda_rows("計算資源でベーシックインカムを払うべきか？", "ja", 3)
    assert ja[0][1] == "計算資源でベーシックインカムを払うべきか？"
    assert not any("「" in q for _, q in ja)


def test_auto_agenda_leaves_only_the_bundled_model_off_it(settings):
    from agents.llm.base import SMALL
    from graphs.runner import agenda_mode

    small, other = ScriptedModel(capabilities=SMALL), ScriptedModel(name="gpt-4o-mini")
    assert agenda_mode(settings, small) == "standard"
    assert agenda_mode(settings, other) == "model"
    assert agenda_mode(settings.model_copy(update={"agenda": "model"}), small) == "model"
    assert agenda_mode(settings.model_copy(update={"agenda": "standard"}), other) == "standard"


def test_a_reply_searches_with_the_end_of_the_turn_it_answers():
    from graphs.nodes import _tail

    text = "Compute is scarce. " * 20 + "So the price of a GPU hour is the real interest rate."
    tail = _tail(text, 60)
    assert text.endswith(tail) and len(tail) <= 60
    assert tail.split(" ")[0] in text.split(" ")  # starts on a whole word
    assert _tail("short", 60) == "short"
    assert _tail("計算資源" * 50, 10) == "資源計算資源計算資源"  # no spaces: cut by characters


def test_max_turns_still_closes(tmp_path, model, search, saver):
    settings = Settings(data_dir=tmp_path / "d", out_dir=tmp_path / "o", turns=4)
    runner, _ = run(settings, model, search, saver)
    assert [t.kind for t in runner.debate.turns] == ["opening", "argument", "rebuttal", "closing"]


def test_token_budget_stops_early_with_a_closing(tmp_path, model, search, saver):
    settings = Settings(data_dir=tmp_path / "d", out_dir=tmp_path / "o", turns=30, token_budget=150)
    runner, got = run(settings, model, search, saver)
    turns = runner.debate.turns
    assert len(turns) < 30 and turns[-1].kind == "closing"
    assert got[-1].stop_reason == "token_budget"


def test_retrieval_is_per_turn(settings, model, search, saver):
    runner, _ = run(settings, model, search, saver)
    turns = runner.debate.turns
    # The plan asks once, then every turn retrieves, except the host's summaries and
    # closing, which recap claims made and are grounded in those claims' passages.
    recaps = [t for t in turns if t.kind in ("summary", "closing")]
    assert recaps and all(t.voiced_by == "template" and t.citations for t in recaps)
    assert len(search.queries) == 1 + len(turns) - len(recaps)


def test_host_directed_fallback_is_deterministic(tmp_path, search, saver):
    settings = Settings(
        data_dir=tmp_path / "d", out_dir=tmp_path / "o", turns=8, policy="host-directed"
    )
    model = varied()
    model.default = None

    def respond(messages):
        if "Pick one id" in messages[-1]["content"]:
            return '{"speaker_id": "nobody"}'
        return varied_reply(messages)

    counter = {"n": 0}

    def varied_reply(messages):
        counter["n"] += 1
        return f"Turn {counter['n']} on chips {counter['n'] * 3} and power {counter['n'] * 11}."

    model.responder = respond
    runner, _ = run(settings, model, search, saver)
    panel = [t.speaker_id for t in runner.debate.turns if t.speaker_id != "host"]
    assert runner.debate.metrics.fallback_picks >= 1
    for a, b in zip(panel, panel[1:], strict=False):
        assert a != b
    assert set(panel) == {"altman", "economist", "futurist"}


def test_host_directed_follows_a_valid_pick(tmp_path, search, saver):
    settings = Settings(
        data_dir=tmp_path / "d", out_dir=tmp_path / "o", turns=5, policy="host-directed"
    )

    counter = {"n": 0}

    def respond(messages):
        content = messages[-1]["content"]
        if "Pick one id" in content:
            return (
                '{"speaker_id": "futurist"}'
                if "futurist (" in content
                else '{"speaker_id": "economist"}'
            )
        counter["n"] += 1
        return f"Turn {counter['n']} about fusion {counter['n'] * 5}."

    model = ScriptedModel(responder=respond)
    runner, _ = run(settings, model, search, saver)
    panel = [t.speaker_id for t in runner.debate.turns if t.speaker_id != "host"]
    assert panel == ["futurist", "economist", "futurist"]
    assert runner.debate.metrics.fallback_picks == 0


def test_bidding_highest_wins_and_ties_go_to_who_spoke_least(tmp_path, search, saver):
    settings = Settings(data_dir=tmp_path / "d", out_dir=tmp_path / "o", turns=6, policy="bidding")
    counter = {"n": 0}

    def respond(messages):
        system = messages[0]["content"]
        if "How urgently" in messages[-1]["content"]:
            urgency = 9 if system.startswith("You are Ren Kurosawa") else 2
            return json.dumps({"urgency": urgency, "point": "mine"})
        counter["n"] += 1
        return f"Turn {counter['n']} about wages {counter['n'] * 9}."

    runner, _ = run(settings, ScriptedModel(responder=respond), search, saver)
    panel = [t.speaker_id for t in runner.debate.turns if t.speaker_id != "host"]
    # futurist bids highest whenever it may bid; when it just spoke, the others tie at 2
    # and the one who spoke least (then panel order) wins
    assert panel == ["futurist", "altman", "futurist", "economist"]


def test_addressed_reply_hands_the_floor(tmp_path, search, saver):
    settings = Settings(
        data_dir=tmp_path / "d", out_dir=tmp_path / "o", turns=6, policy="addressed-reply"
    )
    replies = iter(
        [
            # the host's closing is a recap of the claims made: it asks no model
            "no agenda",  # plan (falls back)
            "Welcome all.",  # opening
            "Keiko, compute is money now, tell me why not.",  # altman (first in rotation)
            "Ren, I think you are wrong about that one.",  # economist, addresses futurist
            "Fusion will decide it, Sam, not central banks.",  # futurist, addresses altman
            "Chips decide the future, nothing else at all.",  # altman
        ]
    )
    # a server's budget: these replies argue no claim of the notes, and are kept as spoken
    model = ScriptedModel(responder=lambda m: next(replies), prompt_budget="large")
    runner, _ = run(settings, model, search, saver)
    turns = runner.debate.turns
    assert [t.speaker_id for t in turns[1:5]] == ["altman", "economist", "futurist", "altman"]
    assert [t.addressed_to for t in turns[1:4]] == ["economist", "futurist", "altman"]


def test_interjection_is_answered_next(settings, model, search, saver):
    runner = new_show(
        settings,
        "Compute as the new currency",
        search=search,
        checkpointer=saver,
        model=model,
        steerable=True,
    )
    seen = []
    for e in runner.run():
        seen.append(e)
        if isinstance(e, ev.TurnFinished) and e.turn.index == 2:
            runner.interject("Who pays for a basic income?", "audience", "futurist")
    turns = runner.debate.turns
    i = next(t.index for t in turns if t.kind == "interjection")
    assert i == 3
    assert "Who pays for a basic income?" in turns[i].text
    assert turns[i].text.startswith("We have a question from the audience")
    assert turns[i + 1].speaker_id == "futurist"
    # the answer is a claim turn whose task is the producer's question
    assert turns[i + 1].claim is not None
    asked = [
        c for c in model.history if "Who pays for a basic income?" in c.messages[-1]["content"]
    ]
    assert asked and asked[-1].slot == "futurist"
    assert any(isinstance(e, ev.Interrupted) and e.reason == "interjection" for e in seen)
    assert turns[-1].kind == "closing"


def test_model_fault_stops_and_resume_finishes(settings, search, saver):
    model = varied()
    failing = {"left": 1}
    original = model.responder

    def respond(messages):
        if len(model.history) == 6 and failing["left"]:
            failing["left"] = 0
            raise ModelError("server said 503")
        return original(messages)

    model.responder = respond
    runner = new_show(settings, "Compute", search=search, checkpointer=saver, model=model)
    got = list(runner.run())
    assert isinstance(got[-1], ev.Error) and "debate resume" in got[-1].message
    stopped = DebateStore(settings.out_dir).load(runner.debate.id)
    assert stopped.status == "stopped"
    done_before = len(stopped.turns)
    resumed = resume_show(
        settings, runner.debate.id, search=search, checkpointer=saver, model=model
    )
    list(resumed.run())
    final = resumed.debate
    assert final.status == "finished" and len(final.turns) == 12
    assert [t.index for t in final.turns] == list(range(12))
    assert [t.text for t in final.turns[:done_before]] == [t.text for t in stopped.turns]


def test_fork_continues_as_a_new_branch(settings, model, search, saver):
    runner, _ = run(settings, model, search, saver)
    parent = runner.debate
    fork = fork_show(
        settings,
        parent.id,
        5,
        search=search,
        checkpointer=saver,
        model=model,
        steer="What about energy?",
    )
    list(fork.run())
    check_fork(parent, fork.debate, settings.out_dir)


def test_fork_out_of_range(settings, model, search, saver):
    from core.errors import UserError

    runner, _ = run(settings, model, search, saver)
    for outside in (0, 13, 40):  # turns are numbered 1-12, as replay and exports show them
        wrong = f"the turn to fork after {outside}: .* has turns 1-12$"
        with pytest.raises(UserError, match=wrong):
            fork_show(
                settings, runner.debate.id, outside, search=search, checkpointer=saver, model=model
            )


def test_japanese_show_uses_japanese_prompts(tmp_path, model, search, saver):
    settings = Settings(data_dir=tmp_path / "d", out_dir=tmp_path / "o", turns=4, language="ja")
    runner, _ = run(settings, model, search, saver, topic="計算機資源主義")
    assert runner.debate.language == "ja"
    user_prompts = [c.messages[-1]["content"] for c in model.history if c.schema is None]
    assert all("番組のテーマ" in p for p in user_prompts)
    md = (settings.out_dir / f"{runner.debate.id}.md").read_text(encoding="utf-8")
    assert "出演者" in md and "シミュレーション" in md


def test_time_budget_stops_early_with_a_closing(tmp_path, search, saver):
    import time

    model = varied()
    original = model.responder

    def slow(messages):
        time.sleep(0.05)
        return original(messages)

    model.responder = slow
    settings = Settings(
        data_dir=tmp_path / "d", out_dir=tmp_path / "o", turns=40, time_budget_s=0.3
    )
    runner, got = run(settings, model, search, saver)
    turns = runner.debate.turns
    assert 3 <= len(turns) < 12 and turns[-1].kind == "closing"
    assert got[-1].stop_reason == "time_budget"


def _rename_channel(saver, config, old: str, new: str) -> None:
    """Write the thread's last checkpoint again with channel `old` named `new`, as the
    latest checkpoint (what a checkpoint of an older state layout looks like)."""
    from langgraph.checkpoint.base.id import uuid6

    saved = saver.get_tuple(config)
    ck = saved.checkpoint

    def renamed(d: dict) -> dict:
        return {(new if k == old else k): v for k, v in d.items()}

    copy = {
        **ck,
        "id": str(uuid6(clock_seq=-2)),
        "channel_values": renamed(ck["channel_values"]),
        "channel_versions": renamed(ck["channel_versions"]),
        "versions_seen": {n: renamed(v) for n, v in ck["versions_seen"].items()},
    }
    saver.put(saved.config, copy, saved.metadata, copy["channel_versions"])


def test_a_checkpoint_that_holds_the_next_turn_as_next_resumes(settings, search, saver):
    """Checkpoints written before the state's `next` was named `next_turn` still resume."""
    model = varied()
    original = model.responder

    def respond(messages):
        if len(model.history) == 6:
            raise ModelError("server said 503")
        return original(messages)

    model.responder = respond
    runner = new_show(settings, "Compute", search=search, checkpointer=saver, model=model)
    list(runner.run())
    state = runner.graph.get_state(runner.config)
    assert state.next == ("speak",) and state.values["next_turn"] is not None
    _rename_channel(saver, runner.config, "next_turn", "next")
    assert "next_turn" not in runner.graph.get_state(runner.config).values
    model.responder = original
    stopped = DebateStore(settings.out_dir).load(runner.debate.id)
    resumed = resume_show(
        settings, runner.debate.id, search=search, checkpointer=saver, model=model
    )
    list(resumed.run())
    final = resumed.debate
    assert final.status == "finished" and len(final.turns) == 12
    assert [t.index for t in final.turns] == list(range(12))
    assert [t.text for t in final.turns[: len(stopped.turns)]] == [t.text for t in stopped.turns]
    assert final.turns[len(stopped.turns)].speaker_id == state.values["next_turn"].speaker_id


def test_a_closing_without_a_challenge_recaps_each_panelists_latest_claim():
    from types import SimpleNamespace

    from graphs.nodes import _recapped
    from graphs.state import NextTurn
    from tests.tui_fixtures import claimed_debate

    debate = claimed_debate()
    turns = []
    for t in debate.turns:  # every reply builds on the claim before it
        if t.claim is not None and t.claim.move == "challenge":
            t = t.model_copy(update={"claim": t.claim.model_copy(update={"move": "extend"})})
        turns.append(t)
    ctx = SimpleNamespace(host=SimpleNamespace(id="host"))
    got = _recapped({"turns": turns}, ctx, NextTurn(speaker_id="host", kind="closing"))
    claimed = [t for t in turns if t.claim is not None]
    latest = {t.speaker_id: t.index for t in claimed}
    assert [i for i, _ in got] == sorted(latest.values())
    assert len(latest) > 1 and any(t.index not in latest.values() for t in claimed)
