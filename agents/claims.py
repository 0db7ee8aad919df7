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
from core.text import is_japanese, terms
from prompts import render, template_text

# Weights of what makes a sentence this turn's claim (all counts of shared content words).
QUESTION_WEIGHT = 2.0  # words it shares with what the segment question asks beyond the topic
TOPIC_WEIGHT = 0.5  # words it shares with the question that the topic has too
ASPECT_WEIGHT = 1.0  # words of what the question is about (`ASPECTS`), at most ASPECT_MOST
ASPECT_MOST = 3
THEME_WEIGHT = 1.5  # words of the speaker's themes and stance, at most THEME_MOST
THEME_MOST = 4  # past this, a line is this speaker's anyway: the question decides among them
OTHERS_WEIGHT = 1.0  # words of another panelist's themes (the line is better theirs)
LINK_WEIGHT = 0.8  # a reply: words it shares with the claim it answers
SIDE_WEIGHT = 1.0  # a reply: the speaker's themes over the previous speaker's
CONTRAST_WEIGHT = 1.0  # a reply, where the source is not charted: a word of contrast or negation
OPPOSED_WEIGHT = 8.0  # a reply: the source's opposition file charts it against the claim answered
ANSWERABLE_WEIGHT = 3.0  # a segment's first claim: the source charts a sentence against it
RANK_WEIGHT = 1.0  # the retrieval rank of its passage (1 / (1 + rank))
NOT_ALONE = 2.0  # opens on a pronoun pointing back ("He went as far as…")
REJECTED = 10.0  # holds a position the persona file says this panelist does not take
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


# What a question is about, beyond its own words: a small thesaurus of the show's field
# (query expansion with a hand-made thesaurus, as in Manning, Raghavan and Schütze,
# "Introduction to Information Retrieval", 2008, section 9.2.2). A question "for ordinary
# people" is answered by a line about the poor, the rich and basic income, not by one
# that shares only the topic's words ("compute", "currency") with it.
ASPECTS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern, re.I), english, japanese)
    for pattern, english, japanese in [
        (
            r"ordinary people|everyday|people|普通の人|生活",
            "people everyone poor rich income basic income money society wealth world "
            "abundance universally",
            "貧乏 金持ち 所得 社会 お金",
        ),
        (
            r"\bpower\b|who gains|who loses|力を|覇権",
            "power hegemony rule control government nation company leaders military America China",
            "覇権 支配 政府 国家 会社 軍事",
        ),
        (
            r"should (?:governments|companies)|do now|policy|今何を|すべき",
            "government policy legal system prepare preparation implement fix avoid regulation",
            "政府 準備 政策 規制",
        ),
        (
            r"wages|savings|basic income|income|賃金|貯蓄|所得",
            "money income basic income wealth rich poor capitalism downstream economy",
            "ベーシックインカム お金 所得 資本主義 経済",
        ),
        (
            r"race|US-China|America|China|米中|競争",
            "America China hegemony leaders military world race",
            "アメリカ 中国 覇権 指導者",
        ),
    ]
)


def question_terms(question: str, topic: str = "") -> tuple[frozenset[str], frozenset[str]]:
    """What a segment question asks, as (its own content words beyond the topic's,
    the words of what it is about from `ASPECTS`). A question made of the topic's words
    alone (the topic's own question, opening the debate) asks all of its words."""
    asked = terms(question)
    own = asked - terms(topic) if topic else asked
    about = aspects_of(question)
    return (own or asked), (terms(about) - asked if about else frozenset())


def aspects_of(question: str) -> str:
    """The words of what `question` is about (`ASPECTS`, in the question's language), ""
    when the thesaurus has none: what a panelist's search adds to the question, so that
    the lines that answer it are among the passages a claim is chosen from."""
    japanese = is_japanese(question)
    found = [ja if japanese else en for pattern, en, ja in ASPECTS if pattern.search(question)]
    return " ".join(found)


def fit(persona: Persona, question: str, topic: str, language: str) -> int:
    """How many content words of what `question` asks beyond the topic and is about
    (`question_terms`) the persona's themes and stance hold: who a host puts the question
    to."""
    own, about = question_terms(question, topic)
    return len((own | about) & theme_terms(persona, language))


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
    report what that person said or did (`reports`; `at_the_table` has it quote them as
    the show's report), so a simulated person says only what the source says they said. With
    another voice: no sentence that reports what a simulated persona in `present` said
    (that is theirs to say). What the show's speakers thought of the real person ("even if
    Sam Altman were a truly good person… even a country like America couldn't stop it")
    stays theirs to argue, and `at_the_table` names the person as the panel does."""
    book = book or ClaimBook()
    seen: set[tuple[str, int, str]] = set()
    out: list[Candidate] = []
    simulated = [p for p in present if p.simulated]
    theirs: set[SourceSentence] = set()
    if voice is not None and voice.simulated:
        theirs = set(reported_in(book, voice, language))
    for rank, passage in enumerate(passages):
        named: set[str] = set()  # simulated personas the passage has named so far
        for sentence in book.in_passage(passage):
            for text in pieces(sentence.shown(language)):
                before = set(named)
                named |= {p.id for p in simulated if _mentions(text, p)}
                if voice is not None and voice.simulated:
                    said = voice.id in before or sentence in theirs
                    if language != "en" or not reports(text, voice, said):
                        continue
                elif any(reports(text, p, p.id in before) or relays(text, p) for p in simulated):
                    continue  # what the person said is theirs to say
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


def relays(text: str, persona: Persona) -> bool:
    """Whether a sentence passes on what `persona`'s real person said, however loosely:
    it names them and has a verb of saying ("Mr. Sam Altman put it as 'like electricity',
    and I think he meant…"). Another panelist relaying it to the simulated person at the
    table argues nothing of their own."""
    return _mentions(text, persona) and re.search(rf"\b(?:{_REPORTING})\b", text, re.I) is not None


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
            if reports(shown, persona, _last_named(recent, persona)):
                out.append(sentence)
            recent = [*recent[-(HE_WITHIN - 1) :], shown]
    return out


HE_WITHIN = 4  # "he" is the person named last within this many sentences before
_SOMEONE = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Professor)\.?\s+[A-Z]\w+")


def _last_named(recent: Sequence[str], persona: Persona) -> bool:
    """Whether `persona` is the person named last in `recent` (earliest first): "he" in
    the sentence after them is that person ("What Sam Altman is saying… — I see. — Could
    you explain…? — …to make that happen he is pushing forward with fusion reactors")."""
    for text in reversed(recent):
        if _mentions(text, persona):
            return True
        if _SOMEONE.search(text):
            return False
    return False


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
    topic: str = "",
    book: ClaimBook | None = None,
) -> float:
    """How well a candidate serves as this speaker's claim on this question (higher is
    better; the weights are the module's constants). With the debate's `topic`, the words
    the question shares with it count less than what the question asks beyond it
    (`question_terms`). With a `book` that charts the source's oppositions, a reply that
    the chart sets against the claim it answers is worth much more, and a first claim
    that something in the source opposes a little more (the next voice can answer it)."""
    claim = candidate.claim
    words = terms(claim.text)
    own, about = question_terms(question, topic)
    value = QUESTION_WEIGHT * len(words & own)
    value += TOPIC_WEIGHT * len(words & (terms(question) - own))
    value += ASPECT_WEIGHT * min(ASPECT_MOST, len(words & about))
    value += THEME_WEIGHT * min(THEME_MOST, len(words & theme_terms(persona, language)))
    value -= OTHERS_WEIGHT * min(THEME_MOST, _theirs(words, persona, panel, language, claim.text))
    value += RANK_WEIGHT / (1 + candidate.rank)
    charted = book is not None and book.charts(claim.source_id)
    if previous is not None:
        value += LINK_WEIGHT * min(3, len(words & terms(previous.claim.text)))
        lean = side(claim, persona, previous.persona, language)
        value += SIDE_WEIGHT * max(-THEME_MOST, min(THEME_MOST, lean))
        if charted and book is not None and book.opposes(claim, previous.claim):
            value += OPPOSED_WEIGHT
        elif not charted and pushes_back(claim.text):
            value += CONTRAST_WEIGHT
    elif charted and book is not None and book.opponents(claim):
        value += ANSWERABLE_WEIGHT
    if rejected(claim, persona, language):
        value -= REJECTED
    if not reads_alone(claim, persona):
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


def rejected(claim: Claim, persona: Persona, language: str) -> bool:
    """Whether a claim holds a phrase of a position the persona does not take (its
    `rejects`, matched without regard to case or spacing)."""
    said = " ".join(claim.text.split()).lower()
    return any(" ".join(p.split()).lower() in said for p in persona.rejects.get(language, []))


def leans_elsewhere(
    claim: Claim, persona: Persona, panel: Sequence[Persona], language: str
) -> bool:
    """Whether a claim is better another panelist's: it holds a position this speaker
    rejects (`rejected`), or it shares at least THEIRS_BY more
    content words with another panelist's themes and stance than with this speaker's
    (the futurist's "one giant ultra-intelligence… moves toward ASI" given to the
    economist because the economist's own lines were used up)."""
    if rejected(claim, persona, language):
        return True
    words = terms(claim.text)
    own = len(words & theme_terms(persona, language))
    return _theirs(words, persona, panel, language, claim.text) - own >= THEIRS_BY


def _theirs(
    words: frozenset[str], persona: Persona, panel: Sequence[Persona], language: str, text: str
) -> int:
    """The most content words of `words` (a claim's, `text`) that the themes and stance
    of another panelist who could make the claim hold: a simulated persona makes only
    the claims that report it (`reports`), so a line in its themes that no one reports
    it saying ("…aim for super-abundance, with compute resources in a distributed
    state") is not kept from the others for it."""
    others = [
        len(words & theme_terms(p, language))
        for p in panel
        if p.id != persona.id
        and p.role == "panelist"
        and (not p.simulated or reports(text, p, True))
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


def move_of(
    claim: Claim,
    persona: Persona,
    previous: Previous | None,
    language: str,
    book: ClaimBook | None = None,
) -> Move:
    """`open` when no claim went before in the segment. Of a source whose oppositions the
    `book` charts: `challenge` when the chart sets the claim against the previous one,
    `extend` otherwise (a line that merely negates something, "money as we know it no
    longer holds up", does not oppose "one AI could hold 51% of all compute"). Of another
    source: `challenge` when the claim leans to this speaker's side more than to the
    previous speaker's and pushes against something (`pushes_back`). A turn that agrees
    is never introduced as a rebuttal."""
    if previous is None:
        return "open"
    if book is not None and book.charts(claim.source_id):
        return "challenge" if book.opposes(claim, previous.claim) else "extend"
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
    topic: str = "",
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
    found = [c for c in found if reads_alone(c.claim, persona)] or found
    scored = sorted(
        (
            (
                score(c, persona, language, question, previous, claimed_lines, panel, topic, book),
                -i,
                c,
            )
            for i, c in enumerate(found)
        ),
        key=lambda row: (row[0], row[1]),
        reverse=True,
    )
    close = [c for value, _, c in scored if value >= scored[0][0] - SEED_MARGIN]
    best = close[seed % len(close)]
    move = move_of(best.claim, persona, previous, language, book)
    return best.claim.model_copy(
        update={
            "move": move,
            "answers": previous.turn if previous is not None else None,
            "reported": persona.simulated,  # its candidates are reports of its person
        }
    )


def reads_alone(claim: Claim, persona: Persona) -> bool:
    """Whether a claim reads without the sentence before it (`stands_alone`) as this
    persona says it: a simulated persona quotes a report of itself, so its "he" is the
    speaker ("He finally said that…" reads as "I finally said that…" would)."""
    text = claim.text
    if persona.simulated and reports(text, persona, True):
        text = in_own_words(text, persona)
    return stands_alone(text)


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def lead(claim: Claim, language: str, turn: int = 0) -> str:
    """The words a turn puts before its claim: none for an opening claim, nor for a claim
    a simulated persona voices from the show's report of its person (readers counted
    "There is more to it." as words put in his mouth); for a reply, a lead-in that says
    whether it builds on the previous claim or challenges it (the template's lines, one
    per turn in rotation)."""
    if claim.move == "open" or claim.reported:
        return ""  # a simulated person says the show's report of their words and no more
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
    if claim.reported:
        head = template_text("lead_reported", language).strip()
        if head and text.startswith(head):
            return text[len(head) :].strip() or text
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
    is cut; a run from the claim's start is worth START_BONUS more (a read summary
    quoted a simulated guest from "…at the same time, because…"), and a run may end on
    a clause that ends on "and" or "or", without it. With `of` (the claim's
    source sentence, when `text` is a turn's words for it), only content words the
    source sentence also has count, so the run that says the claim wins over words the
    turn added."""
    text = " ".join(text.split()).rstrip(".")
    if is_japanese(text):
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
            if last < len(ends) - 1 and _dangles(_unjoined(text[starts[last] : ends[last]])):
                continue  # "…but I get the feeling that, essentially…" stops before its point
            if first > 0 and len(text[starts[first] : ends[first]].split()) <= 2:
                continue  # "…or AI – is created…" starts inside a thought
            found = terms(window) & anchor if anchor is not None else terms(window)
            value = len(found) + 3 * sum(1 for t in found if any(ch.isdigit() for ch in t))
            value += 4 if last == len(ends) - 1 else 0
            value += START_BONUS if first == 0 else 0
            if best is None or value >= best[0]:  # a later run wins a tie
                best = (value, first, last)
    if best is None:
        return " ".join(text.split()[:limit]).rstrip(",;:—–- ") + "…"
    _, first, last = best
    window = text[starts[first] : ends[last]]
    if last < len(ends) - 1:
        window = _unjoined(window)
    return ("…" if first > 0 else "") + window + ("…" if last < len(ends) - 1 else "")


START_BONUS = 4  # a recap that starts where the turn started reads as what was said


def _unjoined(clause: str) -> str:
    """A clause without a joining word it ends on ("…nuclear fusion reactors and" before
    ", at the same time,"): a recap cut there ends on the clause's last content word."""
    return re.sub(r"\s+(?:and|or|but|so)$", "", clause.rstrip())


def _dangles(clause: str) -> bool:
    """Whether a recap cut after this clause would stop mid-thought: a clause of at most
    four words ("essentially", "at the same time"), or one that ends on a word of no
    content ("…the feeling that")."""
    words = clause.split()
    return len(words) <= 4 or not terms(words[-1])


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
            "recap_reported" if claim.reported else f"recap_{claim.move}",
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


def in_sequence(made: Sequence[tuple[int, Claim]]) -> list[tuple[int, Claim]]:
    """Claims to recap, with the turns that made them, each reply's move kept only where
    the claim it answers comes right before it in the recap: a closing that names each
    panelist's latest claim side by side does not say "built on it" of a claim whose
    turn answered something it leaves out."""
    out = []
    for k, (index, claim) in enumerate(made):
        if claim.move != "open" and (k == 0 or claim.answers != made[k - 1][0]):
            claim = claim.model_copy(update={"move": "open"})
        out.append((index, claim))
    return out


def at_the_table(
    claim: Claim | None, speaker: Persona, panel: Sequence[Persona], language: str
) -> Claim | None:
    """The claim as said at this table: in an English debate, a source sentence that
    speaks of another panelist by full name, surname or with a title ("Mr. Sam Altman
    was describing") names them as panelists name one another, by first name ("Sam was
    describing"). A simulated persona quotes the show's report of what its person said,
    after the `lead_reported` template ("As the show reported it: What Sam Altman is
    saying this time is…"): blind readers took the report recast in the first person for
    words put in a real person's mouth. The claim's key (its source sentence) is
    unchanged, so it is still the same claim; what a turn stores as its claim keeps the
    source's wording."""
    if claim is None or language != "en":
        return claim
    text = claim.text
    if speaker.simulated and reports(text, speaker, True):
        text = f"{template_text('lead_reported', language).strip()} {text}"
    for p in panel:
        parts = p.name.split()
        if p.id == speaker.id or len(parts) < 2:
            continue
        text = re.sub(_name_pattern(p), parts[0], text)
    if text == claim.text:
        return claim
    return claim.model_copy(update={"text": text, "source_text": claim.source_text or claim.text})
