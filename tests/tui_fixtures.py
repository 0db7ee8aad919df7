"""Saved debates with fixed ids and times, for TUI tests and snapshots."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.personas import load_personas
from core.models import Citation, Debate, RunSettings, Segment, Turn
from tests.conftest import PASSAGES

TEXTS = [
    "Welcome to the show. Sam, is compute the new money?",
    "Compute is scarce and everyone wants it, so it will behave like money [bold red]not markup[/].",  # noqa: E501
    "Money needs a central bank. Compute wears out; it cannot store value. [@click=app.quit]x[/]",
    "Let me sum up: scarcity agreed, money disputed.",
    "Ren, who wins the race between the US and China?",
    "Whoever holds 51% of all compute writes the rules for everyone else.",
    "That is a monopoly problem, not a new currency.",
    "Thank you all. Compute is power; whether it is money is still open.",
]
KINDS = [
    "opening",
    "argument",
    "rebuttal",
    "summary",
    "question",
    "argument",
    "rebuttal",
    "closing",
]
SPEAKERS = ["host", "altman", "economist", "host", "host", "futurist", "economist", "host"]


def sample_debate(
    debate_id: str = "20261128-120000-abcd",
    turns: int | None = None,
    topic: str = "Compute as the new currency",
) -> Debate:
    personas = load_personas()
    count = len(TEXTS) if turns is None else turns
    rows = []
    for i in range(count):
        p = PASSAGES[i % len(PASSAGES)]
        rows.append(
            Turn(
                index=i,
                speaker_id=SPEAKERS[i % len(SPEAKERS)],
                kind=KINDS[i % len(KINDS)] if i < count - 1 else "closing",
                text=TEXTS[i % len(TEXTS)],
                citations=[
                    Citation(
                        source_id=p.source_id,
                        line_start=p.line_start,
                        line_end=p.line_end,
                        quote=p.text,
                    )
                ],
                passages=[p],
                segment=0 if i < count // 2 else 1,
                model="scripted",
                tokens_in=40,
                tokens_out=20,
                latency_ms=100.0,
            )
        )
    return Debate(
        id=debate_id,
        topic=topic,
        language="en",
        created_at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
        settings=RunSettings(backend="embedded", model="scripted", policy="round-robin"),
        personas=[p.snapshot() for p in personas.values()],
        agenda=[
            Segment(title="Money or not", question="Is compute money?", turns=2),
            Segment(title="The race", question="Who wins?", turns=2),
        ],
        turns=rows,
    )


def claimed_debate(debate_id: str = "20261128-120000-cafe") -> Debate:
    """`sample_debate` as a claim-first debate records it: each panel turn makes the claim
    of its passage (the gloss), a reply challenges the claim before it, and the last
    reply failed its check (unsupported)."""
    from core.models import Claim

    debate = sample_debate(debate_id)
    turns = []
    previous: int | None = None
    for t in debate.turns:
        if t.speaker_id == "host":
            previous = None
            turns.append(t)
            continue
        p = t.passages[0]
        move = "challenge" if previous is not None else "open"
        claim = Claim(
            source_id=p.source_id,
            line_start=p.line_start,
            line_end=p.line_end,
            text=p.gloss or p.text,
            source_text=p.text,
            move=move,
            answers=previous,
        )
        turns.append(
            t.model_copy(
                update={
                    "claim": claim,
                    "citations": [claim.citation()],
                    "unsupported": t.index == 6,
                }
            )
        )
        previous = t.index
    return debate.model_copy(update={"turns": turns})
