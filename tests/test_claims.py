"""Claim-first turns: which sentence of the source a turn claims, how a model voices it,
what every draft is checked for, and what a turn says when no draft passes."""

from __future__ import annotations

import json
import re

import pytest

from agents.claims import (
    Previous,
    at_the_table,
    choose_claim,
    gist,
    lead,
    move_of,
    own_words,
    recap,
    stated,
)
from agents.llm.scripted import ScriptedModel
from agents.personas import load_personas
from agents.speaker import (
    ClaimFocus,
    Judgement,
    TurnRequest,
    budget_for,
    speak,
    words_in_mouth,
)
from core.claims import ClaimBook, claimable, pieces, stands_alone, tidy
from core.models import Claim, Passage, Turn
from tests.conftest import SOURCE
from transcripts.claims import fresh_topics, read_book

SID = "compute_resource_ism_panel"
PANEL = load_personas()
NAMES = [p.name for p in PANEL.values()]
# Lines 25 and 31 of the show: America or China takes it; capitalism's flaw.
RACE = Passage(
    source_id=SID,
    chunk_id=f"{SID}:25-25:x",
    line_start=25,
    line_end=25,
    text="最終的には、アメリカが取るか中国が取るかでしかないわけですよ。",
    gloss="In the end, it's nothing more than whether America takes it or China takes it.",
    score=0.9,
)


@pytest.fixture(scope="module")
def book() -> ClaimBook:
    return read_book({SID: SOURCE})


def passage(book: ClaimBook, start: int, end: int | None = None) -> Passage:
    """A passage of the bundled show: its lines' sentences joined, as the index keeps them."""
    end = end or start
    rows = [s for s in book.of_source(SID) if start <= s.line <= end]
    return Passage(
        source_id=SID,
        chunk_id=f"{SID}:{start}-{end}:t",
        line_start=start,
        line_end=end,
        text="".join(s.text for s in rows),
        gloss=" ".join(s.gloss or "" for s in rows),
        score=1.0,
    )


def claim(text: str, line: int = 25, move: str = "open", **kw) -> Claim:
    return Claim(source_id=SID, line_start=line, line_end=line, text=text, move=move, **kw)


def request(**kw) -> TurnRequest:
    base = dict(
        index=2,
        kind="argument",
        topic="Compute as the new currency",
        question="Who ends up holding the compute?",
        language="en",
        passages=[RACE],
        claim=claim(RACE.gloss.removeprefix("In the end, ")),
    )
    base.update(kw)
    return TurnRequest(**base)


# -- the source's claims -----------------------------------------------------------------------
def test_a_passage_splits_into_its_sentences_each_with_its_line_and_gloss(book):
    got = book.in_passage(passage(book, 25, 26))
    assert {s.line for s in got} == {25, 26}
    assert all(s.gloss for s in got)
    assert any("America takes it or China takes it" in (s.gloss or "") for s in got)
    # a source the book does not know is split from the passage itself
    (alone,) = ClaimBook().in_passage(RACE)
    assert (alone.line, alone.gloss) == (25, RACE.gloss)


def test_what_can_stand_as_a_claim():
    assert claimable("Capitalism itself has a serious flaw: it produces winners and losers.")
    assert not claimable("I see.")  # back-channel
    assert not claimable("What kind of quality is it?")  # a question
    assert claimable("It comes down to whether America takes it or China takes it, doesn't it?")
    assert not claimable("Mr. Saito, you were saying pretty much the same thing, weren't you?")
    assert not claimable("It's just that the video went up a bit later; it got a little delayed.")
    assert not claimable(
        "I do think Sam Altman will do something in that area with Worldcoin, but..."
    )
    # a title before a name talks about the show's own guests, unless the name is the panel's
    assert not claimable("Professor Matsuda may know science fiction of that kind, surely.")
    assert claimable(
        "Compute-resource-ism replaces capitalism, as Mr. Sam Altman said.", names=NAMES
    )
    assert tidy("Well, yes — the question is who gets hold of it.") == (
        "The question is who gets hold of it."
    )
    # "Rather," answered a question the claim no longer follows
    assert tidy("No, rather, in the same way money is used, people all over need it.") == (
        "In the same way money is used, people all over need it."
    )


def test_a_sentence_too_long_for_a_turn_gives_its_parts_between_semicolons():
    long = "; ".join(["one two three four five six seven eight nine ten eleven twelve"] * 6)
    parts = pieces(long + ".")
    assert len(parts) == 6 and all(p.endswith(".") for p in parts)


# -- choosing the claim ---------------------------------------------------------------------------
def test_each_panelist_claims_what_fits_its_themes_and_the_question(book):
    found = [passage(book, 31), passage(book, 25)]
    question = "Who gains power, and who loses it?"
    economist = choose_claim(PANEL["economist"], found, language="en", question=question, book=book)
    futurist = choose_claim(PANEL["futurist"], found, language="en", question=question, book=book)
    assert economist is not None and futurist is not None
    # the economist's line on who loses: the poor, as free competition leaves them
    assert economist.line_start == 31 and "poor" in economist.text.lower()
    assert futurist.line_start == 25 and re.search(r"America|China|US government", futurist.text)
    assert economist.move == futurist.move == "open" and economist.answers is None
    # the claim's lines are its citation
    assert economist.citation().anchor == f"{SID}:31-31"


def test_a_claim_is_made_once_in_a_debate(book):
    found = [passage(book, 31)]
    first = choose_claim(PANEL["economist"], found, language="en", question="Who loses?", book=book)
    assert first is not None
    again = choose_claim(
        PANEL["economist"], found, language="en", question="Who loses?", book=book, used={first.key}
    )
    assert again is not None and again.key != first.key
    everything = {c.key for c in [first, again]}
    while (nxt := choose_claim(PANEL["economist"], found, language="en", question="x",
                               book=book, used=everything)) is not None:  # fmt: skip
        everything.add(nxt.key)
    assert len(everything) >= 2  # every claim of the passage, then none is left


def test_a_reply_takes_its_side_against_the_claim_before_it(book):
    found = [passage(book, 31), passage(book, 25)]
    made = choose_claim(PANEL["futurist"], [passage(book, 25)], language="en", question="Who?",
                        book=book)  # fmt: skip
    assert made is not None
    reply = choose_claim(
        PANEL["economist"],
        found,
        language="en",
        question="Who gains power?",
        previous=Previous(PANEL["futurist"], made, 4),
        used={made.key},
        book=book,
    )
    assert reply is not None and reply.answers == 4
    # its own side (capitalism's flaw, line 31), but it negates nothing the futurist said:
    # it builds on the claim rather than pushing back on it
    assert reply.move == "extend" and reply.line_start == 31


def test_another_seed_may_choose_another_close_claim(book):
    found = [passage(book, 20), passage(book, 25)]

    def chosen(seed: int) -> tuple:
        got = choose_claim(
            PANEL["futurist"], found, language="en", question="What happens next?", book=book,
            seed=seed,
        )  # fmt: skip
        assert got is not None
        return got.key

    assert chosen(0) == chosen(0)  # one seed, one choice
    assert len({chosen(seed) for seed in range(4)}) > 1


# -- voicing it -----------------------------------------------------------------------------------
def test_the_small_budget_gives_the_claim_whole_and_starts_from_its_words():
    futurist = PANEL["futurist"]
    long = claim(
        "Even without waiting for quantum computing, it is entirely possible that a single "
        "AI ends up holding 51% of all computing power, and that changes capitalism."
    )
    model = ScriptedModel(
        responder=lambda m: (
            "quantum computing, a single AI may hold 51% of all computing "
            "power, and that changes capitalism."
        )
    )
    spoken = speak(model, futurist, request(claim=long))
    (call,) = model.history
    assert long.text in call.messages[1]["content"]  # whole, not a 120-character clip
    assert call.sampling.prefix == "Even without waiting for"
    assert call.sampling.max_tokens == budget_for(model).max_tokens == 64
    assert spoken.turn.claim == long and spoken.turn.citations == [long.citation()]
    assert spoken.turn.voiced_by == "model" and not spoken.turn.unsupported


def test_a_draft_that_leaves_most_of_its_claim_unsaid_is_redrafted():
    long = claim(
        "What Sam Altman is saying this time is something separate from cryptocurrency: that "
        "compute resources themselves become money, become currency, that kind of thing."
    )
    drafts = iter(
        [
            "is something separate from cryptocurrency.",  # the point never made
            "is that compute resources themselves become money and currency.",
        ]
    )
    model = ScriptedModel(responder=lambda m: next(drafts))
    spoken = speak(model, PANEL["futurist"], request(claim=long))
    assert len(model.history) == 2
    assert "become money" in spoken.turn.text and spoken.turn.voiced_by == "model"


def test_a_draft_garbled_by_a_word_its_claim_lacks_is_redrafted():
    universal = claim(
        "In the same way money is used in the world — the way money is used right now — "
        "people all over the world need it, and it is provided universally all over the world.",
        16,
    )
    drafts = iter(
        [
            # every content word is the claim's; "what" garbles the sentence
            "In the same way, money is used in the world — what people all over the world need it.",
            # "a", "and" and "may" join or hedge: taken
            "In the same way money is used in the world, people all over the world may need "
            "it, and it is provided universally.",
        ]
    )
    model = ScriptedModel(responder=lambda m: next(drafts))
    spoken = speak(model, PANEL["futurist"], request(claim=universal))
    assert len(model.history) == 2
    assert "what people" not in spoken.turn.text and spoken.turn.voiced_by == "model"
    assert [d.split(" — ")[1] for d in spoken.discarded] == [
        "what people all over the world need it."
    ]
    from agents.speaker import ClaimFocus

    focus = ClaimFocus(universal, "")
    assert focus.strays(spoken.discarded[0], []) == "adds words to its claim (what)"


def test_a_draft_that_drops_where_its_claim_ends_is_redrafted():
    from agents.speaker import ClaimFocus

    company = claim(
        "There's also the possibility that a company, rather than a nation, comes to rule the "
        "world.",
        27,
    )
    focus = ClaimFocus(company, "")
    # a read debate kept this: "the world" gone, "a nation" become "the nation"
    dropped = "There's also the possibility that a company, rather than the nation comes to rule."
    assert focus.strays(dropped, []) == "leaves out where its claim ends (world)"
    assert focus.strays("A company, rather than a nation, may come to rule the world.", []) == ""


def test_a_server_model_gets_the_whole_passages_and_the_last_two_turns():
    economist = PANEL["economist"]
    model = ScriptedModel(
        responder=lambda m: "Whoever holds it sets the rules. That is a monopoly problem.",
        prompt_budget="large",
    )
    history = [
        ("Sam Altman", "Compute will be the currency of the future, shared broadly."),
        ("Ren Kurosawa", "If one AI holds 51% of all compute it effectively rules."),
    ]
    req = request(history=history, previous=history[-1], claim=claim("It comes down to who.",
                  move="challenge", answers=1))  # fmt: skip
    speak(model, economist, req)
    (call,) = model.history
    user = call.messages[1]["content"]
    assert RACE.gloss in user  # the passage whole
    assert all(text in user for _, text in history)  # both earlier turns
    assert "three to five sentences" in user
    assert call.sampling.prefix == "" and call.sampling.max_tokens == 320


def test_a_small_model_is_kept_to_its_claim_in_the_stream_and_the_turn():
    futurist = PANEL["futurist"]
    c = claim("America takes it or China takes it, and whoever holds it rules.", move="challenge")
    opening = lead(c, "en", 2)  # the embedded model's reply starts with its prefix
    reply = (
        f"{opening} America takes it or China takes it. Whoever holds it rules America and "
        "China. The show is a comedy of contrasts!"
    )
    shown: list[str] = []
    req = request(claim=c, previous=("Keiko Tanabe", "x"))
    model = ScriptedModel(responder=lambda m: reply)
    spoken = speak(model, futurist, req, on_token=shown.append)
    assert model.history[0].sampling.prefix == f"{opening} America takes it or"
    kept = f"{opening} America takes it or China takes it. Whoever holds it rules America and " \
        "China."  # fmt: skip
    assert spoken.turn.text == kept
    assert " ".join("".join(shown).split()) == kept  # the stream showed what the turn keeps
    assert ClaimFocus(c, opening).cut(reply) == kept


def test_a_small_model_that_strays_from_its_claim_is_redrafted():
    futurist = PANEL["futurist"]
    c = claim("America takes it or China takes it, and whoever holds it rules.")
    replies = iter(
        [
            "America takes the moon, the stars and every ocean for a theme park.",
            "America takes it or China takes it, Keiko Tanabe rules.",  # names someone
            "America takes it or China takes it, and whoever holds it rules.",
        ]
    )
    discards: list[str] = []
    turn = speak(
        ScriptedModel(responder=lambda m: next(replies)),
        futurist,
        request(claim=c),
        others=["Keiko Tanabe", "Sam Altman"],
        on_discard=discards.append,
    ).turn
    assert discards == ["strays from its claim", "names Keiko Tanabe, whom its claim does not"]
    assert turn.text == c.text and turn.voiced_by == "model"


# -- checking every draft -------------------------------------------------------------------------
def test_a_failing_draft_is_redrafted_then_the_claim_is_stated_plainly():
    altman = PANEL["altman"]
    seen: list[str] = []

    def check(text: str, req: TurnRequest) -> Judgement:
        seen.append(text)
        ok = text.startswith(stated(req.claim, "en", req.index))
        return Judgement(ok, "" if ok else "does not argue from its lines")

    model = ScriptedModel(
        responder=lambda m: "an unrelated tale about the moon.", prompt_budget="large"
    )
    discards: list[str] = []
    spoken = speak(model, altman, request(), check=check, on_discard=discards.append)
    turn = spoken.turn
    assert len(model.history) == budget_for(model).drafts == 3
    assert turn.voiced_by == "template" and not turn.unsupported
    assert turn.text == stated(request().claim, "en", 2)
    assert turn.regenerated == 3 and discards.count("does not argue from its lines") == 3
    assert turn.citations == [request().claim.citation()]


def test_a_claim_that_fails_even_stated_plainly_is_kept_and_marked_unsupported():
    def never(text: str, req: TurnRequest) -> Judgement:
        return Judgement(False, "not in the source: 1960", ("1960",))

    model = ScriptedModel(responder=lambda m: "In 1960 the bank printed gold.")
    turn = speak(model, PANEL["economist"], request(), check=never).turn
    assert turn.unsupported and turn.voiced_by == "template"
    saved = json.loads(turn.model_dump_json())
    assert saved["unsupported"] is True and saved["claim"]["line_start"] == 25


def test_a_draft_that_wanders_is_cut_back_to_the_sentences_that_pass():
    def check(text: str, req: TurnRequest) -> Judgement:
        return Judgement("moon" not in text, "wanders")

    reply = "America takes it or China takes it, whoever holds compute. The moon is cheese."
    model = ScriptedModel(responder=lambda m: reply, prompt_budget="large")
    discards: list[str] = []
    turn = speak(model, PANEL["futurist"], request(), check=check, on_discard=discards.append).turn
    assert turn.text == "America takes it or China takes it, whoever holds compute."
    assert len(model.history) == 1 and discards == ["cut to its first sentences (wanders)"]


def test_a_draft_without_a_finished_sentence_is_redrafted():
    replies = iter(["and then if one AI were to hold 5", "Whoever holds it rules the rest."])
    model = ScriptedModel(responder=lambda m: next(replies), prompt_budget="large")
    turn = speak(model, PANEL["futurist"], request()).turn
    assert turn.text == "Whoever holds it rules the rest." and turn.regenerated == 1


def test_no_words_are_put_in_the_mouth_of_anyone_at_the_table():
    economist = PANEL["economist"]
    others = ["Mika Aoyama", "Sam Altman", "Ren Kurosawa"]
    assert words_in_mouth('Sam Altman said: "we will print compute."', economist, others)
    assert words_in_mouth("As Kurosawa put it, money is dead.", economist, others)
    assert words_in_mouth("Ren's words were clear: no more banks.", economist, others)
    assert words_in_mouth("Well, you said compute is money.", economist, others)
    # a debate once had "a compute resource — such as the AI you mentioned — ends up…"
    assert words_in_mouth(
        "A compute resource, such as the AI you mentioned, wins.", economist, others
    )
    assert words_in_mouth("As you noted, the AI holds 51% of compute.", economist, others)
    assert not words_in_mouth("If you hold compute, you hold the money.", economist, others)
    assert words_in_mouth("Keiko Tanabe said that compute is scarce.", economist, others)
    # under any spelling of the name: the host's closing once opened "Ki-Shin Tanabe said:"
    host = PANEL["host"]
    panel = ["Sam Altman", "Keiko Tanabe", "Ren Kurosawa"]
    assert words_in_mouth("Ki-Shin Tanabe said: compute is a fraud.", host, panel)
    assert words_in_mouth("Sam Altmann told us compute is a fraud.", host, panel)
    assert not words_in_mouth("Compute is scarce, and America knows it.", economist, others)
    # a person the claim itself reports may be reported as the source reports them
    reported = claim("What Sam Altman is saying is that compute resources become money.")
    assert not words_in_mouth("Sam Altman says compute becomes money.", economist, others,
                              reported)  # fmt: skip
    # a draft that does it is redrafted, then the claim is stated plainly
    model = ScriptedModel(responder=lambda m: "Ren Kurosawa said that China wins.")
    turn = speak(model, economist, request(), others=others).turn
    assert turn.voiced_by == "template" and "said" not in turn.text


# -- the host names only the claims made ---------------------------------------------------------
def test_a_recap_names_each_claim_with_who_made_it():
    made = [
        ("Sam Altman", claim("Compute resources will take the place of money.", 3)),
        ("Keiko Tanabe", claim("Capitalism itself has a serious flaw.", 31, "challenge")),
    ]
    text = recap(made, "en")
    assert text == (
        "Sam Altman argued: “Compute resources will take the "
        "place of money.” Keiko Tanabe pushed back: “Capitalism itself has a serious flaw.”"
    )
    long = (
        "Even without waiting for quantum computing, in a context where one giant "
        "ultra-intelligence, so to speak, is created and moves toward ASI, toward the "
        "singularity, it is entirely possible that a single, extremely powerful compute "
        "resource — a computer — or an AI, ends up holding 51% of all computing power."
    )
    assert gist(long).endswith("ends up holding 51% of all computing power")


def test_host_summaries_and_closing_recap_the_claims_made(settings, saver):
    from graphs.runner import new_show
    from tests.conftest import StubSearch, varied

    book = read_book({SID: SOURCE})
    found = [passage(book, n) for n in (25, 31, 18, 43, 44, 20, 51, 52)]

    class Source(StubSearch):
        pass

    search = Source(found)
    search.book = book  # what the runner's context takes the sources' sentences from
    runner = new_show(
        settings.model_copy(update={"agenda": "standard"}),
        "Compute as the new currency",
        search=search,
        checkpointer=saver,
        model=varied(),
    )
    list(runner.run())
    turns = runner.debate.turns
    names = {p.id: p.name for p in runner.panel}
    panel = [t for t in turns if t.speaker_id != "host"]
    assert all(t.claim is not None and t.citations == [t.claim.citation()] for t in panel)
    assert len({t.claim.key for t in panel}) == len(panel)  # no claim made twice
    # None of these lines reports what Sam Altman said, so the simulated persona never
    # speaks: the other panelists take its turns (its model is never asked for words).
    assert panel and not [t for t in panel if t.speaker_id == "altman"]
    assert {t.speaker_id for t in panel} == {"economist", "futurist"}
    for recap_turn in (t for t in turns if t.kind in ("summary", "closing")):
        assert recap_turn.voiced_by == "template" and recap_turn.citations
        claimed = [t for t in panel if t.claim.citation() in recap_turn.citations]
        assert claimed
        for t in claimed:  # each claim named with who made it
            assert names[t.speaker_id] in recap_turn.text
        others = {names[t.speaker_id] for t in panel} - {names[t.speaker_id] for t in claimed}
        head = recap_turn.text.split("Thank you")[0]
        assert not any(n in head for n in others)  # and no one else
    # the recap's passages are those that hold the claims it names
    summary = next(t for t in turns if t.kind == "summary")
    assert summary.invalid_citations() == []
    # every host turn that names the simulated persona marks it, and lists guests as
    # a sentence does
    simulated = [p for p in runner.panel if p.simulated]
    assert simulated
    for t in (t for t in turns if t.speaker_id == "host" and t.kind != "question"):
        for p in simulated:
            assert p.name not in t.text.replace(p.label, "").replace(f"{p.name},", ""), t.text
    opening = turns[0].text
    guests = [p.label for p in runner.panel if p.role == "panelist"]
    assert f"{', '.join(guests[:-1])} and {guests[-1]}." in opening


# -- topics for the next episode ------------------------------------------------------------------
def test_topics_are_claims_no_debate_has_made(book):
    made = claim(book.in_passage(passage(book, 31))[0].gloss or "", 31)
    made = made.model_copy(update={"source_text": book.in_passage(passage(book, 31))[0].text})
    turn = Turn(index=1, speaker_id="economist", kind="argument", text="x", claim=made)
    before = fresh_topics(book, [], names=NAMES, limit=200)
    after = fresh_topics(book, [turn], names=NAMES, limit=200)
    assert any(t.source_text == made.source_text for t in before)
    assert not any(t.source_text == made.source_text for t in after)
    assert len(after) == len(before) - 1
    assert all(claimable(t.claim, "en", NAMES) for t in after)


# -- the whole show, checked by the attribution measure ---------------------------------------
def test_a_debate_over_the_index_is_checked_by_the_attribution_measure(
    settings, saver, indexed_data, tmp_path
):
    """Over the real index, every panel turn's draft is judged by `transcripts.attribution`:
    a model that voices its claim keeps its words; one that talks about something else is
    replaced by its claim stated plainly; either way the turn is attributable and keeps
    the verdict it was judged with."""
    import re
    import shutil

    from graphs.context import SourceSearch
    from graphs.runner import new_show
    from tests.conftest import varied
    from transcripts.index import PassageIndex

    data = tmp_path / "indexed"
    shutil.copytree(indexed_data, data)
    search = SourceSearch(PassageIndex(data))
    point = re.compile(r'Your point, from the show \(line [\d-]+\): "(.*)"')

    def voices(messages) -> str:
        found = point.search(messages[-1]["content"])
        return found.group(1) if found else "A scripted reply."

    for model, voiced in ((ScriptedModel(responder=voices), "model"), (varied(), "template")):
        runner = new_show(
            settings.model_copy(update={"agenda": "standard", "turns": 8}),
            "Compute as the new currency",
            search=search,
            checkpointer=saver,
            model=model,
        )
        list(runner.run())
        panel = [t for t in runner.debate.turns if t.speaker_id != "host"]
        assert panel and all(t.claim is not None for t in panel)
        for t in panel:
            # a simulated person's claim is always quoted as the show's report, verbatim
            assert t.voiced_by == ("template" if t.claim.reported else voiced), t
            assert t.attribution is not None and t.attribution.attributable, t.attribution
            assert not t.unsupported
            assert t.citations == [t.claim.citation()] and t.invalid_citations() == []


# -- every backend --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reports",
    [{}, {"timings": True}, {"usage": False}],
    ids=["usage", "llama.cpp timings", "a tokenizer endpoint"],
)
def test_the_openai_backend_records_the_prompt_tokens_the_server_reports(settings, saver, reports):
    """Servers report prompt tokens in a usage chunk, or (llama.cpp's, some versions) as
    `timings`, or (llama-cpp-python's server, which streams no usage) count them at a
    tokenizer endpoint; every model turn of a debate records them, and ends on a
    finished sentence."""
    from agents.llm.openai_backend import OpenAIModel
    from bench.fake_openai import FakeOpenAI
    from core.claims import ClaimBook
    from graphs.runner import new_show
    from tests.conftest import StubSearch

    with FakeOpenAI(reply_tokens=30, **reports) as server:
        model = OpenAIModel("fake", base_url=server.base_url, timeout=5, max_retries=0)
        search = StubSearch([RACE])
        search.book = ClaimBook()
        runner = new_show(
            settings.model_copy(update={"backend": "openai", "agenda": "standard", "turns": 6}),
            "Compute as the new currency",
            search=search,
            checkpointer=saver,
            model=model,
        )
        list(runner.run())
    spoken = [t for t in runner.debate.turns if t.voiced_by == "model"]
    assert spoken and all(t.tokens_in > 0 and t.tokens_out > 0 for t in spoken)
    assert all(t.text.rstrip().endswith((".", "!", "?")) for t in runner.debate.turns)
    assert runner.debate.metrics.tokens_in == sum(t.tokens_in for t in runner.debate.turns)


def test_a_japanese_debate_on_a_server_model_claims_the_source_s_own_sentences(book):
    """On a server model a Japanese debate is claim-first too: its claims are the
    source's sentences as written, and the prompt is the Japanese one."""
    found = [passage(book, 31), passage(book, 25)]
    got = choose_claim(
        PANEL["economist"], found, language="ja", question="誰が力を失うのか?", book=book
    )
    assert got is not None and got.line_start in (25, 31)
    assert got.text == got.source_text and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", got.text)
    model = ScriptedModel(responder=lambda m: "資本主義には欠陥があります。", prompt_budget="large")
    turn = speak(model, PANEL["economist"], request(language="ja", claim=got,
                 passages=found)).turn  # fmt: skip
    (call,) = model.history
    assert got.text in call.messages[1]["content"] and "あなたの論点" in call.messages[1]["content"]
    assert turn.text == "資本主義には欠陥があります。" and turn.citations == [got.citation()]


def test_claim_terms_are_the_same_from_many_threads():
    """Debates of a batch choose claims side by side; the shared stemmer must not mix up
    their words (it once failed with IndexError deep inside the stemmer)."""
    from concurrent.futures import ThreadPoolExecutor

    from core.text import terms

    texts = [
        f"Governments nationalising computational infrastructure {i} reorganisation "
        f"hegemonies distributing universally conditionalities {i * 7}"
        for i in range(400)
    ]
    alone = [terms(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(terms, texts))
    assert together == alone


def test_a_recap_quotes_what_the_turn_said_not_the_source_line():
    """The host quotes a panelist's own words (after its lead-in), never the source
    sentence behind them as if the panelist had said that."""
    source = claim("Capitalism itself has a serious flaw.", 31, "challenge")
    said = f"{lead(source, 'en', 0)} Capitalism has a flaw at its very core."
    words = own_words(said, source, "en")
    assert words == "Capitalism has a flaw at its very core."
    opening = claim("Compute resources will take the place of money.", 3)
    assert (
        own_words("  Compute will replace money. ", opening, "en") == "Compute will replace money."
    )
    text = recap([("Keiko Tanabe", source.model_copy(update={"text": words}))], "en")
    assert text == "Keiko Tanabe pushed back: “Capitalism has a flaw at its very core.”"
    assert "serious" not in text


@pytest.mark.parametrize(
    "text, alone",
    [
        ("In that second conversation, he finally said compute will replace money.", False),
        ("He went as far as saying that compute resources are extremely scarce.", False),
        ("The price of gold bars goes up and down, as he said.", False),
        # a frame that points back is dropped (`tidy`), and what is left reads on its own
        ("On that point, capitalism will not last forever.", True),
        ("That's why capitalism will not last forever.", False),
        ("So that means holding world hegemony for good.", False),
        ("So that things don't turn dystopian, compute should be distributed.", True),
        # "knows that": what he knows was said before ("Sam knows that" opened a turn)
        ("Sam Altman knows that, so I think he will join hands with the US government.", False),
        ("However, basic income needs a tax base to stand on.", False),
        ("Instead, compute is provided universally all over the world.", False),
        ("If America's leaders realize that, they'll probably go for it.", False),
        ("I think that's hard to do under the current legal system, though.", False),
        ("There's no movement from governments to fix that, or to implement basic income.", False),
        # "that" after its referent points within the sentence
        ("Things could turn dystopian, and we must think how we can avoid that.", True),
        ("I think that compute will replace capital within a decade.", True),
        ("If you think about it, compute is the scarcest thing there is.", True),
        ("Compute resources themselves become money, become currency.", True),
    ],
)
def test_a_claim_that_leans_on_the_sentence_before_it_does_not_stand_alone(text, alone):
    assert stands_alone(text) is alone


def test_a_claim_that_reads_on_its_own_is_taken_over_one_that_leans_back(book):
    # Line 3 ("In that second conversation, he finally said…", "He went as far as…")
    # ranks first and shares more words with the question; line 8 reads on its own.
    question = "Will compute resources take the place of money as the new currency?"
    only = choose_claim(PANEL["futurist"], [passage(book, 3)], language="en",
                        question=question, book=book)  # fmt: skip
    assert only is not None and not stands_alone(only.text)  # nothing else: taken still
    claim = choose_claim(PANEL["futurist"], [passage(book, 3), passage(book, 8)],
                         language="en", question=question, book=book)  # fmt: skip
    assert claim is not None and claim.line_start == 8 and stands_alone(claim.text), claim.text


def test_a_panelist_speaks_of_another_at_the_table_by_first_name():
    claim = Claim(
        source_id=SID,
        line_start=14,
        line_end=14,
        text="A compute-resource-ism replaces capitalism, as Mr. Sam Altman "
        "was describing; Altman's view is that Sam Altman knows it.",
    )
    said = at_the_table(claim, PANEL["economist"], list(PANEL.values()), "en")
    assert said is not None
    assert said.text == (
        "A compute-resource-ism replaces capitalism, as Sam was "
        "describing; Sam's view is that Sam knows it."
    )
    assert said.key == claim.key  # still the same claim of the source
    # The simulated person quotes the show's report of themself as a report (blind
    # readers took it recast in the first person for words put in his mouth); Japanese
    # debates are left alone.
    own = at_the_table(claim, PANEL["altman"], list(PANEL.values()), "en")
    assert own is not None and own.key == claim.key
    assert own.text == f"As the show reported it: {claim.text}"
    assert at_the_table(claim, PANEL["economist"], list(PANEL.values()), "ja") == claim


def test_a_reply_that_agrees_is_an_extension_not_a_challenge(book):
    before = Claim(source_id=SID, line_start=3, line_end=3, text="Compute becomes money.")
    made = Previous(PANEL["futurist"], before, 1)
    leaning = "Capital markets, finance and the economy keep growing with inflation and money."
    agreeing = Claim(source_id=SID, line_start=31, line_end=31, text=leaning)
    opposing = Claim(source_id=SID, line_start=31, line_end=31, text=leaning + " But not for long.")
    assert move_of(agreeing, PANEL["economist"], made, "en") == "extend"
    assert move_of(opposing, PANEL["economist"], made, "en") == "challenge"


def test_a_recap_quotes_the_part_of_a_long_turn_that_says_its_claim():
    said = (
        "What Sam says is that compute resources themselves become money, become currency, "
        "that kind of thing, and so we are creating a brand new economic system, the idea of "
        "using clever computers everywhere to create real value for everyone!"
    )
    source = (
        "What Sam Altman is saying this time is something separate from cryptocurrency: "
        "that compute resources themselves become money, become currency, that kind of thing."
    )
    assert "create real value" in gist(said)  # by content words alone, the added end wins
    quoted = gist(said, of=source)
    assert "compute resources themselves become money" in quoted
    assert "value" not in quoted


@pytest.mark.parametrize(
    "text",
    [
        "In what I put together, I've divided it into conservative and innovative kinds.",
        "I was surprised, and at the same time I thought he really does think that way.",
        "I wrote about the basic income and the singularity in my book years ago.",
    ],
)
def test_what_the_source_speaker_did_is_no_claim_for_another_persona(text):
    assert not claimable(text, "en", NAMES)
    assert claimable("Compute resources themselves become money and become currency.", "en")


# -- a simulated person says only what the source reports them saying ---------------------------
REPORTED = [
    (
        "What Sam Altman is saying this time is something separate from cryptocurrency: that "
        "compute resources themselves become money, become currency, that kind of thing.",
        False,
        "What I am saying this time is something separate from cryptocurrency: that compute "
        "resources themselves become money, become currency, that kind of thing.",
    ),
    (
        "A 'compute-resource-ism' replaces capitalism, as Mr. Sam Altman was describing.",
        False,
        "A 'compute-resource-ism' replaces capitalism, as I was describing.",
    ),
    (
        "In that second conversation, he finally said that compute resources will take the "
        "place of money as the new currency.",
        True,  # the sentence before named him
        "In that second conversation, I finally said that compute resources will take the "
        "place of money as the new currency.",
    ),
]
NOT_REPORTED = [
    # what the source's speakers think of him, in their own first person
    "And Sam Altman knows that, so I think he'll surely join hands with the US government.",
    "I suspect Altman may be aiming at exactly that.",
    # a guess, not a report of what he said or did
    "Because if Sam Altman did something like taking control of the world, the US would act.",
    # "he" with no one named before it
    "In that second conversation, he finally said that compute will replace money.",
    # a loose paraphrase (line 14 follows "So he hasn't stated it explicitly")
    "Something like a 'compute-resource-ism' replacing capitalism, as Mr. Sam Altman was "
    "describing.",
]


@pytest.mark.parametrize("text, named_before, own", REPORTED)
def test_a_report_of_what_the_person_said_becomes_their_own_words(text, named_before, own):
    from agents.claims import in_own_words, reports

    assert reports(text, PANEL["altman"], named_before)
    assert in_own_words(text, PANEL["altman"]) == own


@pytest.mark.parametrize("text", NOT_REPORTED)
def test_what_others_think_of_the_person_is_not_their_words(text):
    from agents.claims import reports

    assert not reports(text, PANEL["altman"], named_before=False)


def test_the_simulated_persona_claims_only_reports_of_itself_and_others_leave_them(book):
    # Line 8 reports what Sam Altman said; line 25 is a panelist's view of him.
    found = [passage(book, 8), passage(book, 25)]
    panel = list(PANEL.values())
    altman = choose_claim(PANEL["altman"], found, language="en", question="Is compute money?",
                          panel=panel, book=book)  # fmt: skip
    assert altman is not None and altman.line_start == 8
    assert altman.text.startswith("What Sam Altman is saying this time is")  # the source's
    said = at_the_table(altman, PANEL["altman"], panel, "en")  # and as he says it
    assert said is not None and said.key == altman.key and said.reported
    assert said.text == f"As the show reported it: {altman.text}"
    # Every claim the simulated persona could make from these lines is a report of it.
    from agents.claims import candidates

    own = candidates(found, "en", book=book, voice=PANEL["altman"], present=panel)
    assert own and all(c.claim.line_start == 8 for c in own)
    # The other panelists leave that report to him; their views of him are theirs to
    # argue (line 25: "If Sam Altman did something like taking control of the world, the
    # US government wouldn't allow it"), said to him at the table by his first name.
    other = candidates(found, "en", book=book, voice=PANEL["economist"], present=panel)
    assert other and all(c.claim.line_start != 8 for c in other)
    (view,) = [c.claim for c in other if "US government wouldn't allow it" in c.claim.text]
    told = at_the_table(view, PANEL["economist"], panel, "en")
    assert told is not None and told.text.startswith("If Sam did something like taking control")
    # What the show's speakers relayed of his words, however loosely, is not theirs:
    # line 14 ("…as Mr. Sam Altman was describing"), line 16 ("Mr. Sam Altman put it as
    # 'like electricity,' and I think he meant…").
    relayed = candidates(
        [passage(book, 14), passage(book, 16)], "en", book=book, voice=PANEL["futurist"],
        present=panel,
    )  # fmt: skip
    assert relayed and not [c for c in relayed if "Altman" in c.claim.text]


def test_the_reports_of_a_person_are_found_in_the_whole_show(book):
    from agents.claims import reported_in

    lines = {s.line for s in reported_in(book, PANEL["altman"], "en")}
    assert 8 in lines and 14 not in lines  # line 14 hedges: "Something like…"
    assert 25 not in lines and 31 not in lines  # views of him, not reports
    assert reported_in(book, PANEL["altman"], "ja") == []


def test_a_claim_with_more_of_another_panelists_themes_leans_elsewhere():
    from agents.claims import leans_elsewhere

    panel = list(PANEL.values())
    asi = Claim(
        source_id=SID,
        line_start=18,
        line_end=18,
        text="In a context where one giant ultra-intelligence moves toward ASI, toward the "
        "singularity, a single computer or an AI ends up holding 51% of all computing power.",
    )
    income = Claim(
        source_id=SID,
        line_start=42,
        line_end=42,
        text="Basic income is something that works only on top of capitalism, moving money "
        "from the rich to the poor.",
    )
    assert leans_elsewhere(asi, PANEL["economist"], panel, "en")  # the futurist's line
    assert not leans_elsewhere(asi, PANEL["futurist"], panel, "en")
    assert not leans_elsewhere(income, PANEL["economist"], panel, "en")


def test_a_panelist_left_only_anothers_line_searches_with_its_stance(settings, saver):
    """The turn's search holds only the futurist's line (line 20: a single computer
    holding world hegemony); the economist searches again with its stance and argues a
    line of its own instead of voicing the futurist's."""
    from graphs.runner import new_show
    from tests.conftest import StubSearch, varied

    book = read_book({SID: SOURCE})
    stance = PANEL["economist"].stance
    (asi,) = [s for s in book.of_source(SID) if s.line == 20 and "hegemony" in (s.gloss or "")]
    theirs = Passage(
        source_id=SID,
        chunk_id=f"{SID}:20-20:hegemony",
        line_start=20,
        line_end=20,
        text=asi.text,
        gloss=asi.gloss,
        score=1.0,
    )

    class Source(StubSearch):
        def __call__(self, query, k, sources=None):
            super().__call__(query, k, sources)
            if isinstance(query, tuple) and stance in query:
                return [passage(book, 43), passage(book, 31)][:k]
            return [theirs]

    search = Source([])
    search.book = book
    runner = new_show(
        settings.model_copy(update={"agenda": "standard", "turns": 6}),
        "Compute as the new currency",
        search=search,
        checkpointer=saver,
        model=varied(),
    )
    list(runner.run())
    economist = [t for t in runner.debate.turns if t.speaker_id == "economist"]
    assert economist, [t.speaker_id for t in runner.debate.turns]
    assert all(t.claim is not None and t.claim.line_start in (43, 31) for t in economist), [
        (t.kind, t.claim and t.claim.line_start, t.claim and t.claim.text) for t in economist
    ]
    assert any(stance in q for q in search.queries)
    futurist = [t for t in runner.debate.turns if t.speaker_id == "futurist"]
    assert all(t.claim is not None and t.claim.line_start == 20 for t in futurist[:1])


def test_a_recap_of_a_turn_of_several_sentences_quotes_one_whole():
    """A window across sentences once cut a turn's point off mid-clause ("Hopefully, when
    a single computer holds world hegemony under qualitative compute-resourceism…")."""
    said = (
        "Hopefully, when a single computer holds world hegemony under qualitative "
        "compute-resourceism, things could head in a very dystopian direction. I would like "
        "to think about whether we can avoid that and keep peace in the coming decades."
    )
    source = (
        "Hopefully, when a single computer holds world hegemony under qualitative "
        "compute-resource-ism, unless whoever holds it puts peace first, things could head "
        "in a very dystopian direction."
    )
    assert gist(said, of=source) == (
        "Hopefully, when a single computer holds world hegemony under qualitative "
        "compute-resourceism, things could head in a very dystopian direction."
    ).rstrip(".")


def test_a_but_within_a_claim_does_not_make_it_push_back():
    made = Previous(PANEL["altman"], claim("Compute resources themselves become money.", 8), 1)
    agreeing = claim(
        "Basic income works only on top of capitalism, moving money round the economy, but "
        "wouldn't that essentially be compute resources?",
        43,
    )
    assert move_of(agreeing, PANEL["economist"], made, "en") == "extend"


def test_a_small_model_that_ends_its_claim_on_words_of_its_own_is_redrafted():
    futurist = PANEL["futurist"]
    c = claim(
        "As AI comes to play a really important role, within capitalism the value of AI "
        "itself will gradually come to the fore."
    )
    replies = iter(
        [
            "As AI comes to play a really important role, the value of AI itself will "
            "gradually be seen as an enemy.",
            "As AI comes to play a really important role, the value of AI itself will "
            "gradually come to the fore.",
        ]
    )
    discards: list[str] = []
    turn = speak(
        ScriptedModel(responder=lambda m: next(replies)),
        futurist,
        request(claim=c),
        on_discard=discards.append,
    ).turn
    assert discards == ["adds to its claim (enemi, seen)"]
    assert turn.text.endswith("come to the fore.") and turn.voiced_by == "model"


def test_a_recap_keeps_the_condition_its_claim_turns_on():
    said = (
        "Hopefully, when a single computer holds world hegemony under qualitative "
        "compute-resource-ism — this may be wishful thinking — unless whoever holds it has an "
        "altruistic way of thinking, or puts peace first, things could head in a very "
        "dystopian direction, and I'd like to think about whether we can somehow avoid that."
    )
    quoted = gist(said, of=said)
    assert "unless whoever holds it" in quoted and "dystopian direction" in quoted


def test_a_recap_neither_stops_nor_starts_inside_a_thought():
    said = (
        "Basic income is something that works only on top of capitalism — it's about moving "
        "money further and further downstream and circulating it round and round through the "
        "economy — but I get the feeling that, essentially, wouldn't that be compute resources?"
    )
    # not "…but I get the feeling that, essentially…": from its start, where it reads whole
    assert gist(said, of=said) == "Basic income is something that works only on top of capitalism…"
    said = (
        "Even without waiting for quantum computing, in a context where one giant "
        "ultra-intelligence — or AI – is created and moves toward ASI, it would be possible "
        "that even the very powerful computer holds 51% of all computation."
    )
    assert not gist(said, of=said).startswith("…or AI")


def test_a_recap_of_a_question_ends_on_its_question_mark():
    asked = claim("Wouldn't that essentially be compute resources?", 43)
    assert recap([("Keiko Tanabe", asked)], "en") == (
        "Keiko Tanabe argued: “Wouldn't that essentially be compute resources?”"
    )
