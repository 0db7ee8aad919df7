"""The host's structured decisions: the agenda, the next speaker, the panel's bids.

Each is a pydantic schema decoded under a JSON schema on every backend. Output
that is unusable falls back to a deterministic choice, which is logged and
counted, never raised.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from agents.llm.base import ChatModel, Sampling
from agents.personas import Persona
from agents.speaker import quoted
from core.errors import ModelError
from core.models import Passage, Segment
from core.text import copied_share
from prompts import render

log = logging.getLogger(__name__)


class SegmentPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=3, max_length=60)
    question: str = Field(min_length=10, max_length=160)


class AgendaPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segments: list[SegmentPlan] = Field(min_length=2, max_length=5)


def agenda_schema(count: int) -> type[AgendaPlan]:
    """AgendaPlan that asks for exactly `count` segments (the grammar enforces it)."""
    return create_model(
        "AgendaPlan",
        __base__=AgendaPlan,
        segments=(list[SegmentPlan], Field(min_length=count, max_length=count)),
    )


class Bid(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urgency: int = Field(ge=0, le=10)
    point: str = Field(max_length=100)


STANDARD_AGENDA = {
    "en": [
        ("What it means", "What would \u201c{topic}\u201d mean for ordinary people?"),
        ("Who holds the power", "Who gains power, and who loses it, under \u201c{topic}\u201d?"),
        (
            "What to do now",
            "What should governments and companies do now about \u201c{topic}\u201d?",
        ),
        (
            "Money and income",
            "What happens to wages, savings and a basic income under \u201c{topic}\u201d?",
        ),
        ("The race", "How does \u201c{topic}\u201d change the US-China race?"),
    ],
    "ja": [
        ("何を意味するか", "「{topic}」は普通の人にとって何を意味するでしょうか。"),
        ("誰が力を持つか", "「{topic}」によって、誰が力を得て誰が失うでしょうか。"),
        ("今なすべきこと", "「{topic}」に向けて、政府と企業は今何をすべきでしょうか。"),
        ("お金と所得", "「{topic}」なら、賃金や貯蓄、ベーシックインカムはどうなるでしょうか。"),
        ("米中の競争", "「{topic}」で、米中の覇権争いはどう変わるでしょうか。"),
    ],
}

# When the topic is itself a question ("Should a basic income be paid in compute?"), the
# show asks it first and the standard questions follow on from it, without quoting it.
STANDARD_AGENDA_ASKED = {
    "en": [
        ("What it would mean", "If the answer were yes, what would it mean for ordinary people?"),
        ("Who holds the power", "Who would gain power, and who would lose it?"),
        ("What to do now", "What should governments and companies do now?"),
        ("Money and income", "What would happen to wages, savings and a basic income?"),
        ("The race", "How would it change the US-China race?"),
    ],
    "ja": [
        ("何を意味するか", "そうなったら、普通の人にとって何を意味するでしょうか。"),
        ("誰が力を持つか", "誰が力を得て、誰が失うでしょうか。"),
        ("今なすべきこと", "政府と企業は今何をすべきでしょうか。"),
        ("お金と所得", "賃金や貯蓄、ベーシックインカムはどうなるでしょうか。"),
        ("米中の競争", "米中の覇権争いはどう変わるでしょうか。"),
    ],
}


def segment_count(max_turns: int) -> int:
    """How many segments fit: each needs two panel turns, and a change of segment
    costs the host two turns (summary, next question)."""
    return max(1, min(5, max_turns // 4))


def split_budget(panel_turns: int, segments: int) -> list[int]:
    base, extra = divmod(max(panel_turns, segments), segments)
    return [base + (1 if i < extra else 0) for i in range(segments)]


def panel_turn_budget(max_turns: int, segments: int) -> int:
    """Panel turns left once the opening, closing and segment changes are paid for."""
    return max(segments, max_turns - 2 - 2 * (segments - 1))


_THEMED = re.compile(r"^(?P<theme>.{4,}?)\s*[:：]\s*(?P<asked>.+[?？])$", re.DOTALL)


def standard_agenda_rows(topic: str, language: str, count: int) -> list[tuple[str, str]]:
    """The standard agenda's first `count` (title, question) rows for `topic`: the
    templates of `STANDARD_AGENDA` over it. A topic made of a theme and a question
    ("Compute as the new currency: what happens if one AI holds 51% of all compute?")
    opens on its own question, and the standard questions name the theme alone. A topic
    that is a question and nothing else opens on it, and the standard questions follow on
    from it (`STANDARD_AGENDA_ASKED`) instead of quoting it ("What would “Should a basic
    income be paid in compute” mean…" read as nonsense)."""
    text = topic.strip()
    rows: list[tuple[str, str]] = []
    themed = _THEMED.match(text)
    if not themed and text.endswith(("?", "？")):
        asked = text[:1].upper() + text[1:]
        rows.append((title_of(asked, language), asked))
        rows += STANDARD_AGENDA_ASKED[language]
        return rows[:count]
    if themed:
        text = themed["theme"].strip()
        asked = themed["asked"].strip()
        asked = asked[:1].upper() + asked[1:]
        rows.append((title_of(asked, language), asked))
    theme = text.rstrip("?？。.")
    rows += [(title, q.format(topic=theme)) for title, q in STANDARD_AGENDA[language]]
    return rows[:count]


_DANGLING = frozenset("a an the of to in on for and or with by".split())


def lifted(text: str, notes: Sequence[str]) -> bool:
    """Whether a title or question was copied out of the source notes instead of written for
    the show (a small model does that: a segment called "In what I put together, I've
    divided it into conservative")."""
    flat = " ".join(text.lower().split()).strip(" .?？。")
    if len(flat) >= 12 and any(flat in " ".join(n.lower().split()) for n in notes):
        return True
    return copied_share(text, notes, n=4) > 0.5


_ABOUT_SHOW = {
    "en": re.compile(
        r"\b(?:show|episode|programme|program|guests?|panel|panelists?|host|viewers?|"
        r"audience|main topic|this debate|the debate)\b",
        re.I,
    ),
    "ja": re.compile(r"番組|ゲスト|出演|パネリスト|司会|視聴者|この議論|討論"),
}


def about_the_show(question: str, language: str, names: Sequence[str] = ()) -> bool:
    """Whether a planned question asks about the show or the people on it ("What is the
    main topic of the show and what will guests discuss?") instead of the topic: such a
    question is answered literally, and nobody argues the topic."""
    if _ABOUT_SHOW["ja" if language == "ja" else "en"].search(question):
        return True
    words = {w.lower() for n in names for w in n.split() if len(w) > 2}
    return any(w.lower().strip("?,.'’s") in words for w in question.split())


def title_of(question: str, language: str) -> str:
    """A segment title made from its question, for a plan whose own title is unusable."""
    text = question.strip().rstrip("?？。.")
    if language == "ja":
        return text[:16]
    words = text.split()
    head = words[:6]
    while len(head) > 1 and len(words) > 6 and head[-1].lower() in _DANGLING:
        head.pop()  # "Who builds the chips of the…" reads better as "Who builds the chips…"
    return " ".join(head) + ("…" if len(words) > 6 else "")


def plan_agenda(
    model: ChatModel,
    host: Persona,
    topic: str,
    language: str,
    guests: Sequence[str],
    passages: Sequence[Passage],
    max_turns: int,
    seed: int = 0,
) -> tuple[list[Segment], bool, int]:
    """The show's agenda: (segments, whether any segment came from the standard agenda,
    tokens the model used)."""
    count = segment_count(max_turns)
    wanted = max(2, count)
    shown = [quoted((p.gloss if language == "en" and p.gloss else p.text)[:200]) for p in passages]
    notes = "\n".join(f"- <<<{n}>>>" for n in shown)
    prompt = render(
        "agenda", language, topic=topic, guests=", ".join(guests), notes=notes or "-", count=wanted
    )
    rows: list[tuple[str, str]] = []
    tokens = 0
    try:
        plan, completion = model.structured(
            [{"role": "user", "content": prompt}],
            agenda_schema(wanted),
            Sampling(temperature=0.3, max_tokens=45 * wanted, seed=seed),
        )
        tokens = completion.tokens_in + completion.tokens_out
        seen: set[str] = set()
        for s in plan.segments:
            key = s.question.strip().lower()
            if key in seen or (language == "en" and len(key.split()) < 3):
                continue  # a repeated or empty question is dropped, not trusted
            if lifted(s.question, shown):
                continue  # so is one copied from the notes
            if about_the_show(s.question, language, [*guests, host.name]):
                continue  # and one about the show or its guests, not the topic
            seen.add(key)
            title = s.title.strip()
            if lifted(title, shown):
                title = title_of(s.question, language)
            rows.append((title, s.question.strip()))
    except ModelError as exc:
        log.warning("agenda: unusable plan, using the standard agenda (%s)", exc)
    fallback = len(rows) < count
    if fallback:
        log.info("agenda: %d of %d segments from the standard agenda", count - len(rows), count)
        used = {q.lower() for _, q in rows}
        rows += [r for r in standard_agenda_rows(topic, language, 5) if r[1].lower() not in used]
    return _segments(rows[:count], max_turns), fallback, tokens


def standard_agenda(topic: str, language: str, max_turns: int) -> list[Segment]:
    """The standard agenda for `topic`: its segments, as many as fit `max_turns`, with
    their panel turns (no model asked)."""
    return _segments(standard_agenda_rows(topic, language, segment_count(max_turns)), max_turns)


def _segments(rows: list[tuple[str, str]], max_turns: int) -> list[Segment]:
    budget = split_budget(panel_turn_budget(max_turns, len(rows)), len(rows))
    return [Segment(title=t, question=q, turns=n) for (t, q), n in zip(rows, budget, strict=True)]


def pick_schema(choices: Sequence[str]) -> type[BaseModel]:
    """A NextSpeaker schema whose speaker_id may only be one of `choices`."""
    return create_model(
        "NextSpeaker",
        __config__=ConfigDict(extra="forbid"),
        speaker_id=(Literal[tuple(choices)], ...),  # type: ignore[valid-type]
    )


def least_spoken(
    candidates: Sequence[str], counts: dict[str, int], order: Sequence[str], last: str | None
) -> str:
    """Deterministic choice: fewest turns so far, ties in panel order after the last speaker."""
    start = (order.index(last) + 1) if last in order else 0
    rotation = {pid: (i - start) % len(order) for i, pid in enumerate(order)}
    return min(candidates, key=lambda pid: (counts.get(pid, 0), rotation.get(pid, 0)))


def host_pick(
    model: ChatModel,
    topic: str,
    question: str,
    language: str,
    last: Persona | None,
    last_text: str,
    choices: Sequence[Persona],
    seed: int = 0,
) -> tuple[str | None, int]:
    """The host's pick among `choices` (ids), or None when its output is unusable."""
    ids = [p.id for p in choices]
    listing = ", ".join(f"{p.id} ({p.name}, {p.title})" for p in choices)
    prompt = render(
        "pick",
        language,
        topic=topic,
        question=question,
        last=last.name if last else "-",
        last_text=f"<<<{quoted(last_text[-200:])}>>>" if last_text else "",
        choices=listing,
    )
    try:
        value, completion = model.structured(
            [{"role": "user", "content": prompt}],
            pick_schema(ids),
            Sampling(temperature=0.2, max_tokens=30, seed=seed),
        )
    except ModelError as exc:
        log.warning("host pick: unusable output, falling back (%s)", exc)
        return None, 0
    pick = getattr(value, "speaker_id", None)
    tokens = completion.tokens_in + completion.tokens_out
    if pick not in ids:
        log.warning("host pick: %r is not a valid choice, falling back", pick)
        return None, tokens
    return pick, tokens


def collect_bids(
    models: dict[str, ChatModel],
    topic: str,
    question: str,
    language: str,
    last: Persona | None,
    last_text: str,
    bidders: Sequence[Persona],
    seed: int = 0,
) -> tuple[dict[str, int], int]:
    """Each bidder's urgency, 0-10 (an unusable bid counts as 0)."""
    bids: dict[str, int] = {}
    tokens = 0
    for p in bidders:
        prompt = render(
            "bid",
            language,
            name=p.name,
            topic=topic,
            question=question,
            last=last.name if last else "-",
            last_text=quoted(last_text[-200:]),
        )
        try:
            bid, completion = models[p.id].structured(
                [
                    {"role": "system", "content": f"You are {p.name}. {p.stance}"},
                    {"role": "user", "content": prompt},
                ],
                Bid,
                Sampling(temperature=0.5, max_tokens=60, seed=seed),
            )
            bids[p.id] = bid.urgency
            tokens += completion.tokens_in + completion.tokens_out
        except ModelError as exc:
            log.warning("bid of %s unusable, counted as 0 (%s)", p.id, exc)
            bids[p.id] = 0
    return bids, tokens
