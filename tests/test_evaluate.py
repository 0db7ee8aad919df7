"""Eval figures on constructed debates whose right answers are known."""

from __future__ import annotations

import numpy as np

from tests.tui_fixtures import sample_debate
from transcripts.evaluate import distinctiveness, evaluate
from transcripts.models import Citation

TOPICS = {"chips": 0, "money": 1, "power": 2}


def keyword_embed(texts):
    """One axis per keyword: texts about the same thing point the same way."""
    out = np.zeros((len(texts), len(TOPICS) + 1))
    for i, text in enumerate(texts):
        for word, axis in TOPICS.items():
            out[i, axis] = text.lower().count(word)
        out[i, -1] = 0.01
    return out


def test_distinctiveness_tells_apart_speakers_with_their_own_words():
    texts = ["chips chips", "chips fabs chips", "chips", "money money", "money bank", "money"]
    labels = ["a", "a", "a", "b", "b", "b"]
    assert distinctiveness(texts, labels, keyword_embed) == 1.0
    same = ["chips", "money", "chips money"] * 2  # both speakers say the same things
    assert distinctiveness(same, labels, keyword_embed) <= 0.5


def test_validity_grounding_and_support_on_a_constructed_debate():
    debate = sample_debate()
    # one citation outside the turn's passages: validity drops by exactly one citation
    debate.turns[2].citations.append(Citation(source_id="panel", line_start=50, line_end=50))
    result = evaluate(debate, keyword_embed)
    cites = sum(len(t.citations) for t in debate.turns)
    assert result.citation_validity == (cites - 1) / cites
    assert result.grounding_rate == 1.0
    assert result.agenda_coverage == 1.0
    assert abs(sum(result.speaker_share.values()) - 1.0) < 1e-9
    assert result.tokens_out == 20 * len(debate.turns)


def test_unsupported_claims_are_listed():
    debate = sample_debate()
    for t in debate.turns:
        t.text = "money money"
    result = evaluate(debate, keyword_embed)
    # no gloss of the fixture's passages speaks of money: every claim is flagged
    assert len(result.unsupported) == len(debate.turns)
    assert all(u.similarity < 0.8 for u in result.unsupported)
