"""One function per node of the show: plan, open, select, moderate, retrieve, speak, close."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agents.claims import (
    Previous,
    aspects_of,
    at_the_table,
    choose_claim,
    in_sequence,
    leans_elsewhere,
    own_words,
    recap,
    reported_in,
)
from agents.host import plan_agenda, standard_agenda
from agents.personas import Persona
from agents.speaker import TurnRequest
from agents.speaker import speak as speak_turn
from core.claims import SourceSentence, claims_made, used_keys
from core.models import Claim, Passage, Turn
from graphs import events
from graphs.context import ShowContext
from graphs.policies import pick_next
from graphs.state import NextTurn, ShowState
from prompts import name_list, render

Update = dict[str, Any]
TOKEN_FLUSH_S = 0.05  # tokens are handed to front ends in batches at most this old
RECENT = 3  # passages cited in this many last turns are offered again only if nothing else fits
# A reply's search adds the last QUERY_TAIL characters of the turn it answers: query encoding
# costs grow with a query's length (docs/ARCHITECTURE.md has the figures), and the end of a
# turn is where its point lands.
QUERY_TAIL = 160


def _emit(event: Any) -> None:
    try:
        writer = get_stream_writer()
    except RuntimeError:  # called outside a graph run (unit tests of a node)
        return
    writer(event)


class TokenBatcher:
    """Hands streamed text to front ends in small batches.

    One event per token would wake the consuming thread for every token and
    fight the generating thread for the GIL; batches every ~50 ms look the same
    on screen and leave the model its full speed.
    """

    def __init__(self, index: int) -> None:
        self.index = index
        self.parts: list[str] = []
        self.last = time.perf_counter()

    def __call__(self, piece: str) -> None:
        self.parts.append(piece)
        now = time.perf_counter()
        if now - self.last >= TOKEN_FLUSH_S:
            self.flush()
            self.last = now

    def flush(self) -> None:
        if self.parts:
            _emit(events.Token(self.index, "".join(self.parts)))
            self.parts = []


def timed(fn: Callable[[ShowState, Runtime[ShowContext]], Update]) -> Callable[..., Update]:
    """Add the node's own duration to the show's elapsed time (kept across resumes)."""

    @functools.wraps(fn)
    def wrapper(state: ShowState, runtime: Runtime[ShowContext]) -> Update:
        began = time.perf_counter()
        update = fn(state, runtime)
        update["elapsed_s"] = time.perf_counter() - began
        return update

    return wrapper


def spoken_turns(state: ShowState) -> int:
    """Turns the models spoke (a producer's interjection is not one of them)."""
    return sum(1 for t in state.get("turns", []) if t.kind != "interjection")


def _label(p: Persona) -> str:
    return p.label


@timed
def plan(state: ShowState, runtime: Runtime[ShowContext]) -> Update:
    ctx = runtime.context
    if ctx.agenda == "standard":
        agenda = standard_agenda(state["topic"], state["language"], ctx.max_turns)
        fallback, tokens = False, 0
    else:
        agenda, fallback, tokens = plan_agenda(
            ctx.model_for(ctx.host.id),
            ctx.host,
            state["topic"],
            state["language"],
            [_label(p) for p in ctx.panelists],
            ctx.search(state["topic"], 3, None),
            ctx.max_turns,
            seed=ctx.seed,
        )
    _emit(events.AgendaPlanned(agenda, fallback))
    _emit(events.SegmentStarted(0, agenda[0].title, agenda[0].question))
    return {
        "agenda": agenda,
        "segment": 0,
        "seg_turns": 0,
        "summarized": False,
        "tokens_used": tokens,
    }


@timed
def open_show(state: ShowState, runtime: Runtime[ShowContext]) -> Update:
    ctx = runtime.context
    first = pick_next(state, ctx)
    return {
        "next_turn": NextTurn(
            speaker_id=ctx.host.id, kind="opening", addressed_to=first.speaker_id
        ),
        "tokens_used": first.tokens,
        "fallback_picks": 1 if first.fallback else 0,
        "model_picks": 1 if first.asked else 0,
    }


def _stop_reason(state: ShowState, ctx: ShowContext) -> str | None:
    if spoken_turns(state) >= ctx.max_turns - 1:
        return "max_turns"
    if ctx.token_budget is not None and state.get("tokens_used", 0) >= ctx.token_budget:
        return "token_budget"
    if ctx.time_budget_s is not None and state.get("elapsed_s", 0.0) >= ctx.time_budget_s:
        return "time_budget"
    return None


@timed
def select(state: ShowState, runtime: Runtime[ShowContext]) -> Update:
    """Decide the next turn: a producer's question, a segment change, a panelist, or the end."""
    ctx = runtime.context
    reason = _stop_reason(state, ctx)
    # A producer's question is answered even when the turn count is reached;
    # only a token or time budget overrules it.
    if state.get("pending") and reason in (None, "max_turns"):
        return {"next_turn": None}
    if reason:
        return {"next_turn": None, "stop_reason": reason}
    agenda = state["agenda"]
    seg = state.get("segment", 0)
    turns = state.get("turns", [])
    if state.get("seg_turns", 0) >= agenda[seg].turns:
        if seg + 1 >= len(agenda):
            return {"next_turn": None, "stop_reason": "agenda_done"}
        if spoken_turns(state) + 3 > ctx.max_turns:  # summary, question, closing
            return {"next_turn": None, "stop_reason": "max_turns"}
        if not state.get("summarized"):
            return {
                "next_turn": NextTurn(speaker_id=ctx.host.id, kind="summary"),
                "summarized": True,
            }
        nxt = {**state, "segment": seg + 1}
        first = pick_next(nxt, ctx)  # type: ignore[arg-type]
        segment = agenda[seg + 1]
        _emit(events.SegmentStarted(seg + 1, segment.title, segment.question))
        return {
            "segment": seg + 1,
            "seg_turns": 0,
            "summarized": False,
            "next_turn": NextTurn(
                speaker_id=ctx.host.id, kind="question", addressed_to=first.speaker_id
            ),
            "tokens_used": first.tokens,
        }
    pick = pick_next(state, ctx)
    last = turns[-1] if turns else None
    kind = "rebuttal" if last is not None and last.speaker_id != ctx.host.id else "argument"
    return {
        "next_turn": NextTurn(speaker_id=pick.speaker_id, kind=kind),
        "tokens_used": pick.tokens,
        "fallback_picks": 1 if pick.fallback else 0,
        "model_picks": 1 if pick.asked else 0,
    }


@timed
def moderate(state: ShowState, runtime: Runtime[ShowContext]) -> Update:
    """Put the producer's pending question to the panel, word for word, as a turn;
    the panelist it is put to (or the policy's pick) answers next."""
    ctx = runtime.context
    pending = state["pending"]
    assert pending is not None
    index = len(state.get("turns", []))
    text = render(f"interjection_{pending.voice}", state["language"], text=pending.text)
    target = pending.to if pending.to in {p.id for p in ctx.panelists} else None
    _emit(events.TurnStarted(index, ctx.host.id, "interjection", state.get("segment", 0)))
    turn = Turn(
        index=index,
        speaker_id=ctx.host.id,
        kind="interjection",
        text=text,
        addressed_to=target,
        segment=state.get("segment", 0),
        model="producer",
    )
    _emit(events.Token(index, text))
    _emit(events.TurnFinished(turn))
    answerer = target or pick_next({**state, "turns": [*state.get("turns", []), turn]}, ctx)
    speaker = answerer if isinstance(answerer, str) else answerer.speaker_id
    return {
        "turns": [turn],
        "pending": None,
        "next_turn": NextTurn(speaker_id=speaker, kind="argument", producer_question=pending.text),
    }


def _searches_with_tail(state: ShowState, nxt: NextTurn, reply_search: str) -> bool:
    """Whether this turn's passages are searched with the end of the turn it answers: in
    `tail` mode, and in `claim` mode when that turn made no claim."""
    if nxt.kind not in ("rebuttal", "summary"):
        return False
    if reply_search == "claim":
        turns = state.get("turns", [])
        return bool(turns) and turns[-1].claim is None
    return reply_search == "tail"


def _query(state: ShowState, nxt: NextTurn, reply_search: str = "tail") -> tuple[str, ...]:
    """The parts of a turn's search (`PassageIndex.search` encodes each on its own): the
    segment question (after a producer's question; after the topic for the opening and
    closing), and for a reply in `claim` mode the claim of the turn it answers, in `tail`
    mode that turn's last QUERY_TAIL characters. A claim is a sentence of the source, so
    replies in many debates of one process search with the same few, and their
    encodings are cached."""
    parts = [_segment_question(state)]
    if nxt.producer_question:
        parts.insert(0, nxt.producer_question)
    turns = state.get("turns", [])
    if turns and nxt.kind in ("rebuttal", "summary"):
        claim = turns[-1].claim
        if reply_search == "claim" and claim is not None:
            parts.append(claim.text)
        elif _searches_with_tail(state, nxt, reply_search):
            parts.append(_tail(turns[-1].text, QUERY_TAIL))
    if nxt.kind in ("opening", "closing"):
        parts.insert(0, state["topic"])
    if nxt.kind in _ARGUED and not nxt.producer_question:
        about = aspects_of(_segment_question(state))
        if about:
            parts.append(about)  # what the question is about, in the field's words
    return tuple(parts)


def _segment_question(state: ShowState) -> str:
    """The question of the segment under way (the topic before there is an agenda)."""
    agenda = state.get("agenda") or []
    return agenda[state.get("segment", 0)].question if agenda else state["topic"]


def _question(state: ShowState, nxt: NextTurn) -> str:
    """The question a turn answers: the producer's, else its segment's."""
    return nxt.producer_question or _segment_question(state)


def _tail(text: str, limit: int) -> str:
    """The last `limit` characters of `text`, from a word start where words are spaced."""
    if len(text) <= limit:
        return text
    tail = text[-limit:]
    head, space, rest = tail.partition(" ")
    return rest if space and len(head) < 20 and rest else tail


def _prefer_fresh(
    found: list[Passage], turns: list[Turn], k: int, host: str | None = None
) -> list[Passage]:
    """The first `k` of `found`, passed over where another fits: the passages the last
    turn was given (so one voice does not hand the next the same note to echo) and those
    that hold lines cited in the last RECENT turns; the host's turns (`host`: its id)
    take nothing from the panel."""
    panel = [t for t in turns if t.speaker_id != host]
    cited = [c for t in panel[-RECENT:] for c in t.citations]
    given: list[Passage] = []
    if turns and turns[-1].speaker_id != host:
        given = list(turns[-1].passages)

    def recent(p: Passage) -> bool:
        if any(
            (q.source_id, q.line_start, q.line_end) == (p.source_id, p.line_start, p.line_end)
            for q in given
        ):
            return True
        return any(
            c.source_id == p.source_id and c.line_start <= p.line_end and p.line_start <= c.line_end
            for c in cited
        )

    fresh = [p for p in found if not recent(p)]
    stale = [p for p in found if p not in fresh]
    return (fresh + stale)[:k]


@timed
def retrieve(state: ShowState, runtime: Runtime[ShowContext]) -> Update:
    ctx = runtime.context
    nxt = state["next_turn"]
    assert nxt is not None
    index = len(state.get("turns", []))
    passages, claim = _grounds(state, ctx, nxt)
    update: Update = {}
    simulated = ctx.persona(nxt.speaker_id).simulated
    if claim is None and simulated and nxt.kind in _ARGUED and ctx.book is not None:
        # Nothing the source reports this person saying is left: another panelist takes
        # the turn rather than the simulated person saying words of the model's own.
        # (A plain search function knows no source sentences to look further in; its
        # turns go on as it gives them.)
        for other in _stand_ins(state, ctx, nxt):
            instead = nxt.model_copy(update={"speaker_id": other.id, "addressed_to": None})
            found, chosen = _grounds(state, ctx, instead)
            if chosen is not None:
                nxt, passages, claim = instead, found, chosen
                update["next_turn"] = instead
                break
    _emit(events.TurnStarted(index, nxt.speaker_id, nxt.kind, state.get("segment", 0)))
    _emit(events.PassagesRetrieved(index, passages))
    return {"passages": passages, "claim": claim, **update}


_ARGUED = ("argument", "rebuttal")


def _stand_ins(state: ShowState, ctx: ShowContext, nxt: NextTurn) -> list[Persona]:
    """Who may take a simulated persona's turn: the panelists who are not simulated and
    did not speak last, those who spoke least first (then in panel order)."""
    turns = state.get("turns", [])
    last = turns[-1].speaker_id if turns else None
    spoken = {p.id: sum(1 for t in turns if t.speaker_id == p.id) for p in ctx.panelists}
    able = [p for p in ctx.panelists if not p.simulated and p.id != last and p.id != nxt.speaker_id]
    return sorted(able, key=lambda p: spoken[p.id])


def _grounds(
    state: ShowState, ctx: ShowContext, nxt: NextTurn
) -> tuple[list[Passage], Claim | None]:
    """A turn's passages, and a panelist's claim chosen from them. The turn shows the
    first `passages_per_turn` passages of its search; the claim is chosen from the
    whole search (the rank weighs in), and the passage that holds it joins the turn's.
    A reply whose claim answered has lines the source charts against it also looks in
    the passages that hold those. A panelist left only another's line searches again
    with its stance. A simulated persona claims only what the source reports its person
    saying (`agents.claims.reports`); when the search holds none that is left, the
    passages that hold such sentences are found and chosen from.
    A host's summary or closing is grounded in the claims it recaps: their passages,
    with no search."""
    recapped = _recapped(state, ctx, nxt)
    if recapped:
        turns = {t.index: t for t in state.get("turns", [])}
        held: list[Passage] = []
        for index, claim in recapped:
            for p in turns[index].passages:
                if p.covers(claim.source_id, claim.line_start, claim.line_end) and p not in held:
                    held.append(p)
                    break
        return held, None
    turns = state.get("turns", [])
    found = _found(state, ctx, nxt)
    # The lines that answer the question best are often a few places down the search.
    ordered = _prefer_fresh(found, turns, len(found), ctx.host.id)
    passages = ordered[: ctx.passages_per_turn]
    persona = ctx.persona(nxt.speaker_id)
    if persona.role != "panelist":
        return passages, None
    language = state["language"]
    previous = _previous(state, ctx, nxt)

    def opposes(claim: Claim | None) -> bool:
        """Whether the source's chart sets `claim` against the claim this turn answers."""
        return (
            claim is not None
            and previous is not None
            and ctx.book is not None
            and ctx.book.opposes(claim, previous.claim)
        )

    claim, holder = _claim_in(state, ctx, nxt, ordered)
    if holder is not None and holder not in passages:
        passages = [*passages, holder]
    if previous is not None and ctx.book is not None:
        # The source charts lines against the claim this turn answers: their passages
        # join the pool, and a reply taken from one of them joins the turn's passages.
        used = used_keys(turns)
        against = [s for s, _ in ctx.book.opponents(previous.claim)]
        against = [s for s in against if s.claim(language).key not in used]
        more = _holding(ctx, against, language, persona.sources, ordered)
        if more:
            answer, holder = _claim_in(state, ctx, nxt, [*ordered, *more])
            if holder is not None and opposes(answer):
                claim = answer
                passages = passages if holder in passages else [*passages, holder]
    if (
        ctx.book is not None
        and not persona.simulated
        and (claim is None or leans_elsewhere(claim, persona, ctx.panelists, language))
        and not opposes(claim)
    ):
        # The turn's search left this speaker nothing of their own to say (what is left
        # is used up, or another panelist's line): search again with the question and
        # the speaker's stance, and take a claim found there that is theirs. (A plain
        # search function, with no source sentences, goes on with what it gives.)
        leaning = ctx.search(
            (_question(state, nxt), persona.stance), _search_k(ctx), persona.sources
        )
        pool = _prefer_fresh(leaning, turns, len(leaning), ctx.host.id)
        other, holder = _claim_in(state, ctx, nxt, [p for p in pool if p not in passages])
        if other is not None and not leans_elsewhere(other, persona, ctx.panelists, language):
            claim, passages = other, [*passages, holder]
    if claim is None and persona.simulated and ctx.book is not None:
        # A simulated person says only what the source reports them saying: when the
        # turn's search holds none of it that is left, the passages that do are found.
        reported = reported_in(ctx.book, persona, language)
        claim, holder = _claim_in(
            state, ctx, nxt, _holding(ctx, reported, language, persona.sources, passages)
        )
        if claim is not None:
            passages = [*passages, holder]
    return passages, claim


def _holding(
    ctx: ShowContext,
    sentences: Sequence[SourceSentence],
    language: str,
    sources: list[str] | None,
    besides: Sequence[Passage],
) -> list[Passage]:
    """The passages, not among `besides`, that hold `sentences`: each sentence searched
    with its own words, and the first of its three best passages that covers its line
    taken."""
    more: list[Passage] = []
    for sentence in sentences:
        for p in ctx.search(sentence.shown(language), 3, sources):
            if p.covers(sentence.source_id, sentence.line, sentence.line):
                if p not in besides and p not in more:
                    more.append(p)
                break
    return more


def _claim_in(
    state: ShowState, ctx: ShowContext, nxt: NextTurn, pool: list[Passage]
) -> tuple[Claim | None, Passage | None]:
    """A claim chosen from `pool` (`_claim_for`) and the passage of the pool that holds
    it; (None, None) when the pool holds none."""
    claim = _claim_for(state, ctx, nxt, pool)
    if claim is None:
        return None, None
    holder = next(p for p in pool if p.covers(claim.source_id, claim.line_start, claim.line_end))
    return claim, holder


def _search_k(ctx: ShowContext) -> int:
    """Passages a turn's search asks for: enough left after those passed over as recent."""
    return 2 * ctx.passages_per_turn + RECENT


def _found(state: ShowState, ctx: ShowContext, nxt: NextTurn) -> list[Passage]:
    return ctx.search(
        _query(state, nxt, ctx.reply_search), _search_k(ctx), ctx.persona(nxt.speaker_id).sources
    )


def _passages(state: ShowState, ctx: ShowContext, nxt: NextTurn) -> list[Passage]:
    found = _found(state, ctx, nxt)
    return _prefer_fresh(found, state.get("turns", []), ctx.passages_per_turn, ctx.host.id)


def _claim_for(
    state: ShowState, ctx: ShowContext, nxt: NextTurn, passages: list[Passage]
) -> Claim | None:
    """The claim a panelist's turn argues (`agents.claims.choose_claim`): it answers the
    previous turn's claim when that turn was another panelist's, in the same segment."""
    turns = state.get("turns", [])
    question = _question(state, nxt)
    return choose_claim(
        ctx.persona(nxt.speaker_id),
        passages,
        language=state["language"],
        question=question,
        used=used_keys(turns),
        claimed_lines={(c.source_id, c.line_start) for _, c in claims_made(turns)},
        previous=_previous(state, ctx, nxt),
        panel=ctx.panel,
        book=ctx.book,
        seed=ctx.seed,
        topic=state["topic"],
    )


def _previous(state: ShowState, ctx: ShowContext, nxt: NextTurn) -> Previous | None:
    """The claim this turn answers: the previous turn's, when that turn was another
    panelist's, in the same segment, and no producer's question came between."""
    turns = state.get("turns", [])
    last = turns[-1] if turns else None
    if (
        last is not None
        and last.claim is not None
        and last.segment == state.get("segment", 0)
        and last.speaker_id != nxt.speaker_id
        and not nxt.producer_question
    ):
        return Previous(ctx.persona(last.speaker_id), last.claim, last.index)
    return None


def _recapped(state: ShowState, ctx: ShowContext, nxt: NextTurn) -> list[tuple[int, Claim]]:
    """The claims a host's summary or closing names, with the turns that made them: a
    summary, those of the segment; a closing, each panelist's latest claim, where the
    debate had a clash its last one and the claim it answered in their place (a closing
    that named the first claims left the last segment out; one that named the clash
    alone left a panelist out). Empty for other turns."""
    if nxt.speaker_id != ctx.host.id or nxt.kind not in ("summary", "closing"):
        return []
    turns = state.get("turns", [])
    made = [(t.index, c) for t, c in claims_made(turns)]
    if nxt.kind == "summary":
        seg = state.get("segment", 0)
        by_index = {t.index: t for t in turns}
        return [(i, c) for i, c in made if by_index[i].segment == seg]
    latest: dict[str, tuple[int, Claim]] = {}
    by_speaker = {t.index: t.speaker_id for t in turns}
    for i, c in made:
        latest[by_speaker[i]] = (i, c)  # the segments' summaries named the earlier ones
    challenges = [(i, c) for i, c in made if c.move == "challenge" and c.answers is not None]
    if challenges:
        # the debate's last clash, and every other panelist's latest claim beside it
        i, c = challenges[-1]
        pair = [*[(j, d) for j, d in made if j == c.answers], (i, c)]
        named = {by_speaker[j] for j, _ in pair}
        rest = [ic for speaker, ic in latest.items() if speaker not in named]
        return sorted([*pair, *rest], key=lambda ic: ic[0])
    return sorted(latest.values(), key=lambda ic: ic[0])


def _addressee(text: str, speaker_id: str, ctx: ShowContext) -> str | None:
    """The first other panelist the text names (full, first or last name)."""
    best: tuple[int, str] | None = None
    for p in ctx.panelists:
        if p.id == speaker_id:
            continue
        for name in {p.name, *p.name.split()}:
            if len(name) < 3:
                continue
            m = re.search(rf"\b{re.escape(name)}\b", text)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), p.id)
    return best[1] if best else None


def _request(state: ShowState, ctx: ShowContext, nxt: NextTurn) -> TurnRequest:
    turns = state.get("turns", [])
    seg = state.get("segment", 0)
    previous = None
    if turns:
        prev = turns[-1]
        previous = (ctx.persona(prev.speaker_id).name, prev.text)
    return TurnRequest(
        index=len(turns),
        kind=nxt.kind,
        topic=state["topic"],
        question=state["agenda"][seg].question,
        language=state["language"],
        passages=list(state.get("passages", [])),
        segment=seg,
        previous=previous,
        producer_question=nxt.producer_question,
        guests=[_label(p) for p in ctx.panelists],
        first=ctx.persona(nxt.addressed_to).name if nxt.addressed_to else "",
        addressed_to=nxt.addressed_to,
        earlier=[t.text for t in turns],
        seed=ctx.seed,
        claim=at_the_table(
            state.get("claim"), ctx.persona(nxt.speaker_id), ctx.panel, state["language"]
        ),
        history=[(ctx.persona(t.speaker_id).name, t.text) for t in turns[-2:]],
        allowed=_allowed(state, ctx),
    )


def _allowed(state: ShowState, ctx: ShowContext) -> list[str]:
    """Texts whose names, dates and figures a turn may use besides its source: the topic,
    the agenda's questions and the persona cards."""
    from agents.personas import card_texts

    agenda = state.get("agenda") or []
    return [state["topic"], *(s.question for s in agenda), *card_texts(ctx.panel)]


@timed
def speak(state: ShowState, runtime: Runtime[ShowContext]) -> Update:
    ctx = runtime.context
    nxt = state["next_turn"]
    assert nxt is not None
    persona = ctx.persona(nxt.speaker_id)
    req = _request(state, ctx, nxt)
    index = req.index
    recapped = _recapped(state, ctx, nxt)
    if recapped:
        turn = _recap_turn(state, ctx, req, recapped)
        _emit(events.Token(index, turn.text))
    else:
        batcher = TokenBatcher(index)
        spoken = speak_turn(
            ctx.model_for(persona.id),
            persona,
            req,
            others=[p.name for p in ctx.panel if p.id != persona.id],
            temperature=ctx.temperature_for(persona.id),
            max_tokens=ctx.turn_max_tokens,
            on_token=batcher,
            on_discard=lambda why: (batcher.flush(), _emit(events.TurnDiscarded(index, why))),
            check=ctx.check,
        )
        batcher.flush()
        turn = spoken.turn
        said = state.get("claim")
        if said is not None and turn.claim is not None and turn.claim.key == said.key:
            # the claim as the source words it (the request's may be said at the table)
            turn.claim = turn.claim.model_copy(update={"text": said.text})
    if persona.role == "panelist" and turn.addressed_to is None:
        turn.addressed_to = _addressee(turn.text, persona.id, ctx)
    _emit(events.TurnFinished(turn))
    update: Update = {
        "turns": [turn],
        "next_turn": None,
        "passages": [],
        "claim": None,
        "tokens_used": turn.tokens_in + turn.tokens_out,
    }
    if persona.role == "panelist":
        update["seg_turns"] = state.get("seg_turns", 0) + 1
    return update


def _recap_turn(
    state: ShowState, ctx: ShowContext, req: TurnRequest, recapped: list[tuple[int, Claim]]
) -> Turn:
    """The host's summary or closing, made of the claims it names and who made them
    (`agents.claims.recap`): no model writes it, so it names nothing else."""
    turns = {t.index: t for t in state.get("turns", [])}
    host = ctx.host
    language = req.language
    said = [
        (i, c.model_copy(update={"text": own_words(turns[i].text, c, language)}))
        for i, c in recapped
    ]
    made = [(ctx.persona(turns[i].speaker_id).label, c) for i, c in in_sequence(said)]
    said = recap(made, language, [c.text for _, c in recapped])
    if req.kind == "summary":
        openers = host.summary_openers.get(language, [])
        opener = openers[(req.index + req.seed) % len(openers)] if openers else ""
        text = f"{opener} {said}".strip()
    else:
        guests = name_list(req.guests, language)
        text = render("closing_claims", language, recap=said, guests=guests)
    return Turn(
        index=req.index,
        speaker_id=host.id,
        kind=req.kind,
        text=text,
        citations=[c.citation() for _, c in recapped],
        passages=list(req.passages),
        segment=req.segment,
        model="template",
        voiced_by="template",
    )


@timed
def close(state: ShowState, runtime: Runtime[ShowContext]) -> Update:
    ctx = runtime.context
    return {
        "next_turn": NextTurn(speaker_id=ctx.host.id, kind="closing"),
        "stop_reason": state.get("stop_reason") or "agenda_done",
    }
