"""Text measures: an echo of earlier turns is a copy; a marked, attributed quotation is not."""

from __future__ import annotations

from core.text import copied_share, copy_rate, distinct_n, unquoted

SAID = "Compute resources themselves become money and become the new currency of the world."


def test_a_turn_that_repeats_an_earlier_one_is_a_copy():
    echo = "Compute resources themselves become money and become the new currency, I agree."
    assert copy_rate([SAID, echo]) == 1.0
    fresh = "Whoever holds half of all compute sets the rules for everyone else."
    assert copy_rate([SAID, fresh]) == 0.0


def test_a_quotation_marked_as_one_is_attributed_not_copied():
    recap = f"Let's pause there. Ren Kurosawa argued: “{SAID}”"
    assert copied_share(recap, [SAID]) > 0.5  # as n-grams, most of it was said before
    assert copy_rate([SAID, recap]) == 0.0  # but what it says in its own words is new
    assert copy_rate([SAID, recap], quotes=True) == 1.0
    assert unquoted(recap).split() == ["Let's", "pause", "there.", "Ren", "Kurosawa", "argued:"]
    # The same words without the quotation marks are an echo.
    assert copy_rate([SAID, recap.replace("“", "").replace("”", "")]) == 1.0


def test_distinct_two_counts_repeated_word_pairs_once():
    assert distinct_n(["a b a b"], 2) == 2 / 3
