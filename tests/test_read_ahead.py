"""Reading the next prompt ahead: what the graph guesses, what a wrong guess costs, the
passages a turn is given, and what a reply searches with."""

from __future__ import annotations

import re
import time

import pytest

from agents.llm.scripted import ScriptedModel
from graphs.runner import new_show
from tests.conftest import StubSearch, varied
from transcripts.models import Citation, Passage, Turn


def passages(n: int) -> list[Passage]:
    return [
        Passage(
            source_id="panel",
            chunk_id=f"panel:{10 * i}-{10 * i + 1}:x",
            line_start=10 * i,
            line_end=10 * i + 1,
            text=f"資料その{i}。",
            score=1.0 - i / 100,
            # every other note reports what Sam Altman said: the simulated persona's to claim
            gloss=f"Sam Altman said note number {i} on chips and power matters."
            if i % 2 == 0
            else f"Note number {i} on chips and power.",
        )
        for i in range(1, n + 1)
    ]


CLAIMED = re.compile(r'Your point, from the show \(line [\d-]+\): "(.*)"')


class ReadingModel(ScriptedModel):
    """A scripted model that keeps per-speaker contexts: it records the persona cards it
    is prepared with and every read-ahead guess, taken at once."""

    def __init__(self) -> None:
        counter = {"n": 0}

        def respond(messages) -> str:
            counter["n"] += 1
            n = counter["n"]
            claimed = CLAIMED.search(messages[-1]["content"])
            if claimed:  # a panelist says its claim, as the bundled model mostly does
                return claimed.group(1)
            return f"Point {n}: chips factories {n * 7} energy fusion {n * 13} wages {n * 17}."

        super().__init__(responder=respond)
        self.cards: dict[str, list] = {}
        self.guesses: list[tuple[int, str, list]] = []  # (calls before it, slot, head)

    def prepare(self, heads) -> None:
        self.cards = dict(heads)

    def read_ahead(self, slot, head) -> None:
        self.guesses.append((len(self.history), slot, head()))


def show(settings, saver, model, **changes):
    runner = new_show(
        settings.model_copy(update={"agenda": "standard", **changes}),
        "Compute as the new currency",
        search=StubSearch(passages(8)),
        checkpointer=saver,
        model=model,
    )
    list(runner.run())
    return runner


@pytest.mark.parametrize("reply_search", ["question", "claim", "tail"])
def test_each_guess_is_the_beginning_of_the_prompt_that_follows(settings, saver, reply_search):
    """Round-robin: during every turn but the last, the next speaker's context is read up
    to the previous speaker's line: the prompt that turn then gets starts with exactly
    that text. Where the next turn's passages are searched with this turn's text (tail),
    the guess stops after the question; a reply searched with this turn's claim (claim)
    is known in full, since the claim is chosen before the turn is spoken."""
    model = ReadingModel()
    runner = show(settings, saver, model, reply_search=reply_search)
    turns = runner.debate.turns
    calls = [c for c in model.history if c.schema is None]
    # the host's turns come from its templates (opening, questions) and recap the claims
    # made (summaries, closing): on this small budget only the panel's turns ask the model
    spoken = [t for t in turns if t.voiced_by == "model"]
    assert len(calls) == len(spoken) == 6
    assert all(t.speaker_id != "host" for t in spoken)
    assert {slot for _, slot, _ in model.guesses} == {"economist", "altman", "futurist"}
    followed = sum(1 for a, b in zip(turns, turns[1:], strict=False) if a in spoken and b in spoken)
    assert len(model.guesses) == followed
    for made, slot, head in model.guesses:
        # made during call `made` (the turn being decoded), for the call after it
        then = calls[made + 1]
        assert then.slot == slot
        assert then.messages[0] == head[0]
        user, guessed = then.messages[1]["content"], head[1]["content"]
        assert user.startswith(guessed) and len(guessed) > 40
        rest = user[len(guessed) :]
        previous = spoken[made]
        speaker = next(p.name for p in runner.panel if p.id == previous.speaker_id)
        if reply_search != "tail" or spoken[made + 1].kind != "rebuttal":
            # a panelist's claim is known before the turn it follows is spoken
            assert "Your point, from the show" in guessed and rest.startswith(f"{speaker} said:")
        else:
            assert "Your point" not in guessed and rest.startswith("\nYour point")
    # every speaker's card was read when the model was prepared
    assert set(model.cards) == {"host", "host/ask", "altman", "economist", "futurist"}
    for call in calls:
        assert call.messages[0] == model.cards[call.slot][0]


def test_other_policies_are_not_guessed(tmp_path, saver):
    """host-directed asks a model who speaks next: nothing is read ahead."""
    from settings import Settings

    model = ReadingModel()
    settings = Settings(data_dir=tmp_path / "d", out_dir=tmp_path / "o", turns=8)
    show(settings, saver, model, policy="host-directed")
    assert model.guesses == []


def test_a_turn_is_given_passages_the_last_turn_was_not():
    from graphs.nodes import _prefer_fresh

    found = passages(7)
    last = Turn(index=2, speaker_id="altman", kind="argument", text="x", passages=found[:2])
    before = Turn(
        index=1,
        speaker_id="economist",
        kind="argument",
        text="y",
        passages=[found[2]],
        citations=[Citation(source_id="panel", line_start=30, line_end=30)],
    )
    # given to the last turn, or holding a line cited in the turns before it: passed over
    assert _prefer_fresh(found, [before, last], 2, "host") == [found[3], found[4]]
    # nothing fresh left: the best of the rest fill in
    assert _prefer_fresh(found[:3], [before, last], 2, "host") == [found[0], found[1]]
    # the host's turns take nothing from the panel: what they were given or cited stays
    opening = before.model_copy(update={"speaker_id": "host", "kind": "opening"})
    question = last.model_copy(update={"speaker_id": "host", "kind": "question"})
    assert _prefer_fresh(found, [opening, question], 2, "host") == found[:2]


def test_reply_search_auto_leaves_the_turns_of_the_bundled_model_out(settings):
    from agents.llm.embedded import BUNDLED_NAME
    from graphs.runner import reply_search_mode

    small, other = ScriptedModel(name=BUNDLED_NAME), ScriptedModel(name="gpt-4o-mini")
    assert reply_search_mode(settings, small) == "question"
    assert reply_search_mode(settings, other) == "claim"
    assert reply_search_mode(settings.model_copy(update={"reply_search": "tail"}), small) == "tail"


def test_the_choice_is_saved_and_replies_search_with_the_question_alone(settings, saver):
    from transcripts.models import RunSettings

    search = StubSearch(passages(8))
    runner = new_show(
        settings.model_copy(update={"reply_search": "question", "agenda": "standard"}),
        "Compute as the new currency",
        search=search,
        checkpointer=saver,
        model=ReadingModel(),
    )
    list(runner.run())
    assert runner.debate.settings.reply_search == "question"
    questions = {s.question for s in runner.debate.agenda}
    topic = "Compute as the new currency"
    # every search is a question of the agenda (the opening and closing put the topic first)
    assert all(q.removeprefix(topic + " ") in questions for q in search.queries)
    # debates saved before the choice existed searched with the end of the turn answered
    assert RunSettings(backend="embedded", model="m").reply_search == "tail"


class PartsSearch(StubSearch):
    """A stub search that keeps each query as the graph handed it (text or parts)."""

    def __init__(self, found: list[Passage]) -> None:
        super().__init__(found)
        self.given: list[str | tuple[str, ...]] = []

    def __call__(self, query, k, sources=None):
        self.given.append(query)
        return super().__call__(query, k, sources)


def test_a_reply_searches_with_the_question_and_the_claim_it_answers(settings, saver):
    """`claim`: a rebuttal's search is two parts, the segment question and the claim of
    the turn it answers, so replies in many debates that answer one claim share its
    encoding; the opening's is the topic and the question; no search holds a turn's own
    words, only questions and claims."""
    search = PartsSearch(passages(8))
    runner = new_show(
        settings.model_copy(update={"reply_search": "claim", "agenda": "standard"}),
        "Compute as the new currency",
        search=search,
        checkpointer=saver,
        model=varied(),
    )
    list(runner.run())
    turns = runner.debate.turns
    agenda = runner.debate.agenda
    replies = [
        (agenda[t.segment].question, turns[t.index - 1].claim.text)
        for t in turns
        if t.kind == "rebuttal" and turns[t.index - 1].claim is not None
    ]
    assert replies  # the debate has replies to claims
    assert all(reply in search.given for reply in replies)
    assert ("Compute as the new currency", agenda[0].question) in search.given
    questions = {s.question for s in agenda}
    claims = {t.claim.text for t in turns if t.claim is not None}
    for query in search.given:
        assert query[0] in questions or query[1] in questions  # the opening: topic first
        assert len(query) == 1 or query[-1] in claims or query[0] not in questions


def test_a_reply_to_a_turn_without_a_claim_searches_with_its_end():
    from graphs.nodes import QUERY_TAIL, _query
    from graphs.state import NextTurn
    from transcripts.models import Claim, Segment

    claim = Claim(source_id="panel", line_start=10, line_end=10, text="Compute is money.")
    said = "Well. " * 40 + "So the price of a GPU hour is the real interest rate."
    turn = Turn(index=1, speaker_id="altman", kind="argument", text=said, claim=claim)
    state = {
        "topic": "Compute",
        "agenda": [Segment(title="a", question="Who owns compute?", turns=2)],
        "segment": 0,
        "turns": [turn],
    }
    reply = NextTurn(speaker_id="economist", kind="rebuttal")
    assert _query(state, reply, "claim") == ("Who owns compute?", "Compute is money.")
    assert _query(state, reply, "question") == ("Who owns compute?",)
    (question, tail) = _query(state, reply, "tail")
    assert said.endswith(tail) and len(tail) <= QUERY_TAIL
    # a turn that made no claim (the host's, or one with no claimable sentence): its end
    state["turns"] = [turn.model_copy(update={"claim": None})]
    assert _query(state, reply, "claim") == _query(state, reply, "tail")
    # a turn that is not a reply searches with the question whatever the mode
    argument = NextTurn(speaker_id="economist", kind="argument")
    assert _query(state, argument, "claim") == ("Who owns compute?",)


# -- the embedded model ---------------------------------------------------------------------

CARD = {"role": "system", "content": "You are Keiko Tanabe, a macroeconomist on a TV panel."}


def turn(note: str) -> list:
    return [
        CARD,
        {
            "role": "user",
            "content": f'Question: Is compute money?\nSource (lines 3-4): "{note}"\n'
            'Sam Altman said: "Compute is the currency of the future."\n'
            "Reply to Sam Altman: say where you disagree, and why.",
        },
    ]


@pytest.mark.e2e
def test_a_guess_right_or_wrong_leaves_the_reply_as_it_was(monkeypatch):
    """A slot read ahead with the right beginning, or with a wrong one, gives the same
    greedy reply as a slot read from scratch; the right guess is held in the slot."""
    import workload
    from agents.llm.base import Sampling, complete
    from agents.llm.embedded import EmbeddedModel

    # Reads ahead whatever else runs on the machine (a busy machine skips them).
    monkeypatch.setattr(workload.machine, "threads", lambda most: most)

    model = EmbeddedModel()
    if model.decode_threads >= model.n_threads:
        pytest.skip("no core to spare for reading ahead")
    card = [CARD, {"role": "user", "content": ""}]  # a persona card, read when prepared
    model.prepare({"scratch": card, "right": [], "wrong": [], "busy": []})
    held = model.call(lambda llm: list(llm._input_ids), slot="scratch")
    assert held == model.call(lambda llm: model._head_tokens(llm, card), slot="scratch")
    assert model.call(lambda llm: llm.n_tokens, slot="right") == 0
    greedy = Sampling(temperature=0.0, max_tokens=24)
    prompt = turn("Compute resources will become the new currency.")
    reference = complete(model, prompt, greedy, slot="scratch").text

    def head(note: str):
        messages = turn(note)
        content = messages[1]["content"]
        return [
            messages[0],
            {"role": "user", "content": content[: content.index("Sam Altman said")]},
        ]

    for slot, note in (
        ("right", "Compute resources will become the new currency."),
        ("wrong", "Better to be ruled by a benevolent dictator."),
    ):
        before = model.read_ahead_tokens
        model.read_ahead(slot, lambda n=note: head(n))
        # the guess is read while another reply is decoded
        complete(
            model,
            [{"role": "user", "content": "Say something long."}],
            Sampling(temperature=0.0, max_tokens=60),
            slot="busy",
        )
        deadline = time.monotonic() + 30
        while model.read_ahead_tokens == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert model.read_ahead_tokens > before
        if slot == "right":
            held = model.call(lambda llm: list(llm._input_ids), slot="right")
            guessed = head(note)
            want = model.call(lambda llm, g=guessed: model._head_tokens(llm, g), slot="right")
            assert held == want
        assert complete(model, prompt, greedy, slot=slot).text == reference
    model.close()
