"""Speaker selection policies: who of the panelists speaks next.

round-robin     panelists in turn; each segment opens with the panelist its question
                speaks to most (not the last speaker, nobody a turn ahead)
host-directed   the host's model picks among valid ids: never the last speaker,
                nobody more than one turn ahead of the least heard; a panelist
                named by the last turn gets the floor if valid; unusable picks
                fall back deterministically
bidding         each panelist bids 0-10; highest wins, ties to the one who spoke least
addressed-reply a turn that names a panelist hands that panelist the next turn
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.claims import fit
from agents.host import collect_bids, host_pick, least_spoken
from core.models import Turn
from graphs.context import ShowContext
from graphs.state import ShowState


@dataclass(frozen=True)
class Pick:
    speaker_id: str
    fallback: bool = False
    tokens: int = 0
    asked: bool = False  # a model was asked (host pick or bids)


def _panel_turns(turns: list[Turn], ctx: ShowContext) -> list[Turn]:
    ids = {p.id for p in ctx.panelists}
    return [t for t in turns if t.speaker_id in ids]


def _counts(turns: list[Turn], ctx: ShowContext) -> dict[str, int]:
    counts = {p.id: 0 for p in ctx.panelists}
    for t in _panel_turns(turns, ctx):
        counts[t.speaker_id] += 1
    return counts


def _last_panelist(turns: list[Turn], ctx: ShowContext) -> str | None:
    spoken = _panel_turns(turns, ctx)
    return spoken[-1].speaker_id if spoken else None


def _addressed(turns: list[Turn], ctx: ShowContext) -> str | None:
    """A panelist the last turn handed the floor to, if any."""
    if not turns:
        return None
    target = turns[-1].addressed_to
    ids = {p.id for p in ctx.panelists}
    return target if target in ids and target != turns[-1].speaker_id else None


def round_robin(state: ShowState, ctx: ShowContext) -> Pick:
    """Panelists in turn. Each segment opens with the panelist its question speaks to
    most (`_opener`), and the panelist the host put a question to answers it; the
    others follow in panel order from there."""
    turns = state.get("turns", [])
    order = [p.id for p in ctx.panelists]
    if turns and turns[-1].speaker_id == ctx.host.id and turns[-1].addressed_to in order:
        return Pick(turns[-1].addressed_to)  # type: ignore[arg-type]
    seg = state.get("segment", 0)
    if not any(t.segment == seg and t.speaker_id in order for t in turns):
        return Pick(_opener(state, ctx))
    last = _last_panelist(turns, ctx)
    assert last is not None
    return Pick(order[(order.index(last) + 1) % len(order)])


def _opener(state: ShowState, ctx: ShowContext) -> str:
    """Who opens a segment: of the panelists the host may turn to (`_eligible`: not the
    last to speak, nobody more than one turn ahead), the one whose themes share the most
    words with what the segment's question asks and is about (`agents.claims.fit`; the
    show's headline question goes to the panelist who argues it), then the one who has
    spoken least, then panel order."""
    turns = state.get("turns", [])
    agenda = state.get("agenda") or []
    seg = state.get("segment", 0)
    topic = state.get("topic", "")
    question = agenda[seg].question if seg < len(agenda) else topic
    counts = _counts(turns, ctx)
    able = set(_eligible(turns, ctx, _last_panelist(turns, ctx)))
    language = state.get("language", "en")
    return max(
        (p for p in ctx.panelists if p.id in able),
        key=lambda p: (fit(p, question, topic, language), -counts[p.id]),
    ).id


def addressed_reply(state: ShowState, ctx: ShowContext) -> Pick:
    target = _addressed(state.get("turns", []), ctx)
    return Pick(target) if target else round_robin(state, ctx)


def _eligible(turns: list[Turn], ctx: ShowContext, last: str | None) -> list[str]:
    """Panelists the host may turn to: not the last speaker, and nobody more than one
    turn ahead of whoever has spoken least (a host spreads the floor)."""
    counts = _counts(turns, ctx)
    floor = min(counts.values())
    ids = [p.id for p in ctx.panelists if p.id != last and counts[p.id] <= floor + 1]
    return ids or [p.id for p in ctx.panelists if p.id != last] or [p.id for p in ctx.panelists]


def host_directed(state: ShowState, ctx: ShowContext) -> Pick:
    turns = state.get("turns", [])
    last = _last_panelist(turns, ctx)
    eligible = _eligible(turns, ctx, last)
    target = _addressed(turns, ctx)
    if target and target in eligible:
        return Pick(target)
    if len(eligible) == 1:
        return Pick(eligible[0])
    # Offer the choices in a rotating order, so a small model's bias for the first
    # listed name does not decide the show.
    shift = (ctx.seed + len(turns)) % len(eligible)
    choices = [ctx.persona(pid) for pid in eligible[shift:] + eligible[:shift]]
    question = state["agenda"][state.get("segment", 0)].question
    last_persona = ctx.persona(turns[-1].speaker_id) if turns else None
    pick, tokens = host_pick(
        ctx.model_for(ctx.host.id),
        state["topic"],
        question,
        state["language"],
        last_persona,
        turns[-1].text if turns else "",
        choices,
        seed=ctx.seed + len(turns),
    )
    if pick is None:
        order = [p.id for p in ctx.panelists]
        fallback = least_spoken(eligible, _counts(turns, ctx), order, last)
        return Pick(fallback, fallback=True, tokens=tokens, asked=True)
    return Pick(pick, tokens=tokens, asked=True)


def bidding(state: ShowState, ctx: ShowContext) -> Pick:
    turns = state.get("turns", [])
    target = _addressed(turns, ctx)
    if target:
        return Pick(target)
    last = _last_panelist(turns, ctx)
    bidders = [p for p in ctx.panelists if p.id != last] or list(ctx.panelists)
    question = state["agenda"][state.get("segment", 0)].question
    bids, tokens = collect_bids(
        {p.id: ctx.model_for(p.id) for p in bidders},
        state["topic"],
        question,
        state["language"],
        ctx.persona(turns[-1].speaker_id) if turns else None,
        turns[-1].text if turns else "",
        bidders,
        seed=ctx.seed + len(turns),
    )
    top = max(bids.values())
    tied = [pid for pid, b in bids.items() if b == top]
    order = [p.id for p in ctx.panelists]
    winner = least_spoken(tied, _counts(turns, ctx), order, last)
    return Pick(winner, tokens=tokens, asked=True)


POLICIES = {
    "round-robin": round_robin,
    "host-directed": host_directed,
    "bidding": bidding,
    "addressed-reply": addressed_reply,
}


def pick_next(state: ShowState, ctx: ShowContext) -> Pick:
    try:
        policy = POLICIES[ctx.policy]
    except KeyError:
        raise ValueError(f"unknown speaker policy {ctx.policy!r}") from None
    return policy(state, ctx)
