"""What a turn starts from: the persona cards a model is prepared with, the passages a
turn is given, and what a reply searches with."""

from __future__ import annotations

import re

import pytest

from agents.claims import aspects_of
from agents.llm.scripted import ScriptedModel
from core.models import Citation, Passage, Turn
from graphs.runner import new_show
from tests.conftest import StubSearch, varied


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


class PreparedModel(ScriptedModel):
    """A scripted model that keeps per-speaker contexts: it records the persona cards it
    is prepared with. A panelist says its claim, as the bundled model mostly does."""

    def __init__(self) -> None:
        counter = {"n": 0}

        def respond(messages) -> str:
            counter["n"] += 1
            n = counter["n"]
            claimed = CLAIMED.search(messages[-1]["content"])
            if claimed:
                return claimed.group(1)
            return f"Point {n}: chips factories {n * 7} energy fusion {n * 13} wages {n * 17}."

        super().__init__(responder=respond)
        self.cards: dict[str, list] = {}

    def prepare(self, heads) -> None:
        self.cards = dict(heads)


def test_every_speaker_is_prepared_with_the_card_its_prompts_start_with(settings, saver):
    model = PreparedModel()
    runner = new_show(
        settings.model_copy(update={"agenda": "standard"}),
        "Compute as the new currency",
        search=StubSearch(passages(8)),
        checkpointer=saver,
        model=model,
    )
    list(runner.run())
    calls = [c for c in model.history if c.schema is None]
    assert set(model.cards) == {"host", "altman", "economist", "futurist"}
    assert calls and {c.slot for c in calls} <= set(model.cards)
    for call in calls:
        assert call.messages[0] == model.cards[call.slot][0]


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
    from agents.llm.base import SMALL
    from graphs.runner import reply_search_mode

    small, other = ScriptedModel(capabilities=SMALL), ScriptedModel(name="gpt-4o-mini")
    assert reply_search_mode(settings, small) == "question"
    assert reply_search_mode(settings, other) == "claim"
    assert reply_search_mode(settings.model_copy(update={"reply_search": "tail"}), small) == "tail"


def test_the_choice_is_saved_and_replies_search_with_the_question_alone(settings, saver):
    from core.models import RunSettings

    search = StubSearch(passages(8))
    runner = new_show(
        settings.model_copy(update={"reply_search": "question", "agenda": "standard"}),
        "Compute as the new currency",
        search=search,
        checkpointer=saver,
        model=PreparedModel(),
    )
    list(runner.run())
    assert runner.debate.settings.reply_search == "question"
    questions = {s.question for s in runner.debate.agenda}
    topic = "Compute as the new currency"
    # every search is a question of the agenda (the opening and closing put the topic
    # first; a panelist's adds the words of what the question is about, `aspects_of`)
    asked = questions | {f"{q} {aspects_of(q)}" for q in questions}
    assert all(q.removeprefix(topic + " ") in asked for q in search.queries)
    assert any(aspects_of(q) and f"{q} {aspects_of(q)}" in search.queries for q in questions)
    # debates saved before the choice existed searched with the end of the turn answered
    assert RunSettings(backend="embedded", model="m").reply_search == "tail"


# -- the embedded model ---------------------------------------------------------------------

CARD = {"role": "system", "content": "You are Keiko Tanabe, a macroeconomist on a TV panel."}


@pytest.mark.e2e
def test_a_prepared_card_leaves_the_reply_as_it_was():
    """A context prepared with a persona card holds exactly the card's tokens, and gives
    the same greedy reply as a context read from scratch."""
    from agents.llm.base import Sampling, complete
    from agents.llm.embedded import EmbeddedModel

    model = EmbeddedModel()
    card = [CARD, {"role": "user", "content": ""}]
    model.prepare({"prepared": card, "scratch": []})
    held = model.call(lambda llm: list(llm._input_ids), slot="prepared")
    assert held == model.call(lambda llm: model._head_tokens(llm, card), slot="prepared")
    assert model.call(lambda llm: llm.n_tokens, slot="scratch") == 0
    prompt = [
        CARD,
        {
            "role": "user",
            "content": 'Question: Is compute money?\nSam Altman said: "Compute is the currency '
            'of the future."\nReply to Sam Altman: say where you disagree, and why.',
        },
    ]
    greedy = Sampling(temperature=0.0, max_tokens=24)
    reference = complete(model, prompt, greedy, slot="scratch").text
    assert complete(model, prompt, greedy, slot="prepared").text == reference
    model.close()


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
    # (a panelist's search ends on the words of what the question is about, `aspects_of`)
    given = [
        q[:-1] if len(q) > 1 and q[-1] == aspects_of(q[0]) else q
        for q in search.given
        if isinstance(q, tuple)
    ]
    assert all(reply in given for reply in replies)
    assert ("Compute as the new currency", agenda[0].question) in given
    questions = {s.question for s in agenda}
    claims = {t.claim.text for t in turns if t.claim is not None}
    for query in given:
        assert query[0] in questions or query[1] in questions  # the opening: topic first
        assert len(query) == 1 or query[-1] in claims or query[0] not in questions


def test_a_reply_to_a_turn_without_a_claim_searches_with_its_end():
    from core.models import Claim, Segment
    from graphs.nodes import QUERY_TAIL, _query
    from graphs.state import NextTurn

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
