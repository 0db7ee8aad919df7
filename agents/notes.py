"""The outline's prose, written by a model: a title, a logline, working titles of the
segments and open questions for the next episode, under the `OutlineNotes` schema.

Only the call is here; which of the notes an outline takes (none that repeats the
question, copies a guest's line or talks to the reader) is `episodes.outline`'s to
decide (`with_notes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, Field

from agents.llm.base import ChatModel, Sampling
from prompts import render

# A segment as the prompt shows it: its question, and its first talking points as
# (speaker, the claim or what was said).
SegmentPoints = tuple[str, Sequence[tuple[str, str]]]


class OutlineNotes(BaseModel):
    """What a model is asked to write; everything else in an outline is assembled.

    Every string is bounded, so a grammar-constrained small model cannot ramble
    past its token budget and leave the JSON unfinished."""

    title: str = Field(min_length=3, max_length=80)
    logline: str = Field(min_length=10, max_length=200)
    segment_titles: list[Annotated[str, Field(min_length=2, max_length=60)]] = Field(
        default_factory=list, max_length=6
    )
    open_questions: list[Annotated[str, Field(min_length=8, max_length=140)]] = Field(
        default_factory=list, max_length=3
    )


def _data(text: str, limit: int = 160) -> str:
    """Debate text as quoted data in a prompt: one line, clipped, no delimiters of its own."""
    flat = " ".join(text.replace("<<<", "").replace(">>>", "").split())
    return f"<<<{flat[:limit]}>>>"


def notes_prompt(topic: str, language: str, segments: Sequence[SegmentPoints]) -> str:
    """The prompt asking for an outline's notes: the topic and, per segment, its question
    and up to three talking points, each as quoted data."""
    rows = []
    for i, (question, points) in enumerate(segments, 1):
        rows.append(f"{i}. {_data(question)}")
        for speaker, said in list(points)[:3]:
            rows.append(f"   - {speaker}: {_data(said, 120)}")
    language = language if language in ("en", "ja") else "en"
    return render(
        "outline_notes",
        language,
        topic=_data(topic, 200),
        segments="\n".join(rows),
        count=len(segments),
    )


def ask_notes(
    model: ChatModel, topic: str, language: str, segments: Sequence[SegmentPoints]
) -> OutlineNotes:
    """The notes `model` writes for an outline (structured output, low temperature).
    Raises ModelError when the call fails or its reply does not fit the schema."""
    notes, _ = model.structured(
        [{"role": "user", "content": notes_prompt(topic, language, segments)}],
        OutlineNotes,
        Sampling(temperature=0.3, max_tokens=480, seed=0),
    )
    return notes
