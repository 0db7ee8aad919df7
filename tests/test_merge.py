"""Merging debates: a fork's copied history is counted once, and a contested point is a
clash (a claim and the rebuttal to it, each with who said it)."""

from __future__ import annotations

from episodes.merge import merge_debates, merged_markdown, substantive
from graphs.session import e5_embed
from tests.test_batch import constructed

CLAIM = "A single company holding half of all compute would set the price of intelligence."
REPLY = "Prices are set by many buyers, so one owner of compute cannot dictate the price."
SHARED = "Compute behaves like a currency because everyone needs it and it is scarce."


def parent_and_fork():
    parent = constructed(
        "20261128-100000-parent",
        [
            ("host", "opening", "Welcome to the show about compute."),
            ("altman", "argument", SHARED),
            ("economist", "argument", "You're right! " + CLAIM),
            ("futurist", "rebuttal", "Absolutely. " + REPLY),
        ],
    )
    fork = constructed(
        "20261128-110000-forked",
        [
            *[(t.speaker_id, t.kind, t.text) for t in parent.turns],
            ("altman", "argument", "Fusion plants will decide who can afford chips in 2040."),
        ],
    ).model_copy(update={"parent_id": parent.id, "forked_at": 3})
    return parent, fork


def test_a_fork_does_not_agree_with_its_own_parent():
    parent, fork = parent_and_fork()
    for order in ([parent, fork], [fork, parent]):
        merged = merge_debates(order, e5_embed)
        assert merged.agreed == []  # the shared turns were spoken once, in the parent
        assert len(merged.contested) == 1  # the copied clash counts once
        traced = {t.debate_id for p in merged.contested for t in p.traces}
        assert traced == {parent.id}


def test_a_contested_point_is_a_claim_and_its_rebuttal_with_speakers():
    parent, fork = parent_and_fork()
    (clash,) = merge_debates([parent, fork], e5_embed).contested
    assert clash.claim.text == CLAIM and clash.rebuttal.text == REPLY
    assert clash.claim.speaker == "Keiko Tanabe" and clash.rebuttal.speaker == "Ren Kurosawa"
    # the third and fourth turns, numbered from 1 as replay and exports number them
    assert (clash.claim.turn, clash.rebuttal.turn) == (3, 4)
    md = merged_markdown(merge_debates([parent, fork], e5_embed))
    assert f"Keiko Tanabe ({parent.id}, turn 3): “{CLAIM}”" in md
    assert f"↔ Ren Kurosawa (turn 4): “{REPLY}”" in md
    assert "You're right" not in md and "Absolutely" not in md


def test_reactions_and_questions_are_not_claims():
    assert not substantive("You're right!")
    assert not substantive("Exactly, yes.")
    assert not substantive("But who pays for the chips in the end?")
    assert substantive(CLAIM)
    assert substantive("計算資源こそが新しい通貨になるという考え方です。")
