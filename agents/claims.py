"""Claim first: what a panelist's turn argues is chosen in code, before the model speaks.

From the passages retrieved for a turn, `choose_claim` picks one source sentence (its
English gloss in an English debate) that fits the segment question and the speaker's
themes and stance, and that the debate has not claimed yet; for a reply, the sentence
that best answers the previous turn's claim from this speaker's side. The move says how
it stands to that claim: `open` (the first word on a question), `extend` or `challenge`.
The claim's lines are the turn's citation, known before a word is spoken.

`stated` is the plain statement of a claim after a lead-in for its move: what a turn says
when no draft of the model passes its check. `recap` names the claims a
segment made, with who made them, for the host's summaries and closing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agents.personas import Persona
from core.claims import (
    ClaimBook,
    SourceSentence,
    asserted,
    claimable,
    pieces,
    stands_alone,
    turned,
    words_of,
)
from core.models import Claim, Move, Passage
from core.text import terms
from prompts import render, template_text

# Weights of what makes a sentence this turn's claim (all counts of shared content words).
QUESTION_WEIGHT = 1.0  # words it shares with the segment question
THEME_WEIGHT = 1.5  # words of the speaker's themes and stance
OTHERS_WEIGHT = 1.0  # words of another panelist's themes (the line is better theirs)
LINK_WEIGHT = 0.8  # a reply: words it shares with the claim it answers
SIDE_WEIGHT = 1.0  # a reply: the speaker's themes over the previous speaker's
CONTRAST_WEIGHT = 1.0  # a reply: a word of contrast or negation (it can oppose the claim)
RANK_WEIGHT = 1.0  # the retrieval rank of its passage (1 / (1 + rank))
NOT_ALONE = 2.0  # opens on a pronoun pointing back ("He went as far as…")
SELF_NAMED = 3.0  # names the speaker (a persona does not speak of itself in the third person)
OTHER_NAMED = 1.5  # names someone else at the table (talks about them, not to the question)
SEED_MARGIN = 1.0  # candidates this close to the best are the seed's to choose among
SAME_LINE = 0.5  # a line another turn has claimed from already
LONG_WORDS = 45  # longer claims are harder to voice in two or three sentences
GIST_WORDS = 24
THEIRS_BY = 3  # a claim with this many more words of another panelist's themes is theirs


@dataclass(frozen=True)
class Previous:
    """The claim a reply answers: who made it, in which turn."""

    persona: Persona
    claim: Claim
    turn: int


@dataclass(frozen=True)
class Candidate:
    """A source sentence (or a part of a long one) that a turn could claim."""

    claim: Claim
    rank: int  # of its passage in the turn's retrieval
    score: float = 0.0


def theme_terms(persona: Persona, language: str) -> frozenset[str]:
    """The content words a persona's claims lean to: its themes, stance and bio."""
    themes = " ".join(persona.themes.get(language, []) or persona.themes.get("en", []))
    return terms(f"{themes} {persona.stance}")


def candidates(
    passages: Sequence[Passage],
    language: str,
    *,
    book: ClaimBook | None = None,
    names: Sequence[str] = (),
    voice: Persona | None = None,
    present: Sequence[Persona] = (),
) -> list[Candidate]:
    """Every claimable sentence of the passages, in retrieval order, each once.

    With a `voice` that is a simulated persona of a real person: only the sentences that
    report what that person said or did (`reports`; `at_the_table` has it say them in the
    first person), so a simulated person says only what the source says they said. With
    another voice: no sentence that names or reports a simulated persona in `present`
    (its reports are that persona's to say; what the show's speakers guessed about the
    real person is not put to their simulated self at the table)."""
    book = book or ClaimBook()
    seen: set[tuple[str, int, str]] = set()
    out: list[Candidate] = []
    simulated = [p for p in present if p.simulated]
    for rank, passage in enumerate(passages):
        named: set[str] = set()  # simulated personas the passage has named so far
        for sentence in book.in_passage(passage):
            for text in pieces(sentence.shown(language)):
                before = set(named)
                named |= {p.id for p in simulated if _mentions(text, p)}
                if voice is not None and voice.simulated:
                    if language != "en" or not reports(text, voice, voice.id in before):
                        continue
                elif any(_mentions(text, p) or reports(text, p, p.id in before) for p in simulated):
                    continue  # their reports are theirs to say; guesses about them not ours
                shown = text
                if not claimable(shown, language, names):
                    continue
                claim = sentence.claim(language)
                claim = claim.model_copy(
                    update={"text": shown, "source_text": claim.source_text or text}
                )
                if (*claim.key[:2], shown) in seen:
                    continue
                seen.add((*claim.key[:2], shown))
                out.append(Candidate(claim, rank))
    return out


# Verbs by which a source reports what a person said or did (not what others guess of them).
_REPORTING = (
    r"(?:is|was|has been)\s+(?:saying|describing|talking about|arguing|pushing(?:\s+forward)?)"
    r"|says|said|finally said|went as far as saying|put it|described|argued|has said"
)
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I'd|I've|I'll|me|my|mine|myself)\b")
# A sentence that opens on a hedge paraphrases the person loosely, in its speaker's words:
# "Something like a 'compute-resource-ism' replacing capitalism, as Mr. Sam Altman was
# describing" comes after "So he hasn't stated it explicitly", and names the speaker's own
# paper; blind reads found it put in the simulated person's mouth.
_HEDGED = re.compile(r"^\W*(?:something like|kind of|sort of|maybe|perhaps|i guess)\b", re.I)


def _name_pattern(persona: Persona) -> str:
    parts = persona.name.split()
    title = r"(?:(?:Mr|Mrs|Ms|Dr|Professor)\.?\s+)?"
    if len(parts) < 2:
        return rf"\b{title}{re.escape(persona.name)}\b"
    first, last = re.escape(parts[0]), re.escape(parts[-1])
    return rf"\b{title}(?:{first}\s+)?{last}\b"


def reports(text: str, persona: Persona, named_before: bool = False) -> bool:
    """Whether an English sentence reports what `persona`'s real person said or did: its
    name (or "he", when the passage named them before) is the subject of a verb of
    saying or doing ("What Sam Altman is saying this time is…", "as Mr. Sam Altman was
    describing", "he is pushing forward with fusion reactors"). A sentence in which its
    own speaker says "I" or "my" is that speaker's view of the person, not a report, and
    one that opens on a hedge ("Something like…", `_HEDGED`) a loose paraphrase."""
    if _FIRST_PERSON.search(text) or _HEDGED.search(text):
        return False
    subject = _name_pattern(persona) + (r"|\bhe\b" if named_before else "")
    found = re.search(rf"(?:{subject})\s+(?:\w+\s+)?(?:{_REPORTING})\b", text, re.I)
    return found is not None


def reported_in(book: ClaimBook, persona: Persona, language: str) -> list[SourceSentence]:
    """The sentences of every source in `book` that report what `persona`'s real person
    said or did (`reports`, on the sentence as `language` shows it; "he" counts where one
    of the two sentences before it named them). English only: none otherwise."""
    if language != "en":
        return []
    out: list[SourceSentence] = []
    for source_id in book.sources:
        recent: list[str] = []
        for sentence in book.of_source(source_id):
            shown = sentence.shown(language)
            named = any(_mentions(t, persona) for t in recent)
            if reports(shown, persona, named):
                out.append(sentence)
            recent = [*recent[-1:], shown]
    return out


_AGREEMENT = [
    (r"\bI is\b", "I am"),
    (r"\bI has\b", "I have"),
    (r"\bI says\b", "I say"),
    (r"\bI knows\b", "I know"),
    (r"\bI thinks\b", "I think"),
    (r"\bI wants\b", "I want"),
    (r"\bI does\b", "I do"),
]


def in_own_words(text: str, persona: Persona) -> str:
    """A sentence that `reports` a person, as that person's own words: their name and
    "he" become "I", "his" and "'s" "my", "him" "me", "himself" "myself", with the verb
    after "I" agreeing ("What I am saying this time is…"). English only."""
    name = _name_pattern(persona)
    out = re.sub(rf"(?:{name})['’]s\b", "my", text)
    out = re.sub(name, "I", out)
    for pattern, repl in [
        (r"\bhimself\b", "myself"),
        (r"\bhis\b", "my"),
        (r"\bhim\b", "me"),
        (r"\b[Hh]e\b", "I"),
        *_AGREEMENT,
    ]:
        out = re.sub(pattern, repl, out)
    out = re.sub(r"(^|[.!?]\s+)my\b", lambda m: m.group(1) + "My", out)
    return out[:1].upper() + out[1:]


def _mentions(text: str, persona: Persona) -> bool:
    words = [w for w in persona.name.split() if len(w) > 2]
    return any(re.search(rf"\b{re.escape(w)}\b", text, re.I) for w in words)


def score(
    candidate: Candidate,
    persona: Persona,
    language: str,
    question: str,
    previous: Previous | None,
    claimed_lines: set[tuple[str, int]],
    panel: Sequence[Persona] = (),
) -> float:
    """How well a candidate serves as this speaker's claim on this question (higher is
    better; the weights are the module's constants)."""
    claim = candidate.claim
    words = terms(claim.text)
    value = QUESTION_WEIGHT * len(words & terms(question))
    value += THEME_WEIGHT * len(words & theme_terms(persona, language))
    value -= OTHERS_WEIGHT * _theirs(words, persona, panel, language)
    value += RANK_WEIGHT / (1 + candidate.rank)
    if previous is not None:
        value += LINK_WEIGHT * min(3, len(words & terms(previous.claim.text)))
        value += SIDE_WEIGHT * side(claim, persona, previous.persona, language)
        if pushes_back(claim.text):
            value += CONTRAST_WEIGHT
    if not stands_alone(claim.text):
        value -= NOT_ALONE
    if _mentions(claim.text, persona):
        value -= SELF_NAMED
    elif any(_mentions(claim.text, p) for p in panel if p.id != persona.id):
        value -= OTHER_NAMED
    if (claim.source_id, claim.line_start) in claimed_lines:
        value -= SAME_LINE
    if language == "en" and words_of(claim.text) > LONG_WORDS:
        value -= 1.0
    return value


def leans_elsewhere(
    claim: Claim, persona: Persona, panel: Sequence[Persona], language: str
) -> bool:
    """Whether a claim is better another panelist's: it shares at least THEIRS_BY more
    content words with another panelist's themes and stance than with this speaker's
    (the futurist's "one giant ultra-intelligence… moves toward ASI" given to the
    economist because the economist's own lines were used up)."""
    words = terms(claim.text)
    own = len(words & theme_terms(persona, language))
    return _theirs(words, persona, panel, language) - own >= THEIRS_BY


def _theirs(
    words: frozenset[str], persona: Persona, panel: Sequence[Persona], language: str
) -> int:
    """The most content words of `words` that another panelist's themes and stance hold."""
    others = [
        len(words & theme_terms(p, language))
        for p in panel
        if p.id != persona.id and p.role == "panelist"
    ]
    return max(others, default=0)


def side(claim: Claim, persona: Persona, other: Persona, language: str) -> int:
    """How much more a claim leans to `persona`'s themes than to `other`'s (in shared
    content words; above 0: it is `persona`'s side of the argument)."""
    words = terms(claim.text)
    return len(words & theme_terms(persona, language)) - len(words & theme_terms(other, language))


# Words by which a sentence pushes against something: a claim without any of them does not
# contradict the claim before it, whatever side it leans to. A claim pushes back when it
# negates: "but", "yet" and "though" turn a sentence against its own first half ("Basic
# income works only on top of capitalism… but wouldn't that be compute resources?" agreed
# with the claim it was introduced as pushing back on), and a gloomy word (risk, dystopian,
# flaw) is a view of the future, not an answer to the claim before ("a single computer
# holding world hegemony… could head in a very dystopian direction" was introduced as
# pushing back on "the monetary economy will change at its root").
_CONTRAST = re.compile(
    r"\b(?:not|no|never|nothing|however|instead|rather than|doubt|"
    r"can't|cannot|won't|isn't|aren't|don't|doesn't|wouldn't|shouldn't|unlikely|"
    r"impossible|hardly|wrong)\b|"
    r"ない|ません|しかし|でも|だが|限らない",
    re.I,
)


def pushes_back(text: str) -> bool:
    """Whether a sentence carries a word of contrast or negation (`_CONTRAST`)."""
    return _CONTRAST.search(asserted(text)) is not None


def move_of(claim: Claim, persona: Persona, previous: Previous | None, language: str) -> Move:
    """`open` when no claim went before in the segment; `challenge` when the claim leans
    to this speaker's side more than to the previous speaker's and pushes against
    something (a word of contrast or negation, `pushes_back`); `extend` otherwise, so a
    turn that agrees is never introduced as a rebuttal."""
    if previous is None:
        return "open"
    leans = side(claim, persona, previous.persona, language) > 0
    return "challenge" if leans and pushes_back(claim.text) else "extend"


def choose_claim(
    persona: Persona,
    passages: Sequence[Passage],
    *,
    language: str,
    question: str,
    used: set[tuple[str, int, str]] = frozenset(),  # type: ignore[assignment]
    claimed_lines: set[tuple[str, int]] = frozenset(),  # type: ignore[assignment]
    previous: Previous | None = None,
    panel: Sequence[Persona] = (),
    book: ClaimBook | None = None,
    seed: int = 0,
) -> Claim | None:
    """The claim of a panelist's turn, with its move; None when no passage holds a
    claimable sentence the debate has not claimed yet. Of the candidates that read on their
    own (`stands_alone`), when there are any: the best-scored one, or with
    another `seed` one of those within SEED_MARGIN of it (so debates of one topic differ
    by seed); ties go to the better-ranked passage, then the earlier sentence."""
    names = [p.name for p in panel] or [persona.name]
    found = [
        c
        for c in candidates(
            passages, language, book=book, names=names, voice=persona, present=panel
        )
        if c.claim.key not in used
    ]
    if not found:
        return None
    # A sentence that leans on the one before it ("He went as far as…") is taken only when
    # the passages hold nothing that reads on its own.
    found = [c for c in found if stands_alone(c.claim.text)] or found
    scored = sorted(
        (
            (score(c, persona, language, question, previous, claimed_lines, panel), -i, c)
            for i, c in enumerate(found)
        ),
        key=lambda row: (row[0], row[1]),
        reverse=True,
    )
    close = [c for value, _, c in scored if value >= scored[0][0] - SEED_MARGIN]
    best = close[seed % len(close)]
    move = move_of(best.claim, persona, previous, language)
    return best.claim.model_copy(
        update={"move": move, "answers": previous.turn if previous is not None else None}
    )


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def lead(claim: Claim, language: str, turn: int = 0) -> str:
    """The words a turn puts before its claim: none for an opening claim; for a reply, a
    lead-in that says whether it builds on the previous claim or challenges it (the
    template's lines, one per turn in rotation)."""
    if claim.move == "open":
        return ""
    options = [o.strip() for o in template_text(f"lead_{claim.move}", language).splitlines()]
    options = [o for o in options if o]
    return options[turn % len(options)] if options else ""


def stated(claim: Claim, language: str, turn: int = 0) -> str:
    """The claim stated plainly, after its lead-in: the words are the source's."""
    head = lead(claim, language, turn)
    joiner = "" if language == "ja" or not head else " "
    return f"{head}{joiner}{claim.text.strip()}"


def own_words(text: str, claim: Claim, language: str) -> str:
    """What a turn said of its claim, in the turn's own words: its text without the
    lead-in its move put before the claim (any of the template's lead-ins)."""
    text = " ".join(text.split())
    if claim.move != "open":
        for option in template_text(f"lead_{claim.move}", language).splitlines():
            option = option.strip()
            if option and text.startswith(option):
                return text[len(option) :].strip() or text
    return text


def opening_words(claim: Claim, language: str, count: int = 4) -> str:
    """The first words of a claim (characters, in Japanese): what a small model is given
    to start its turn with, so that it says the claim instead of wandering from it."""
    text = claim.text.strip()
    if language == "ja":
        return text[: count * 3]
    return " ".join(text.split()[:count])


def gist(text: str, limit: int = GIST_WORDS, *, of: str = "") -> str:
    """A claim short enough for a recap, in its own words: the whole claim up to `limit`
    words; of a longer one, the run of its clauses (between commas, dashes, semicolons,
    colons) of at most `limit` words that holds the most content words (a figure counts
    four; the last clause, where a spoken sentence's point tends to land, four more; a
    later run wins a tie) and keeps the condition its meaning turns on (`turned`: a recap once
    quoted "…or puts peace first, things could head in a very dystopian direction" of
    a claim that said so only "unless whoever holds it" did), with an ellipsis where it
    is cut. With `of` (the claim's
    source sentence, when `text` is a turn's words for it), only content words the
    source sentence also has count, so the run that says the claim wins over words the
    turn added."""
    text = " ".join(text.split()).rstrip(".")
    if re.search(r"[\u3040-\u30ff\u3400-\u9fff]", text):
        return text if len(text) <= 60 else text[:60].rstrip("、，,") + "…"
    if len(text.split()) <= limit:
        return text
    anchor = terms(of) if of else None
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
    if len(sentences) > 1:
        # Of several sentences, the one that says the most of the claim, whole where it
        # fits: a window across sentences cut one off mid-clause ("Hopefully, when a
        # single computer holds world hegemony under qualitative compute-resourceism…",
        # its point, "it will be a dystopian direction", left out).
        def held(sentence: str) -> int:
            found = terms(sentence) & anchor if anchor is not None else terms(sentence)
            return len(found)

        best_sentence = max(reversed(sentences), key=held)  # a later one wins a tie
        return gist(best_sentence, limit, of=of)
    cuts = [m.span() for m in re.finditer(r"\s*(?:[,;:]|\s[—–])\s*", text)]
    starts = [0, *(end for _, end in cuts)]
    ends = [*(start for start, _ in cuts), len(text)]
    best: tuple[int, int, int] | None = None  # (value, first clause, last clause)
    for first in range(len(starts)):
        for last in range(first, len(ends)):
            window = text[starts[first] : ends[last]]
            if sum(1 for w in window.split() if w not in "—–") > limit:
                break
            if {"unless", "if"} & set(turned(window, text)):
                continue  # it would leave out the condition the rest holds under
            if last < len(ends) - 1 and _dangles(text[starts[last] : ends[last]]):
                continue  # "…but I get the feeling that, essentially…" stops before its point
            if first > 0 and len(text[starts[first] : ends[first]].split()) <= 2:
                continue  # "…or AI – is created…" starts inside a thought
            found = terms(window) & anchor if anchor is not None else terms(window)
            value = len(found) + 3 * sum(1 for t in found if any(ch.isdigit() for ch in t))
            value += 4 if last == len(ends) - 1 else 0
            if best is None or value >= best[0]:  # a later run wins a tie
                best = (value, first, last)
    if best is None:
        return " ".join(text.split()[:limit]).rstrip(",;:—–- ") + "…"
    _, first, last = best
    window = text[starts[first] : ends[last]]
    return ("…" if first > 0 else "") + window + ("…" if last < len(ends) - 1 else "")


def _dangles(clause: str) -> bool:
    """Whether a recap cut after this clause would stop mid-thought: a clause of one or two
    words ("essentially"), or one that ends on a word of no content ("…the feeling that")."""
    words = clause.split()
    return len(words) <= 2 or not terms(words[-1])


def recap(made: Sequence[tuple[str, Claim]], language: str, sources: Sequence[str] = ()) -> str:
    """The claims of a segment (or a debate), each with who made it, one sentence a
    claim: what a host's summary or closing may name, and nothing else. Give each claim
    with the words its turn said (`own_words`), so the host quotes what was said on the
    panel, not the source line behind it; `sources`, the claims' source sentences in the
    same order, pick the part of a long turn that says its claim (`gist`)."""
    out = []
    for i, (name, claim) in enumerate(made):
        said = gist(claim.text, of=sources[i] if i < len(sources) else "")
        text = render(
            f"recap_{claim.move}",
            language,
            name=name,
            gist=said,
            line=claim.line_start
            if claim.line_start == claim.line_end
            else f"{claim.line_start}-{claim.line_end}",
        )
        if said.endswith(("?", "!")):  # the template's full stop after a question mark
            text = text.replace(f"{said}.", said)
        out.append(text)
    return " ".join(out)


def at_the_table(
    claim: Claim | None, speaker: Persona, panel: Sequence[Persona], language: str
) -> Claim | None:
    """The claim as said at this table: in an English debate, a source sentence that
    speaks of another panelist by full name, surname or with a title ("Mr. Sam Altman
    was describing") names them as panelists name one another, by first name ("Sam was
    describing"). A simulated persona says a report of what its person said in the first
    person (`in_own_words`: "What I am saying this time is…"). The claim's key (its source
    sentence) is unchanged, so it is still the same claim; what a turn stores as its claim
    keeps the source's wording."""
    if claim is None or language != "en":
        return claim
    text = claim.text
    if speaker.simulated and reports(text, speaker, True):
        text = in_own_words(text, speaker)
    for p in panel:
        parts = p.name.split()
        if p.id == speaker.id or len(parts) < 2:
            continue
        text = re.sub(_name_pattern(p), parts[0], text)
    if text == claim.text:
        return claim
    return claim.model_copy(update={"text": text, "source_text": claim.source_text or claim.text})
