"""What a claim is: a sentence of a source, anchored to its line, that can stand as an
argument on a panel.

A claim is one sentence of a source (its English gloss in an English debate of a glossed
source). `ClaimBook` holds the sentences of the sources (`transcripts.claims` reads them
from the files), so a retrieved passage can be split into the sentences it holds, each
with its own line. `claimable` keeps what a panelist can argue: statements, not
questions, back-channel ("I see."), talk about the show itself or remarks addressed to
its guests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.models import Claim, Passage, Turn
from core.text import split_sentences

_JP = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
# Conversational openings of a spoken sentence that carry nothing of its argument.
_FILLER = re.compile(
    r"^(?:(?:well|yes|yeah|so(?!\s+that\s+(?!means\b|is\b|was\b|'s\b))|and|but|mm|mm-hm|right|ah|oh|no|now|then|actually|"
    r"rather|exactly|because|um|uh|that's right|i see|the other is that|the thing is)"
    r"\b[\s,;:.—–-]*)+",
    re.I,
)
# Titles before a name: a sentence naming someone so ("Mr. Saito") talks about the show's
# own guests, unless the name is one of the panel's.
_TITLED = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Professor|Prof)\.?\s+([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)")
# Remarks addressed to someone on the show, and talk about the show itself.
_ADDRESSED = re.compile(
    r"\b(?:as you said|you said|you were|you mentioned|you all|your idea|your idea's|"
    r"did you|do you|you're|you'd|could you|would you|thank you|you to)\b",
    re.I,
)
_ABOUT_SHOW = re.compile(
    r"\b(?:video|recorded|recording|e-?mail|viewers?|regular|published|episode|"
    r"this discussion|a discussion|next opportunity|another occasion|talk for us|invite|"
    r"sorry|i'm (?:also )?vague|not sure whether|don't really get|clearly in mind)\b",
    re.I,
)
# A question that argues: "…, wouldn't that be compute resources?", "…, doesn't it?"
_RHETORICAL = re.compile(
    r"(?:^|[,—–;:]\s*|\bso\s+)(?:essentially,?\s+)?(?:wouldn't|isn't|won't|doesn't|aren't|can't)\b"
    r"|\b(?:doesn't|isn't|won't|wouldn't|aren't) (?:it|that|he|they|we)\?$",
    re.I,
)
# What the speaker of the source did or went through ("In what I put together, I've
# divided it into…", "I was surprised"): another persona saying it would claim their life.
_PERSONAL = re.compile(
    r"\b(?:what I put together|I(?:'ve| have)? (?:put together|divided|summari[sz]ed|wrote|"
    r"met|interviewed|visited|lectured)|I was (?:surprised|shocked|asked|invited)|"
    r"my (?:slides?|book|paper|company|lecture|notes))\b",
    re.I,
)
# A cleft opening that only frames what follows: "It was really that compute resources
# are what matters most…" says "Compute resources are what matters most…".
_CLEFT = re.compile(r"^(?:it|this)\s+(?:was|is)\s+(?:really\s+|just\s+|simply\s+)?that\s+", re.I)
# A closing frame that only says the sentence was what someone meant: "…building
# semiconductor fabs all over the world — that's the kind of thing he was talking about."
_TAIL_FRAME = re.compile(
    r"\s*[—–]\s*(?:that's|that is|this is)\s+(?:the kind of thing|what)\s+"
    r"(?:he|she|they|I|we)\s+(?:was|were|am|is|are)?\s*(?:talking about|saying|meant)\.?$",
    re.I,
)
# A framing phrase that points back to what was said before: "In that second
# conversation, he finally said that…" says "He finally said that…" on its own.
_BACK_FRAME = re.compile(
    r"^(?:in|on|at|during) (?:that|this|those|these)\b[^,;:—–]{0,40},\s+", re.I
)
_PRONOUN_START = re.compile(r"^(?:he|she|they|it|that|this|these|those|his|her)\b", re.I)
# Openers that lean on what was said before ("In that second conversation", "On that
# point", "So", "And then"), and a person referred to by pronoun before anyone is named.
_LEANS_BACK = re.compile(
    r"^(?:(?:in|on|at|for|from|with|after|because of|given) (?:that|this|those|these)\b|"
    r"so\b(?!\s+that\s+(?!means\b|is\b|was\b|'s\b))|and\b|but\b|then\b|also\b|still\b|"
    r"that's why|which\b|as a result\b|"
    r"rather\b|instead\b|however\b|even so\b|in other words\b|that is,|otherwise\b|"
    r"on the other hand\b|for that reason\b)"
    # or points back within its first words: "Sam knows that, so he'll…", "If America's
    # leaders realize that, they'll…", "I think that's hard to do…"
    r"|^(?:[\w'’-]+\s+){1,5}(?:that|this)\s*[,;:—–]|^(?:[\w'’-]+\s+){1,3}it\s*[,;:—–]"
    r"|^(?:[\w'’-]+\s+){1,3}(?:that's|that is|this is)\b"
    # or does something to "that" before saying what ("There's no movement from
    # governments to fix that, or…": the structure of the sentence before)
    r"|^(?:[\w'’-]+\s+){1,7}(?:fix|avoid|stop|allow|change|prevent|handle|solve|address)"
    r"\s+(?:that|this|it)\s*(?:[,.;:—–]|or\b|and\b)",
    re.I,
)
_PERSON_PRONOUN = re.compile(r"\b(?:he|she|him|his|her|hers)\b", re.I)
_NAMED = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+\b")
MIN_WORDS, MAX_WORDS = 6, 60  # an English claim
MIN_CHARS, MAX_CHARS = 15, 200  # a Japanese claim


@dataclass(frozen=True)
class SourceSentence:
    """One sentence of a source: the line it sits on, as written, and its English gloss."""

    source_id: str
    line: int
    text: str
    gloss: str | None = None
    line_end: int | None = None  # where it is only known to lie within lines line..line_end
    order: int = 0  # of the sentences on its line, from 0 (a gloss row's "sentence")

    @property
    def ref(self) -> tuple[str, int, int]:
        """(source id, line, order on the line): how an opposition file names it."""
        return (self.source_id, self.line, self.order)

    def shown(self, language: str) -> str:
        """What a debate in `language` shows of it: the gloss in English, where there is one."""
        if language == "en" and self.gloss:
            return self.gloss
        return self.text

    def claim(self, language: str, **fields: Any) -> Claim:
        """This sentence as a debate's claim."""
        return Claim(
            source_id=self.source_id,
            line_start=self.line,
            line_end=self.line_end or self.line,
            text=tidy(self.shown(language)),
            source_text=self.text.strip(),
            **fields,
        )


Ref = tuple[str, int, int]  # SourceSentence.ref
Side = tuple[Ref, str]  # a sentence, and words its claim must hold ("" for any part of it)


class ClaimBook:
    """The sentences of the sources, by source id, in reading order, and which of them
    oppose which (`opposed`: pairs of `SourceSentence.ref`, read from a source's
    opposition file; the relation is symmetric)."""

    def __init__(
        self, sentences: Iterable[SourceSentence] = (), opposed: Iterable[tuple[Side, Side]] = ()
    ) -> None:
        self._by_source: dict[str, list[SourceSentence]] = {}
        for s in sentences:
            self._by_source.setdefault(s.source_id, []).append(s)
        self._by_ref = {s.ref: s for group in self._by_source.values() for s in group}
        # a claim names its sentence by source, line and the sentence as written
        self._by_text = {
            (s.source_id, s.line, " ".join(s.text.split())): s
            for group in self._by_source.values()
            for s in group
        }
        self._opposed: dict[Ref, list[tuple[str, Side]]] = {}
        for a, b in opposed:
            self._opposed.setdefault(a[0], []).append((a[1], b))
            self._opposed.setdefault(b[0], []).append((b[1], a))
        self._charted = {ref[0] for ref in self._opposed}

    def charts(self, source_id: str) -> bool:
        """Whether the book knows which sentences of this source oppose which: then
        `opposes` is the whole truth for it, and two claims not charted do not clash."""
        return source_id in self._charted

    def sentence_of(self, claim: Claim) -> SourceSentence | None:
        """The source sentence a claim was taken from (None when the book lacks it)."""
        said = " ".join((claim.source_text or claim.text).split())
        return self._by_text.get((claim.source_id, claim.line_start, said))

    def _sides(self, claim: Claim) -> list[Side]:
        """The sides charted against a claim: those against its sentence, where the part
        of the sentence they oppose (when given) is in the claim's words."""
        found = self.sentence_of(claim)
        if found is None:
            return []
        return [
            other
            for part, other in self._opposed.get(found.ref, [])
            if not part or _holds(claim, part)
        ]

    def opposes(self, claim: Claim, other: Claim) -> bool:
        """Whether two claims are charted as opposed (each sentence, and where a pair names
        a part of a long sentence, that part)."""
        theirs = self.sentence_of(other)
        return theirs is not None and any(
            ref == theirs.ref and (not part or _holds(other, part))
            for ref, part in self._sides(claim)
        )

    def opponents(self, claim: Claim) -> list[tuple[SourceSentence, str]]:
        """The sentences charted as opposing a claim, in reading order, each with the
        part of it that opposes ("" for the whole sentence)."""
        found = [(self._by_ref[r], part) for r, part in self._sides(claim) if r in self._by_ref]
        return sorted(found, key=lambda row: row[0].ref)

    @property
    def sources(self) -> list[str]:
        return sorted(self._by_source)

    def of_source(self, source_id: str) -> list[SourceSentence]:
        return list(self._by_source.get(source_id, []))

    def in_passage(self, passage: Passage) -> list[SourceSentence]:
        """The sentences a passage holds, each with its own line; split from the passage
        itself where the book does not know its source."""
        known = [
            s
            for s in self._by_source.get(passage.source_id, [])
            if passage.line_start <= s.line <= passage.line_end
            and " ".join(s.text.split()) in " ".join(passage.text.split())
        ]
        return known or split_passage(passage)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_source.values())


def _holds(claim: Claim, part: str) -> bool:
    said = " ".join(f"{claim.text} {claim.source_text or ''}".split()).lower()
    return " ".join(part.split()).lower() in said


def split_passage(passage: Passage) -> list[SourceSentence]:
    """A passage's sentences when its source's lines are not known: each sentence spans the
    passage's lines (a single line's passage loses nothing). Gloss sentences are paired
    with the source's only where their counts agree."""
    parts = [p.strip() for p in split_sentences(passage.text) if p.strip()]
    glosses = [g.strip() for g in split_sentences(passage.gloss or "") if g.strip()]
    if glosses and len(glosses) != len(parts):
        parts = glosses  # the English sentences are what is argued
    end = passage.line_end if passage.line_end != passage.line_start else None
    return [
        SourceSentence(
            passage.source_id,
            passage.line_start,
            text,
            glosses[i] if i < len(glosses) else None,
            end,
        )
        for i, text in enumerate(parts)
    ]


def tidy(text: str) -> str:
    """A spoken sentence as a claim: conversational openings ("Well,", "Yes —", "Exactly —";
    not the "so" of "so that"), a cleft's frame ("It was really that A, and that B"), a
    frame that points back ("In that second conversation,") and a closing frame ("— that's
    the kind of thing he was talking about") dropped, the first letter capitalised; the
    words themselves are kept."""
    text = " ".join(text.split())
    if _JP.search(text):
        return text
    stripped = _FILLER.sub("", text).strip()
    if len(stripped.split()) < 4:
        return text
    plain = _BACK_FRAME.sub("", stripped)
    if _CLEFT.match(plain):
        # "It was really that A, and that B" says "A, and B"
        plain = re.sub(r",\s+and that\s+", ", and ", _CLEFT.sub("", plain), count=1)
    plain = _TAIL_FRAME.sub(".", plain)
    if len(plain.split()) >= 4:
        stripped = plain
    return stripped[:1].upper() + stripped[1:]


def words_of(text: str) -> int:
    return len(text.split())


def pieces(text: str) -> list[str]:
    """A sentence as the claims it can give: itself, or, when it is too long for one turn
    (over MAX_WORDS words), its parts between semicolons (and of a part still too long,
    between dashes), each a claim of its own words. Its length is counted as spoken,
    before `tidy` drops its frames."""
    spoken = " ".join(text.split())
    if _JP.search(spoken) or words_of(spoken) <= MAX_WORDS:
        return [tidy(spoken)]
    parts = [tidy(p.strip(" ,")) for p in spoken.split(";")]
    # A part still too long is cut at its dashes ("…could end up dominating everything —
    # that's what I meant."); a short tail of such a cut is not a claim and is left out
    # by `claimable`.
    parts = [
        tidy(q.strip(" ,"))
        for p in parts
        for q in (re.split(r"\s[—–]\s", p) if words_of(p) > MAX_WORDS else [p])
    ]
    return [p if p.endswith((".", "!", "?")) else p + "." for p in parts if p]


def claimable(text: str, language: str = "en", names: Sequence[str] = ()) -> bool:
    """Whether a sentence can stand as a panelist's argument: a statement of a fitting
    length (a rhetorical question counts), not back-channel, not talk about the show or
    addressed to its guests, not what its speaker did or went through (`_PERSONAL`:
    "In what I put together, I've divided it…"), naming no one by title but the panel
    (`names`)."""
    text = tidy(text)
    if language == "ja" or _JP.search(text):
        if not MIN_CHARS <= len(text) <= MAX_CHARS:
            return False
        return not text.rstrip("。").endswith(("か", "？", "?")) and "さん" not in text
    if not MIN_WORDS <= words_of(text) <= MAX_WORDS:
        return False
    if text.endswith("?") and not _RHETORICAL.search(text):
        return False
    if text.endswith(("...", "…")):
        return False  # trails off
    if _ADDRESSED.search(text) or _ABOUT_SHOW.search(text) or _PERSONAL.search(text):
        return False
    panel = {w.lower() for n in names for w in n.split()}
    for m in _TITLED.finditer(text):
        if not {w.lower() for w in m.group(1).split()} & panel:
            return False
    return True


# A negative tag that asks for agreement ("…, wouldn't that be compute resources?",
# "isn't it?"): the sentence asserts, it negates nothing.
_RHETORICAL_TAG = re.compile(
    r"\b(?:wouldn't|isn't|won't|doesn't|aren't|can't|didn't|don't)\s+"
    r"(?:that|it|he|she|they|we|you|there|this)\b",
    re.I,
)


def asserted(text: str) -> str:
    """`text` without its rhetorical negative tags (`_RHETORICAL_TAG`), for judging what
    it asserts and what it negates."""
    return _RHETORICAL_TAG.sub(" ", text)


# What turns a claim's meaning when a turn leaves it out: its negation, its "unless", its
# "if" (`asserted` first: a rhetorical tag asserts, it negates nothing).
_TURNS = {
    "negation": re.compile(
        r"\b(?:not|never|no|nothing|nobody|none|neither|nor|without|cannot|hardly)\b|n't\b",
        re.I,
    ),
    "unless": re.compile(r"\b(?:unless|only if|provided that|as long as)\b", re.I),
    "if": re.compile(r"\b(?:if|whether|suppos\w*)\b", re.I),
}
# Words a turn may carry the claim's "if" with instead ("could", "might": still a maybe).
_STILL_IF = re.compile(r"\b(?:if|whether|suppos\w*|would|could|might|may|perhaps|maybe)\b", re.I)


def turned(text: str, claim: str) -> tuple[str, ...]:
    """What of its claim's meaning an English turn leaves out: "negation" (the claim
    says not, never, no…, the turn none of it), "unless" (the claim's condition, which
    the turn neither keeps nor says as "if… not") and "if" (a claim's maybe said as a
    fact). A debate once turned "unless whoever holds it is altruistic, things could
    head in a dystopian direction" into "when a single computer holds world hegemony…
    it will be a dystopian direction"; overlap alone passed it."""
    said, source = asserted(text), asserted(claim)
    out = []
    if _TURNS["negation"].search(source) and not _TURNS["negation"].search(said):
        out.append("negation")
    if _TURNS["unless"].search(source) and not (
        _TURNS["unless"].search(said)
        or (_TURNS["if"].search(said) and _TURNS["negation"].search(said))
    ):
        out.append("unless")
    elif (
        _TURNS["if"].search(source)
        and not _TURNS["unless"].search(source)
        and not _STILL_IF.search(said)
    ):
        out.append("if")
    return tuple(out)


def stands_alone(text: str) -> bool:
    """Whether a claim reads without the sentence before it: it does not open on a
    pronoun or a phrase that points back ("In that second conversation", "So"), and
    speaks of no one as "he" or "she" before naming someone."""
    text = tidy(text)
    if _PRONOUN_START.match(text) or _LEANS_BACK.match(text):
        return False
    pronoun = _PERSON_PRONOUN.search(text)
    if pronoun is None:
        return True
    return any(m.start() < pronoun.start() for m in _NAMED.finditer(text))


def claims_made(turns: Sequence[Turn]) -> list[tuple[Turn, Claim]]:
    """The claims a debate's turns made, in order, with the turn that made each."""
    return [(t, t.claim) for t in turns if t.claim is not None]


def used_keys(turns: Sequence[Turn]) -> set[tuple[str, int, str]]:
    """The claims a debate has made already (what `Claim.key` compares)."""
    return {c.key for _, c in claims_made(turns)}
