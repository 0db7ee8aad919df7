"""Attribution: a turn that argues from its cited lines passes, one that drifts, invents
or cites the wrong lines fails; invented names, dates and figures are named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agents.personas import load_personas
from core.models import Citation, Passage
from transcripts.attribution import (
    Attributor,
    figures,
    invented,
    load_labelled,
    names,
    persona_texts,
)
from transcripts.index import PassageIndex

LABELLED = Path(__file__).parent / "data" / "attribution_turns.jsonl"
SOURCE_ID = "compute_resource_ism_panel"


@pytest.fixture(scope="module")
def attributor(tmp_path_factory, indexed_data: Path) -> Attributor:
    data = tmp_path_factory.mktemp("attribution") / "data"
    shutil.copytree(indexed_data, data)
    return Attributor(PassageIndex(data))


def labelled() -> dict[str, dict]:
    return {row["id"]: row for row in load_labelled(LABELLED)}


def test_the_labelled_set_has_twenty_turns_of_each_class_with_their_lines():
    rows = list(labelled().values())
    good = [r for r in rows if r["label"] == "faithful"]
    bad = [r for r in rows if r["label"] == "unfaithful"]
    assert len(good) >= 20 and len(bad) >= 20
    assert {r["kind"] for r in bad} >= {"drift", "invented", "wrong_lines"}
    for r in rows:
        assert r["citations"] and all(1 <= c.line_start <= c.line_end for c in r["citations"])


@pytest.mark.parametrize(
    "row_id, passes",
    [
        ("f03", True),  # fusion reactors and chip fabs, cited to line 10
        ("f08", True),  # 51% of wealth, NVIDIA's 92%, cited to line 18
        ("f14", True),  # Transcendence and the FBI, cited to line 25
        ("f23", True),  # basic income circulating, cited to line 43
        ("u01", False),  # data centres as factories: on topic, nothing of line 3
        ("u04", False),  # interest rates: nothing of line 25
        ("u10", False),  # Milton Friedman in 1968: invented
        ("u19", False),  # America or China (line 19) cited to line 52
        ("u24", False),  # fusion and fabs (line 10) cited to line 48
    ],
)
def test_faithful_turns_pass_and_drifting_ones_fail(attributor: Attributor, row_id, passes):
    row = labelled()[row_id]
    cards = persona_texts(load_personas().values())
    verdict = attributor.judge(row["text"], row["citations"], allowed=[row["question"], *cards])
    assert verdict.attributable is passes, verdict
    assert (verdict.reason == "") is passes
    if passes:
        assert verdict.rank is not None and verdict.rank <= 3
        assert verdict.score >= attributor.threshold


# u31 scores under the threshold as a whole already; these five score above it.
@pytest.mark.parametrize("row_id", ["u29", "u30", "u32", "u33", "u34"])
def test_a_turn_that_opens_on_its_lines_and_then_drifts_is_not_attributable(
    attributor: Attributor, row_id
):
    row = labelled()[row_id]
    cards = persona_texts(load_personas().values())
    opening, rest = row["text"].split(". ", 1)
    verdict = attributor.judge(
        row["text"],
        row["citations"],
        allowed=[row["question"], *cards],
        question=row["question"],
    )
    assert verdict.score >= attributor.threshold  # the whole turn scores well enough...
    assert not verdict.attributable  # ...but its second sentence wanders off
    assert verdict.drifting == (rest,)
    assert verdict.reason.startswith("drifts from its lines")
    alone = attributor.judge(opening + ".", row["citations"], question=row["question"])
    assert alone.attributable and alone.drifting == ()


def test_no_faithful_turn_of_the_labelled_set_has_a_drifting_sentence(attributor: Attributor):
    rows = [r for r in labelled().values() if r["label"] == "faithful"]
    cited = {r["id"]: attributor.cited_text(r["citations"]) for r in rows}
    drifting = {
        r["id"]: attributor.drifting(
            r["text"], r["citations"], cited[r["id"]], question=r["question"]
        )
        for r in rows
    }
    assert {k: v for k, v in drifting.items() if v} == {}


def test_wrong_lines_lose_the_rank_that_the_right_lines_have(attributor: Attributor):
    text = labelled()["u24"]["text"]
    right = attributor.judge(text, [Citation(source_id=SOURCE_ID, line_start=10, line_end=10)])
    wrong = attributor.judge(text, [Citation(source_id=SOURCE_ID, line_start=48, line_end=48)])
    assert right.attributable and right.rank == 1
    assert not wrong.attributable and (wrong.rank is None or wrong.rank > 3)
    assert wrong.score < right.score


def test_invented_names_and_figures_are_named(attributor: Attributor):
    row = labelled()["u13"]
    verdict = attributor.judge(row["text"], row["citations"], allowed=[row["question"]])
    assert not verdict.attributable
    assert set(verdict.invented) >= {"18%", "Christine Lagarde", "March"}
    assert "Christine Lagarde" in verdict.reason


def test_what_the_question_or_a_persona_card_says_is_not_invented(attributor: Attributor):
    cite = [Citation(source_id=SOURCE_ID, line_start=18, line_end=18)]
    text = "Picture the year 2045: at OpenAI one machine could hold 51% of all compute."
    assert "2045" in attributor.judge(text, cite).invented
    cards = persona_texts(load_personas().values())
    assert attributor.judge(text, cite, allowed=cards).invented == ()


def test_a_citation_of_unknown_lines_is_judged_from_the_turns_passages():
    passage = Passage(
        source_id="notes",
        chunk_id="notes:1-1:a",
        line_start=1,
        line_end=1,
        text="Fusion reactors and new chip fabs are needed to feed compute.",
    )
    attributor = Attributor(lambda q, k, sources=None: [passage], lines={})
    cite = [Citation(source_id="notes", line_start=1, line_end=1)]
    good = attributor.judge("We need fusion reactors and chip fabs.", cite, passages=[passage])
    assert good.attributable and good.rank == 1
    bare = attributor.judge("We need fusion reactors and chip fabs.", cite)
    assert not bare.attributable and bare.reason == "cited lines not found in the sources"
    none = attributor.judge("We need fusion reactors and chip fabs.", [])
    assert not none.attributable and none.reason == "cites no lines"


def test_figures_in_digits_and_in_words():
    got = dict(figures("51% of compute, 7 trillion dollars, 1,000 trillion yen, 3.5 billion"))
    assert got == {"51%": 51, "7 trillion": 7e12, "1,000 trillion": 1e15, "3.5 billion": 3.5e9}
    assert dict(figures("fifty-one percent and seven trillion")) == {
        "fifty-one percent": 51,
        "seven trillion": 7e12,
    }
    assert [v for _, v in figures("7兆ドル、1000兆円、51%")] == [7e12, 1e15, 51]
    assert figures("two hours with three guests") == []  # small number words are no figures


def test_names_are_capitalised_runs_but_not_a_sentence_start():
    text = "Picture this. Elon Musk met the Bank of Japan; I think Keynes was right. GDP fell."
    assert names(text) == ["Elon Musk", "Bank of Japan", "Keynes"]
    assert names("Mr. Keynes said so. In Kenya, it worked.") == ["Keynes", "Kenya"]


def test_invented_checks_against_the_allowed_texts():
    source = ["NVIDIA holds 92% of the market, said Professor Tomohiro Inoue in November."]
    assert invented("NVIDIA's 92% share worried Professor Inoue in November.", source) == ()
    assert invented("NVIDIA's 95% share worried Jerome Powell in March.", source) == (
        "95%",
        "Jerome Powell",
        "March",
    )
    quote = 'He said, "the chips will rebel against their owners tomorrow" and left.'
    assert invented(quote, source) == ("“the chips will rebel against their owners tomorrow”",)


def test_a_settled_verdict_is_the_full_verdict_without_the_search(attributor: Attributor):
    """A draft check settles on the overlap where it reaches the threshold: every labelled
    turn gets the same `attributable` as with the search, and settling skips it often."""
    cards = persona_texts(load_personas().values())
    searches = []
    real = attributor.rank

    def counted(text, citations):
        searches.append(text)
        return real(text, citations)

    skipped = 0
    for row in labelled().values():
        allowed = [row["question"], *cards]
        args = (row["text"], row["citations"])
        full = attributor.judge(*args, allowed=allowed, question=row["question"])
        attributor.rank = counted
        try:
            searches.clear()
            settled = attributor.judge(
                *args, allowed=allowed, question=row["question"], settle=True
            )
        finally:
            del attributor.rank
        assert settled.attributable is full.attributable, row["id"]
        assert settled.drifting == full.drifting and settled.invented == full.invented
        if not settled.searched:
            skipped += 1
            assert settled.rank is None and settled.score == settled.overlap
            assert row["text"] not in searches  # the whole turn was not searched
        else:
            assert (settled.rank, settled.score) == (full.rank, full.score)
    assert skipped >= 10


@pytest.mark.parametrize(
    "claim, said, left_out",
    [
        # a debate turned the source's condition into its opposite
        (
            "Hopefully, when a single computer holds world hegemony, unless whoever holds it "
            "puts peace first, things could head in a very dystopian direction.",
            "Hopefully, when a single computer holds world hegemony, it will be a dystopian "
            "direction.",
            ("unless",),
        ),
        (
            "Unless whoever holds it puts peace first, things could turn dystopian.",
            "If whoever holds it does not put peace first, things could turn dystopian.",
            (),
        ),
        (
            "There's no movement from governments to implement basic income.",
            "Governments are moving to implement basic income.",
            ("negation",),
        ),
        (
            "There's no movement from governments to implement basic income.",
            "Governments aren't moving to implement basic income at all.",
            (),
        ),
        (
            "If America's leaders realize that, they'll probably go for it.",
            "America's leaders will go for it.",
            ("if",),
        ),
        (
            "If America's leaders realize that, they'll probably go for it.",
            "America's leaders could well go for it once they see it.",
            (),
        ),
        # a rhetorical tag asserts: saying it plainly keeps the meaning
        (
            "Basic income moves money downstream, but wouldn't that be compute resources?",
            "Basic income moves money downstream, and that is really compute resources.",
            (),
        ),
    ],
)
def test_a_turn_that_leaves_out_its_claims_negation_or_condition_is_caught(claim, said, left_out):
    from transcripts.attribution import turned

    assert turned(said, claim) == left_out


def test_a_turn_that_reverses_its_claim_is_not_attributable(attributor: Attributor):
    row = labelled()["f23"]  # basic income circulating, cited to line 43 (faithful)
    cards = persona_texts(load_personas().values())
    kept = attributor.judge(row["text"], row["citations"], allowed=[row["question"], *cards])
    assert kept.attributable
    reversed_ = attributor.judge(
        row["text"],
        row["citations"],
        allowed=[row["question"], *cards],
        claim="Basic income does not work without capitalism, and it never circulates money.",
    )
    assert not reversed_.attributable
    assert reversed_.reason == "changes its claim: leaves out its negation"
