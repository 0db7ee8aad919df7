"""What one package receives from another it may not import: the shape of a service a
sibling provides, assembled and handed over by `graphs` (the composition root).

`episodes` judges saved debates with the attribution measure of `transcripts` and
embeds their claims with its e5 embedder; it is given them as an `Attribution` and an
`Embed`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from core.models import Citation, Debate, Passage, Verdict

# Texts in, one unit vector per text out (rows of an array).
Embed = Callable[[Sequence[str]], np.ndarray]


class Attribution(Protocol):
    """Judges turns against their cited lines (`transcripts.attribution.Attributor`)."""

    threshold: float  # the score at or above which a panelist turn is attributable
    k: int  # how deep the index is searched for a turn's cited lines

    def judge_debate(self, debate: Debate) -> dict[int, Verdict]:
        """Verdicts on the debate's turns, by turn index (`Turn.index`)."""
        ...

    def cited_text(
        self,
        citations: Sequence[Citation],
        passages: Sequence[Passage] = (),
        *,
        gloss_only: bool = False,
    ) -> str | None:
        """The cited lines' text (with `gloss_only`, their English gloss where they have
        one); None when no line of them is known."""
        ...
