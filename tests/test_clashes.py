"""Clashes and questions: a reply is introduced as pushing back only when the source's
opposition chart sets its claim against the one it answers; a reply can reach the line
that opposes; a segment's question picks the lines that answer it, not the topic's."""

from __future__ import annotations

import logging

import pytest

from agents.claims import (
    Previous,
    choose_claim,
    move_of,
    question_terms,
    reported_in,
)
from agents.personas import load_personas
from core.claims import ClaimBook, pieces, tidy
from core.errors import UserError
from tests.conftest import SOURCE
from tests.test_claims import passage
from transcripts.claims import _opposed, opposition_path, read_book

SID = "compute_resource_ism_panel"
PANEL = load_personas()
TOPIC = "Compute as the new currency: what happens if one AI holds 51% of all compute?"


@pytest.fixture(scope="module")
def book() -> ClaimBook:
    return read_book({SID: SOURCE})


def claim_of(book: ClaimBook, line: int, words: str, persona: str = "futurist"):
    """The claim `persona` makes of the sentence on `line` that holds `words`."""
    made = choose_claim(PANEL[persona], [passage(book, line)], language="en", question="?",
                        book=book, used=_others(book, line, words))  # fmt: skip
    assert made is not None and words in made.text, made
    return made


def _others(book: ClaimBook, line: int, words: str) -> set:
    keys = set()
    for s in book.of_source(SID):
        if s.line == line and words not in (s.gloss or ""):
            keys.add(s.claim("en").key)
    return keys


# -- the chart ------------------------------------------------------------------------------------
def test_the_bundled_chart_is_read_and_is_symmetric(book):
    allow = claim_of(book, 25, "US government wouldn't allow it", "economist")
    god = claim_of(book, 30, "benevolent god")
    assert book.charts(SID)
    assert book.opposes(allow, god) and book.opposes(god, allow)
    assert [s.line for s, _ in book.opponents(allow)] == [30]
    assert [(s.line, s.order) for s, _ in book.opponents(god)] == [(25, 5), (25, 10)]
    # nor is line 44's "compute in a distributed state" against line 30's benevolent god:
    # both fear one ruler, and a blind reader found the clash empty
    distributed = claim_of(book, 44, "distributed", "economist")
    assert not book.opposes(god, distributed)
    # Lines that follow on one another are not charted against each other: line 26 ("…a
    # single company had more money than a nation…") answers line 25's "only America
    # or China" in the same vein, and blind readers called a clash of the two staged.
    race = claim_of(book, 25, "America takes it or China takes it")
    assert not book.opposes(race, claim_of(book, 26, "a single company", "economist"))
    assert not book.opposes(race, claim_of(book, 27, "rather than a nation", "economist"))


def test_a_part_of_a_long_sentence_is_opposed_only_where_the_chart_names_it(tmp_path):
    # Line 18 gives several claims: a chart may set one of them ("…one giant
    # ultra-intelligence… 51%") against line 44's distributed compute, and not another
    # ("in a capitalist economy… very hard").
    source = tmp_path / "show.ja.txt"
    source.write_text(SOURCE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "show.ja.gloss.en.jsonl").write_text(
        (SOURCE.parent / "compute_resource_ism_panel.ja.gloss.en.jsonl").read_text("utf-8"),
        encoding="utf-8",
    )
    opposition_path(source).write_text(
        '{"line": 18, "sentence": 0, "part": "ultra-intelligence", '
        '"opposes": {"line": 44, "sentence": 1}, "why": "one AI, against: distributed"}\n',
        encoding="utf-8",
    )
    charted = read_book({"show": source})
    asi, capitalist = None, None
    for s in charted.of_source("show"):
        if s.line == 18 and s.order == 0:
            for piece in pieces(s.shown("en")):
                made = s.claim("en").model_copy(update={"text": piece})
                if "ultra-intelligence" in piece:
                    asi = made
                elif "capitalist economy" in piece:
                    capitalist = made
    (distributed,) = [
        s.claim("en") for s in charted.of_source("show") if s.line == 44 and s.order == 1
    ]
    assert asi is not None and capitalist is not None
    assert charted.opposes(asi, distributed) and charted.opposes(distributed, asi)
    assert not charted.opposes(capitalist, distributed)
    assert [row[1] for row in charted.opponents(distributed)] == ["ultra-intelligence"]
    _opposed.cache_clear()


def test_a_bad_chart_row_names_the_file_and_the_row(tmp_path, caplog):
    source = tmp_path / "show.ja.txt"
    source.write_text(SOURCE.read_text(encoding="utf-8"), encoding="utf-8")
    chart = opposition_path(source)
    assert chart.name == "show.ja.opposed.jsonl"
    good = '{"line": 25, "sentence": 11, "opposes": {"line": 27, "sentence": 0}, "why": "x"}'
    chart.write_text(good + "\n[1, 2]\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"show\.ja\.opposed\.jsonl: line 2: not an opposition row"):
        _opposed(str(source), "show")
    chart.write_text(
        '{"line": 25, "sentence": 40, "opposes": {"line": 27, "sentence": 0}, "why": "x"}\n',
        encoding="utf-8",
    )
    _opposed.cache_clear()
    with pytest.raises(UserError, match="line 1: the source has no sentence 40 on line 25"):
        _opposed(str(source), "show")
    # The book still holds the source's sentences; only the chart is left out, with a word.
    _opposed.cache_clear()
    with caplog.at_level(logging.WARNING):
        loaded = read_book({"show": source})
    assert loaded.of_source("show") and not loaded.charts("show")
    assert "no sentence 40 on line 25" in caplog.text
    _opposed.cache_clear()


# -- moves ----------------------------------------------------------------------------------------
def test_a_line_that_only_negates_something_does_not_push_back(book):
    # The blind reads' case: "money as we know it … no longer holds up" was introduced as
    # pushing back on "one AI could hold 51%": it negates, but opposes nothing said.
    asi = claim_of(book, 20, "world hegemony")
    money = claim_of(book, 51, "no longer holds up", "economist")
    made = Previous(PANEL["futurist"], asi, 3)
    assert move_of(money, PANEL["economist"], made, "en", book) == "extend"
    # Without the chart the old test, negation and side, calls it a challenge.
    assert move_of(money, PANEL["economist"], made, "en") == "challenge"


def test_a_reply_takes_the_line_the_chart_sets_against_the_claim(book):
    god = claim_of(book, 30, "benevolent god")
    made = Previous(PANEL["futurist"], god, 4)
    found = [passage(book, 31), passage(book, 25)]
    reply = choose_claim(PANEL["economist"], found, language="en", question="Who gains power?",
                         previous=made, used={god.key}, book=book)  # fmt: skip
    assert reply is not None and reply.line_start == 25 and reply.move == "challenge", reply
    assert "US government wouldn't allow it" in reply.text and reply.answers == 4
    # With no opposed line in its passages, the reply builds on the claim.
    other = choose_claim(PANEL["economist"], [passage(book, 31)], language="en",
                         question="Who gains power?", previous=made, used={god.key},
                         book=book)  # fmt: skip
    assert other is not None and other.move == "extend"


def test_the_graph_brings_the_opposed_line_into_the_reply(settings, saver):
    """The reply's own search never returns line 25; the chart sets its "the US
    government wouldn't allow it" against the futurist's line 30 ("…even a country like
    America couldn't stop it"), so the reply searches for it and argues it."""
    from graphs.runner import new_show
    from tests.conftest import StubSearch, varied

    book = read_book({SID: SOURCE})
    god, allow = passage(book, 30), passage(book, 25)

    class Source(StubSearch):
        def __call__(self, query, k, sources=None):
            super().__call__(query, k, sources)
            if isinstance(query, str) and "wouldn't allow it" in query:
                return [allow]
            return [god]

    search = Source([])
    search.book = book
    runner = new_show(
        settings.model_copy(update={"agenda": "standard", "turns": 4, "seed": 0}),
        "Who rules the world?",
        search=search,
        checkpointer=saver,
        model=varied(),
        persona_ids=["host", "futurist", "economist"],
    )
    list(runner.run())
    panel = [t for t in runner.debate.turns if t.claim is not None]
    assert [t.speaker_id for t in panel[:2]] == ["futurist", "economist"], panel
    first, reply = panel[0].claim, panel[1].claim
    assert first is not None and reply is not None
    assert first.line_start == 30 and reply.line_start == 25 and reply.move == "challenge"
    assert "wouldn't allow it" in reply.text
    assert any(p.line_start == 25 for p in panel[1].passages)  # cited from its passage


def test_a_recap_says_pushed_back_only_right_after_the_claim_answered(book):
    from agents.claims import in_sequence, recap

    race = claim_of(book, 30, "benevolent god")
    company = claim_of(book, 25, "US government wouldn't allow it", "economist").model_copy(
        update={"move": "challenge", "answers": 4}
    )
    money = claim_of(book, 51, "no longer holds up", "economist").model_copy(
        update={"move": "extend", "answers": 1}
    )

    def said(made):
        names = {4: "Ren Kurosawa", 5: "Keiko Tanabe", 9: "Keiko Tanabe"}
        return recap([(names[i], c) for i, c in in_sequence(made)], "en")

    assert "Keiko Tanabe pushed back" in said([(4, race), (5, company)])
    # a closing's side-by-side claims: turn 9 answered turn 1, which the recap leaves out
    text = said([(4, race), (9, money)])
    assert "Keiko Tanabe argued" in text and "built on" not in text


# -- the question ---------------------------------------------------------------------------------
def test_a_question_asks_what_it_adds_to_the_topic():
    own, about = question_terms("What would “Compute as the new currency” mean for ordinary "
                                "people?", TOPIC)  # fmt: skip
    assert "peopl" in own and "comput" not in own and "currenc" not in own
    assert {"poor", "rich"} <= about
    # The topic's own question asks all of its words.
    own, _ = question_terms("What happens if one AI holds 51% of all compute?", TOPIC)
    assert {"51", "comput"} <= own


def test_ordinary_people_are_answered_with_the_poor_not_the_51_percent(book):
    found = [passage(book, 18), passage(book, 31), passage(book, 51)]
    question = "What would “Compute as the new currency” mean for ordinary people?"
    made = choose_claim(PANEL["economist"], found, language="en", question=question,
                        book=book, topic=TOPIC, panel=list(PANEL.values()))  # fmt: skip
    assert made is not None and made.line_start == 31 and "poor" in made.text, made.text


def test_the_question_words_beyond_the_topic_go_into_the_panel_search():
    from core.models import Segment
    from graphs.nodes import _query
    from graphs.state import NextTurn

    state = {
        "topic": TOPIC,
        "agenda": [
            Segment(title="t", question="What would it mean for ordinary people?", turns=2)
        ],  # fmt: skip
        "segment": 0,
        "turns": [],
    }
    parts = _query(state, NextTurn(speaker_id="economist", kind="argument"), "question")
    assert any("poor" in p and "rich" in p for p in parts)
    host = _query(state, NextTurn(speaker_id="host", kind="question"), "question")
    assert not any("poor" in p for p in host)


# -- claims that read on their own ----------------------------------------------------------------
@pytest.mark.parametrize(
    "spoken, said",
    [
        ("Well, exactly — a company may come to rule the world.",
         "A company may come to rule the world."),
        ("It was really that compute resources are what matters most.",
         "Compute resources are what matters most."),
        ("In that second conversation, he finally said compute will replace money.",
         "He finally said compute will replace money."),
        ("So, so that things don't swing into dystopia, compute should be distributed.",
         "So that things don't swing into dystopia, compute should be distributed."),
    ],
)  # fmt: skip
def test_tidy_drops_what_only_frames_a_claim(spoken, said):
    assert tidy(spoken) == said


def test_a_long_sentence_with_no_semicolon_loses_its_closing_frame(book):
    (long,) = [s for s in book.of_source(SID) if s.line == 48]
    # 64 words as spoken; cut at its dash, and the closing frame ("— that's what I
    # meant") is dropped
    (found,) = pieces(long.shown("en"))
    assert "qualitative superiority" in found and found.endswith("dominating everything.")


def test_he_is_the_person_named_last_a_few_sentences_before(book):
    # Line 10 ("…to make that happen he is pushing forward with nuclear fusion
    # reactors…") comes three sentences after line 8 names Sam Altman.
    lines = {s.line for s in reported_in(book, PANEL["altman"], "en")}
    assert {3, 8, 10} <= lines
    assert 25 not in lines and 31 not in lines
    made = choose_claim(PANEL["altman"], [passage(book, 10)], language="en", question="?",
                        book=book, panel=list(PANEL.values()))  # fmt: skip
    assert made is not None and "fusion" in made.text


@pytest.mark.parametrize(
    "question, said",
    [
        ("Who would gain power?", "Ren Kurosawa, who would gain power?"),
        ("If the answer were yes, what would it mean for ordinary people?",
         "Ren Kurosawa, if the answer were yes, what would it mean for ordinary people?"),
        ("US-China: who wins?", "Ren Kurosawa, US-China: who wins?"),
    ],
)  # fmt: skip
def test_the_host_puts_the_question_to_a_panelist_mid_sentence(question, said):
    from agents.speaker import TurnRequest, _template

    req = TurnRequest(index=4, kind="question", topic="t", question=question, language="en",
                      passages=[], first="Ren Kurosawa")  # fmt: skip
    assert _template(req, PANEL["host"]) == said


def test_a_line_in_the_simulated_personas_themes_that_does_not_report_it_is_others(book):
    # Line 16 ("…people all over the world need it, and it is provided universally…")
    # shares four words with the simulated Altman's themes and one with the futurist's,
    # but nobody reports Sam Altman saying it: it is not his to claim, so it does not
    # lean to him, away from the futurist.
    from agents.claims import leans_elsewhere

    panel = list(PANEL.values())
    (universal,) = [s.claim("en") for s in book.of_source(SID) if s.line == 16 and s.order == 0]
    assert not leans_elsewhere(universal, PANEL["futurist"], panel, "en")
    # Where Altman could make it (as a report of him), it would be his.
    as_report = universal.model_copy(
        update={"text": "Sam Altman said that " + universal.text[:1].lower() + universal.text[1:]}
    )
    assert leans_elsewhere(as_report, PANEL["futurist"], panel, "en")


def test_a_long_part_is_cut_at_its_dashes():
    filler = " ".join(["compute"] * 34)
    text = f"Capital will stay {filler} for decades — yet a single AI could {filler} hold it all."
    found = pieces(text)
    assert len(found) == 2 and found[0].startswith("Capital will stay")
    assert found[1].startswith("Yet a single AI")


def test_each_segment_opens_with_the_panelist_its_question_speaks_to(settings, saver):
    """Round-robin: the headline question ("…if one AI holds 51%…") goes to the futurist
    whose stance it is, not to the first persona file; the ordinary-people question to
    the economist (poor, rich, basic income); whoever the host asks answers; the one who
    spoke last does not open the next segment."""
    from graphs.runner import new_show
    from tests.conftest import StubSearch, varied

    book = read_book({SID: SOURCE})
    search = StubSearch([passage(book, line) for line in (18, 31, 25, 43, 8)])
    search.book = book
    runner = new_show(
        settings.model_copy(update={"agenda": "standard", "turns": 12, "seed": 0}),
        TOPIC,
        search=search,
        checkpointer=saver,
        model=varied(),
    )
    list(runner.run())
    turns = runner.debate.turns
    panel = [t for t in turns if t.speaker_id != "host"]
    assert panel[0].speaker_id == "futurist"
    asked = [t for t in turns if t.speaker_id == "host" and t.kind in ("opening", "question")]
    for question in asked:
        assert turns[question.index + 1].speaker_id == question.addressed_to
    openers = [turns[q.index + 1].speaker_id for q in asked]
    assert openers[1] == "economist", openers
    for question in asked[1:]:  # never the panelist who spoke last before the question
        before = [t for t in turns[: question.index] if t.speaker_id != "host"]
        assert turns[question.index + 1].speaker_id != before[-1].speaker_id


def test_a_simulated_persons_claim_is_marked_as_the_shows_report_wherever_shown(book):
    """Blind readers took "I am pushing forward with nuclear fusion reactors" for words
    put in the real person's mouth: the show only reports him. His claims carry
    `reported`, no lead-in, and each view says so beside the lines."""
    from agents.claims import lead
    from cli import turn_mark
    from core.models import Turn
    from episodes.export import to_markdown
    from tui.widgets.turn_block import turn_note

    panel = list(PANEL.values())
    made = choose_claim(PANEL["altman"], [passage(book, 8)], language="en", question="?",
                        book=book, panel=panel)  # fmt: skip
    assert made is not None and made.reported
    other = claim_of(book, 25, "America takes it or China takes it")
    assert not other.reported
    reply = made.model_copy(update={"move": "extend", "answers": 1})
    assert lead(reply, "en", 2) == "" and lead(other.model_copy(update={"move": "extend"}),
                                                 "en", 2)  # fmt: skip
    turn = Turn(index=2, speaker_id="altman", kind="argument", text="What I am saying…",
                citations=[made.citation()], claim=made)  # fmt: skip
    assert "quoted from the show's report of the real person's words" in turn_mark(turn)
    assert "quoted from the show's report of the real person's words" in turn_note(turn)
    plain = turn.model_copy(update={"claim": other, "speaker_id": "futurist"})
    assert "report" not in turn_mark(plain) and "report" not in turn_note(plain)
    from tests.tui_fixtures import claimed_debate

    debate = claimed_debate()
    i = next(t.index for t in debate.turns if t.claim is not None)
    claim = debate.turns[i].claim.model_copy(update={"reported": True})  # type: ignore[union-attr]
    debate.turns[i] = debate.turns[i].model_copy(update={"claim": claim})
    mark = "quoted from the show's report of the real person's words"
    assert mark in to_markdown(debate)
    assert mark not in to_markdown(claimed_debate())


def test_the_host_recaps_a_simulated_persons_claim_as_the_shows_report(book):
    from agents.claims import at_the_table, own_words, recap

    panel = list(PANEL.values())
    made = choose_claim(PANEL["altman"], [passage(book, 8)], language="en", question="?",
                        book=book, panel=panel)  # fmt: skip
    said = at_the_table(made, PANEL["altman"], panel, "en")
    assert said is not None and said.text.startswith("As the show reported it: ")
    words = own_words(said.text, said, "en")  # the turn's words, without the report's lead
    assert words == made.text
    text = recap([("Sam Altman (simulated)", said.model_copy(update={"text": words}))], "en")
    assert text.startswith("Sam Altman (simulated) quoted the show's report: “What Sam Altman")
    assert "argued" not in text
