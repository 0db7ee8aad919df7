"""Attribution of a turn to its cited lines: whether the turn argues from them, and which
names, dates and figures it brings in that nothing it was given contains.

`Attributor.judge(text, citations)` returns a `Verdict`. Two signals decide it:

- **overlap**: the share of the turn's content words (stemmed, weighted by how rare each
  is in the source: idf over its sentences) that the cited lines contain, in their
  English gloss or as written. A turn that argues from its lines repeats their
  particular words (Worldcoin, fusion, 92%, hegemony); a turn that drifts shares only
  the words of the whole show (compute, currency, AI), which weigh little.
- **rank**: the position of the cited lines when the index is searched with the turn's
  own words (None when they are not in the top `k`).

`score = overlap + RANK_WEIGHT / rank` (the second term 0 when rank is None), and a turn
is attributable when `score >= threshold` and it invents nothing. The threshold and the
weight were chosen on the labelled turns of `tests/data/attribution_turns.jsonl`
(`python -m bench.eval --labelled`).

Invented items are person and other proper names, dates and figures found in neither
the source (as written or glossed), the question, nor the persona cards (`allowed`).
Names are capitalised word runs that are not a sentence's first word alone, all-caps
terms (GDP, GPU) excepted; figures are numbers written with digits, or in words with a
scale or a percent ("seven trillion", "fifty percent"); dates are years (four digits)
and month names. A quotation (in quote marks, six words or more) counts as invented
when fewer than half of its word pairs occur in those texts: words put in someone's
mouth are rarely the source's own. Japanese turns are checked for figures only.
"""

from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import snowballstemmer

from core.claims import turned
from core.models import Citation, Debate, Passage, Verdict

__all__ = [
    "ATTRIBUTION_THRESHOLD",
    "RANK_WEIGHT",
    "SEARCH_K",
    "Attributor",
    "LineText",
    "Verdict",
    "debate_allowed",
    "figures",
    "Known",
    "invented",
    "judge_debate",
    "names",
    "turned",
]

# Chosen on tests/data/attribution_turns.jsonl; see the module docstring.
ATTRIBUTION_THRESHOLD = 0.30
RANK_WEIGHT = 0.10
SEARCH_K = 10
# A quotation counts as invented when fewer than this share of its word pairs occur in
# the source (as glossed or written), the question or the persona cards.
QUOTE_SHARE = 0.5
QUOTE_WORDS = 6  # shorter quoted phrases are terms ("money creation by central banks")
# A sentence drifts when it has at least DRIFT_WORDS distinct content words, shares under
# DRIFT_SHARE of them (idf-weighted) with the cited lines and the question, and the cited
# lines are not in the top DRIFT_RANK when the index is searched with it (the show has
# few passages: its top 10 holds lines of any topic). Set so that no faithful turn of the
# labelled set has such a sentence (see the module docstring).
DRIFT_WORDS = 8
DRIFT_SHARE = 0.12
DRIFT_RANK = 3
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_STOP = frozenset(
    """a an the and or but nor of to in on at for with by from as is are was were be been
    being am it its it's this that these those i i'm you you're he he's she we we're they
    they're me him her us them my your his our their mine yours what which who whom whose
    how why when where do does did doing done not no yes so if then than too very can
    could would should will shall may might must about into onto over under more most
    such there here just also any all some one ones own same other others each every both
    either neither only even still yet again ever never always now today let let's lets
    get gets got make makes made say says said thing things something anything
    nothing everything way ways well really quite rather much many lot lots kind sort
    like because while though although however therefore thus whether until unless
    upon within without between among through during before after above below up down
    out off once going go goes went come comes came want wants see sees seen look
    looks know knows think thinks believe believes mean means put puts take takes
    keep keeps give gives need needs don't doesn't didn't can't won't isn't aren't
    wasn't that's what's there's i'd i'll i've you'd we'll we've they'll""".split()
)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "a": 1, "half": 0.5,
}  # fmt: skip
_SCALES = {
    "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12,
    "万": 1e4, "億": 1e8, "兆": 1e12,
}  # fmt: skip
_DIGITS = re.compile(
    r"(?<![A-Za-z0-9.,])(\d+(?:,\d{3})*(?:\.\d+)?)"
    r"(?:\s*(%|percent|per cent|thousand|million|billion|trillion|万|億|兆))?",
    re.I,
)
_WORD_FIGURE = re.compile(
    r"\b((?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[- ])?"
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|a hundred|one hundred|hundred|half a|a))\s+"
    r"(percent|per cent|thousand|million|billion|trillion)\b",
    re.I,
)
_MONTHS = (
    "January February March April June July August September October November December".split()
)
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_CAP_RUN = re.compile(
    r"[A-Z][\w’'\-]*(?:\s+(?:(?:of|de|van|von|the|and|da|du|la|le)\s+)?[A-Z][\w’'\-]*)*"
)
_QUOTE = re.compile(r"[“\"]([^”\"]{8,}?)[”\"]|「([^」]{4,}?)」")
_SENTENCE_END = re.compile(r"(?:[.!?;:…]|[\"“”(—–-])\s*$")
# Capitalised words that are not names wherever they stand, and titles before a name.
_NOT_NAMES = frozenset("i i'm i'd i'll i've ok okay".split())
_TITLES = frozenset("mr mrs ms dr prof professor sir madam".split())
# Proper words that name no one and no new fact: the planet, languages, peoples.
_COMMON_PROPER = frozenset(
    """earth internet english japanese chinese american americans european asian western
    eastern""".split()
)


@dataclass(frozen=True)
class LineText:
    """One line of a source: as written, and its English gloss ("" where it has none)."""

    text: str
    gloss: str = ""


class Searchable(Protocol):
    """What the attributor needs of an index: `PassageIndex.search`'s signature."""

    def search(
        self, query: str, k: int = 5, *, sources: Sequence[str] | None = None
    ) -> list[Passage]: ...


class _Stemmer:
    """A cached English stemmer that threads may share (a snowball stemmer keeps the word
    it works on in itself, so two threads at once corrupt each other's)."""

    def __init__(self) -> None:
        self._stem = snowballstemmer.stemmer("english")
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, word: str) -> str:
        got = self._cache.get(word)
        if got is None:
            with self._lock:
                got = self._stem.stemWord(word)
            self._cache[word] = got
        return got


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("’", "'")


def content_words(text: str, stem: Callable[[str], str]) -> list[str]:
    """Lower-cased, stemmed English content words of `text` (stop words and one-letter
    words left out; numbers kept, commas dropped)."""
    flat = re.sub(r"(?<=\d),(?=\d{3})", "", _plain(text).lower())
    return [
        stem(w.rstrip("'s").rstrip("'"))
        for w in _WORD.findall(flat)
        if w not in _STOP and len(w) > 1
    ]


# -- invented names, dates and figures ----------------------------------------------------------
def figures(text: str) -> list[tuple[str, float]]:
    """The figures of `text`: (as written, value). Digits count ("51%", "7 trillion",
    "2045", "1,000"); number words only with a scale or a percent ("seven trillion",
    "fifty-one percent"). A percent's value is its number (51% -> 51.0)."""
    plain = _plain(text)
    out: list[tuple[str, float]] = []
    for m in _DIGITS.finditer(plain):
        raw = m.group(1)
        try:
            value = float(raw.replace(",", ""))
        except ValueError:
            continue
        unit = (m.group(2) or "").lower()
        if unit in _SCALES:
            value *= _SCALES[unit]
        out.append((m.group(0).strip(), value))
    for m in _WORD_FIGURE.finditer(plain):
        words = re.split(r"[- ]+", m.group(1).lower())
        value = sum(_NUMBER_WORDS.get(w, 0) for w in words if w not in ("a", "half"))
        if "half" in words:
            value = 0.5
        elif "hundred" in words:
            value = max(100, value)
        elif value == 0:
            value = 1
        unit = m.group(2).lower()
        if unit in _SCALES:
            value *= _SCALES[unit]
        out.append((m.group(0), float(value)))
    return out


def _sentence_starts(text: str) -> set[int]:
    """Offsets in `text` where a sentence (or a quotation, or a clause after a dash or a
    colon) begins: a capital there says nothing about a name."""
    starts = {0}
    for m in re.finditer(r"(?:[.!?;:…]|[\"“”(—–])\s+|\n+|[\"“(]", text):
        before = text[: m.start() + 1].split()
        if before and before[-1].lower().rstrip(".") in _TITLES:
            continue  # "Mr. Saito": the title's full stop ends no sentence
        starts.add(m.end())
    return starts


def names(text: str) -> list[str]:
    """Capitalised word runs of `text` that may be names: a run of two words or more
    anywhere ("Elon Musk", "Bank of Japan"), or one capitalised word inside a sentence.
    All-caps terms (GDP, ASI) and a sentence's first word alone are left out."""
    starts = _sentence_starts(text)
    found: list[str] = []
    for m in _CAP_RUN.finditer(text):
        words = m.group(0).split()
        # a sentence's first word is capitalised anyway: keep it only inside a longer run
        if m.start() in starts:
            if len(words) == 1:
                continue
        kept = [w for w in words if not (w.isupper() and len(w) > 1)]
        kept = [w for w in kept if w.lower().strip("'’.") not in _NOT_NAMES | _TITLES]
        # "The Bank of Japan", "In Kenya": a leading function word is no part of a name
        while kept and (kept[0][0].islower() or kept[0].lower() in _STOP):
            kept.pop(0)
        while kept and kept[-1][0].islower():
            kept.pop()
        if kept:
            found.append(" ".join(w.removesuffix("'s").removesuffix("’s") for w in kept))
    return found


def _lower_words(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z'\-]*|\d+", _plain(text).lower())


@dataclass(frozen=True)
class Known:
    """What a set of allowed texts contains: lower-cased words (singular and plural
    forms both), figure values and word pairs (for quotations)."""

    words: frozenset[str]
    values: frozenset[float]
    pairs: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, texts: Iterable[str]) -> Known:
        words: set[str] = set()
        values: set[float] = set()
        pairs: set[tuple[str, str]] = set()
        for text in texts:
            tokens = _lower_words(text)
            pairs.update(zip(tokens, tokens[1:], strict=False))
            for w in tokens:
                for part in (w, *w.split("-")):
                    part = part.strip("'").removesuffix("'s")
                    words.add(part)
                    words.add(part.removesuffix("s"))
            values.update(v for _, v in figures(text))
        return cls(frozenset(words), frozenset(values), frozenset(pairs))

    def __or__(self, other: Known) -> Known:
        return Known(self.words | other.words, self.values | other.values, self.pairs | other.pairs)


def invented(
    text: str,
    allowed: Sequence[str] | Known,
    *,
    language: str = "en",
) -> tuple[str, ...]:
    """Names, dates, figures and quotations of `text` that none of the `allowed` texts
    (the source as written and glossed, the question, the persona cards) contains, in the
    order found. `allowed` may be given as a precomputed `Known`.

    A figure is known when its value is (51% = fifty-one percent = 51), a line reference
    ("line 49") is no figure; a name when each of its words is; a quotation of six words
    or more when at least half of its word pairs occur in the allowed texts."""
    known = allowed if isinstance(allowed, Known) else Known.of(allowed)
    out: list[str] = []
    plain = _plain(text)
    for written, value in figures(text):
        at = plain.find(written)
        if re.search(r"\blines?\s*(?:\d+\s*[-–]\s*)?$", plain[max(0, at - 14) : max(0, at)], re.I):
            continue
        if not any(math.isclose(value, v, rel_tol=1e-9) for v in known.values):
            out.append(written)
    if language == "ja":
        return tuple(dict.fromkeys(out))
    for name in names(text):
        if name.lower() in _COMMON_PROPER:
            continue
        words = [w.lower().strip("'’").removesuffix("'s") for w in re.split(r"[\s\-]+", name)]
        if any(
            w and w not in known.words and w.removesuffix("s") not in known.words for w in words
        ):
            out.append(name)
    for m in re.finditer(r"\b(" + "|".join(_MONTHS + _DAYS) + r")\b", text):
        if m.group(1).lower() not in known.words:
            out.append(m.group(1))
    for m in _QUOTE.finditer(text):
        quote = (m.group(1) or m.group(2) or "").strip()
        tokens = _lower_words(quote)
        if len(tokens) < QUOTE_WORDS:
            continue
        pairs = list(zip(tokens, tokens[1:], strict=False))
        if sum(1 for p in pairs if p in known.pairs) / len(pairs) < QUOTE_SHARE:
            out.append(f"“{quote}”")
    return tuple(dict.fromkeys(out))


# -- the lines of a source ------------------------------------------------------------------------
def read_lines(path: Path) -> dict[int, LineText]:
    """The lines of a transcript file that carry text, each with its English gloss (the
    gloss file beside it, joined per line in sentence order)."""
    from transcripts.ingest import load_gloss, read_source

    source = read_source(path)
    gloss = load_gloss(path)
    parts: dict[int, list[str]] = {}
    for s in source.sentences:
        parts.setdefault(s.line, [])
        en = gloss.get((s.line, s.text))
        if en:
            parts[s.line].append(en)
    return {
        n: LineText(source.lines[n - 1], " ".join(parts.get(n, [])))
        for n in sorted(parts)
        if n - 1 < len(source.lines)
    }


def bundled_lines() -> dict[str, dict[int, LineText]]:
    """The lines of every bundled source, by source id."""
    from core.paths import bundled_sources, source_id_for

    return {source_id_for(p): read_lines(Path(p)) for p in bundled_sources()}


def _index_lines(index: Any) -> dict[str, dict[int, LineText]]:
    """Lines of the sources an index holds, read from the files it was built from; the
    bundled sources where it cannot say (a plain search function, a server elsewhere)."""
    table = bundled_lines()
    listing = getattr(index, "sources", None)
    if callable(listing):
        for info in listing():
            path = Path(info.path)
            if info.source_id not in table and path.is_file():
                try:
                    table[info.source_id] = read_lines(path)
                except Exception:  # noqa: BLE001 - an unreadable source is judged from passages
                    continue
    return table


# -- the judge ------------------------------------------------------------------------------------
class _Search:
    """A bare search function (query, k, sources) seen as an index."""

    def __init__(self, search: Callable[..., list[Passage]]) -> None:
        self._search = search

    def search(
        self, query: str, k: int = 5, *, sources: Sequence[str] | None = None
    ) -> list[Passage]:
        return self._search(query, k, sources)


class Attributor:
    """Judges turns against their cited lines (see the module docstring for the measure).

    `index` is a `PassageIndex` (or anything with its `search(query, k, sources=)`), or a
    bare function `(query, k, sources) -> list[Passage]`. `lines` maps a source id to its
    lines; by default the index's source files are read (the bundled sources always).
    Judging a turn costs one search of the index.
    """

    def __init__(
        self,
        index: Searchable | Callable[..., list[Passage]],
        *,
        k: int = SEARCH_K,
        threshold: float = ATTRIBUTION_THRESHOLD,
        rank_weight: float = RANK_WEIGHT,
        lines: Mapping[str, Mapping[int, LineText]] | None = None,
    ) -> None:
        self.index: Searchable = index if hasattr(index, "search") else _Search(index)  # type: ignore[arg-type]
        self.k = k
        self.threshold = threshold
        self.rank_weight = rank_weight
        self._lines = dict(lines) if lines is not None else None
        self._stem = _Stemmer()
        self._idf: dict[str, float] | None = None
        self._unseen = 0.0
        self._known: Known | None = None
        self._tokenizer: Any = None

    # -- what the attributor knows of the sources ------------------------------------------
    @property
    def lines(self) -> dict[str, dict[int, LineText]]:
        if self._lines is None:
            self._lines = _index_lines(self.index)
        return self._lines  # type: ignore[return-value]

    def _source_texts(self) -> list[str]:
        return [t for rows in self.lines.values() for r in rows.values() for t in (r.text, r.gloss)]

    def _weights(self) -> dict[str, float]:
        """idf of each content word over the source's lines (gloss and text together)."""
        if self._idf is None:
            docs = [
                set(self._words(r.gloss + " " + r.text))
                for rows in self.lines.values()
                for r in rows.values()
            ]
            df: Counter[str] = Counter(w for d in docs for w in d)
            n = max(1, len(docs))
            self._idf = {w: math.log(1 + n / f) for w, f in df.items()}
            self._unseen = math.log(1 + n)
        return self._idf

    def _words(self, text: str) -> list[str]:
        words = content_words(text, self._stem)
        if re.search(r"[\u3040-\u30ff\u3400-\u9fff]", text):
            if self._tokenizer is None:
                from core.text import JapaneseTokenizer

                self._tokenizer = JapaneseTokenizer()
            words += [w for w in self._tokenizer(text) if re.search(r"[^\x00-\x7f]", w)]
        return words

    def cited_text(
        self,
        citations: Sequence[Citation],
        passages: Sequence[Passage] = (),
        *,
        gloss_only: bool = False,
    ) -> str | None:
        """The cited lines, glossed and as written (with `gloss_only`, the gloss where a
        line has one); None when no line of them is known (neither in the sources read
        nor in the `passages` given)."""
        parts: list[str] = []
        for c in citations:
            rows = self.lines.get(c.source_id, {})
            got = [rows[n] for n in range(c.line_start, c.line_end + 1) if n in rows]
            views = [(r.gloss, r.text) for r in got]
            if not got:
                covering = next(
                    (p for p in passages if p.covers(c.source_id, c.line_start, c.line_end)),
                    None,
                )
                if covering is not None:
                    views = [(covering.gloss or "", covering.text)]
            for gloss, text in views:
                parts += [gloss or text] if gloss_only else [t for t in (gloss, text) if t]
        return " ".join(parts) if parts else None

    def judge_debate(self, debate: Debate) -> dict[int, Verdict]:
        """Verdicts on a debate's turns, by turn index (`judge_debate` with this attributor)."""
        return judge_debate(debate, self)

    # -- the two signals ---------------------------------------------------------------------------
    def overlap(self, text: str, cited: str) -> float:
        """idf-weighted share of the turn's distinct content words that `cited` contains,
        0..1."""
        weights = self._weights()
        turn = set(self._words(text))
        if not turn:
            return 0.0
        have = set(self._words(cited))
        total = sum(weights.get(w, self._unseen) for w in turn)
        shared = sum(weights.get(w, self._unseen) for w in turn & have)
        return shared / total if total else 0.0

    def rank(self, text: str, citations: Sequence[Citation]) -> int | None:
        """1-based position of the first passage that shares a line with a citation when
        the index is searched with `text`; None when none of the top `k` does."""
        if not citations or not text.strip():
            return None
        sources = sorted({c.source_id for c in citations})
        found = self.index.search(text[:1000], self.k, sources=sources)
        for i, p in enumerate(found, 1):
            for c in citations:
                if (
                    p.source_id == c.source_id
                    and p.line_start <= c.line_end
                    and c.line_start <= p.line_end
                ):
                    return i
        return None

    def invented(
        self, text: str, *, language: str = "en", allowed: Sequence[str] = ()
    ) -> tuple[str, ...]:
        """Names, dates, figures and quotations of `text` found in neither the sources nor
        the `allowed` texts."""
        if self._known is None:
            self._known = Known.of(self._source_texts())
        known = self._known | Known.of(allowed) if allowed else self._known
        return invented(text, known, language=language)

    def judge(
        self,
        text: str,
        citations: Sequence[Citation],
        *,
        language: str = "en",
        allowed: Sequence[str] = (),
        passages: Sequence[Passage] = (),
        question: str = "",
        settle: bool = False,
        claim: str = "",
    ) -> Verdict:
        """The verdict on one turn: `text` against the lines of its `citations`.

        `allowed`: texts whose names and figures are legitimate besides the source (the
        question, the topic, the persona cards). `passages`: the turn's retrieved
        passages, used for cited lines of a source whose file cannot be read.
        `settle`: when the overlap alone reaches the threshold, skip the search with the
        whole turn (the rank can only add to the score, so `attributable` is the same);
        the verdict then has `searched` False, `rank` None and the overlap as its score.
        A draft check settles; a report of a debate does not. `claim`: the sentence the
        turn was to voice (English): a turn that leaves out its negation, "unless" or
        "if" (`turned`) says something else and is not attributable.
        """
        found = self.invented(text, language=language, allowed=allowed)
        cited = self.cited_text(citations, passages)
        if not citations or cited is None:
            reason = "cites no lines" if not citations else "cited lines not found in the sources"
            return Verdict(False, 0.0, None, found, reason, overlap=0.0)
        share = self.overlap(text, cited)
        searched = not (settle and share >= self.threshold)
        rank = self.rank(text, citations) if searched else None
        score = share + (self.rank_weight / rank if rank else 0.0)
        ok = score >= self.threshold
        reason = ""
        if not ok:
            where = f"rank {rank}" if rank else f"not in the top {self.k}"
            reason = (
                f"does not argue from its lines (score {score:.2f} < {self.threshold:.2f}: "
                f"overlap {share:.2f}, {where})"
            )
        drifting = self.drifting(text, citations, cited, question=question) if ok else ()
        if drifting:
            first = drifting[0] if len(drifting[0]) <= 60 else drifting[0][:57] + "…"
            reason = f"drifts from its lines: “{first}”"
        changed = turned(text, claim) if ok and claim and language == "en" else ()
        if changed and not drifting:
            ok = False
            reason = f"changes its claim: leaves out its {' and '.join(changed)}"
        if found:
            shown = ", ".join(found[:4]) + (" …" if len(found) > 4 else "")
            reason = (reason + "; " if reason else "") + f"not in the source: {shown}"
        return Verdict(
            ok and not found and not drifting,
            round(score, 4),
            rank,
            found,
            reason,
            overlap=round(share, 4),
            drifting=drifting,
            searched=searched,
        )

    def drifting(
        self, text: str, citations: Sequence[Citation], cited: str, *, question: str = ""
    ) -> tuple[str, ...]:
        """The sentences of `text` that wander from the `cited` lines: at least
        DRIFT_WORDS distinct content words, under DRIFT_SHARE of them (idf-weighted) in
        the cited lines or the `question`, and the cited lines not in the top DRIFT_RANK
        when the index is searched with the sentence alone. A turn can open on its claim and then
        drift; the whole turn's score does not see that."""
        against = f"{cited} {question}"
        out = []
        for sentence in _SENTENCE.split(text):
            sentence = sentence.strip()
            if len(set(self._words(sentence))) < DRIFT_WORDS:
                continue
            if self.overlap(sentence, against) >= DRIFT_SHARE:
                continue
            found = self.rank(sentence, citations)
            if found is None or found > DRIFT_RANK:
                out.append(sentence)
        return tuple(out)


def persona_texts(personas: Iterable[Any]) -> list[str]:
    """The texts of persona cards whose names and figures a turn may use: name, title,
    bio, stance, style and openers."""
    out: list[str] = []
    for p in personas:
        data = p.model_dump() if hasattr(p, "model_dump") else dict(p)
        for key in ("name", "title", "bio", "stance", "style"):
            if data.get(key):
                out.append(str(data[key]))
        for openers in (data.get("openers") or {}).values():
            out += [str(o) for o in openers]
        for openers in (data.get("summary_openers") or {}).values():
            out += [str(o) for o in openers]
    return out


def load_labelled(path: Path) -> list[dict[str, Any]]:
    """Rows of a labelled turn file (JSON lines: id, label, kind, speaker, question,
    text, cites [[start, end], ...]); a bad row is a ValueError naming its line."""
    rows = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
            row["citations"] = [
                Citation(source_id=row.get("source_id", ""), line_start=a, line_end=b)
                for a, b in row["cites"]
            ]
            if row["label"] not in ("faithful", "unfaithful"):
                raise ValueError(f"label {row['label']!r}")
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: line {number}: {exc}") from exc
        rows.append(row)
    return rows


def debate_allowed(debate: Debate) -> list[str]:
    """What a debate's turns may name besides the source: the topic, the segment
    questions and titles, and the persona cards."""
    texts = [debate.topic]
    texts += [t for s in debate.agenda for t in (s.title, s.question)]
    return texts + persona_texts(debate.personas)


def _question_of(debate: Debate, turn: Any) -> str:
    """The question a turn answered: its segment's (empty when the agenda lacks it)."""
    agenda = debate.agenda
    return agenda[turn.segment].question if 0 <= turn.segment < len(agenda) else ""


def judge_debate(debate: Debate, attributor: Attributor) -> dict[int, Verdict]:
    """Verdicts on a debate's turns, by turn index. Panelist turns are judged whole
    (attribution and invented items). The host's turns argue from the guests, not from
    the source, so they are checked for invented items alone, and get a verdict only
    when they have some; interjections (the producer's words) get none."""
    allowed = debate_allowed(debate)
    roles = {p.id: p.role for p in debate.personas}
    out: dict[int, Verdict] = {}
    for t in debate.turns:
        if t.kind == "interjection":
            continue
        if roles.get(t.speaker_id) == "panelist":
            out[t.index] = attributor.judge(
                t.text,
                t.citations,
                language=debate.language,
                allowed=allowed,
                passages=t.passages,
                question=_question_of(debate, t),
                claim=t.claim.text if t.claim is not None else "",
            )
            continue
        found = attributor.invented(t.text, language=debate.language, allowed=allowed)
        if found:
            shown = ", ".join(found[:4]) + (" …" if len(found) > 4 else "")
            out[t.index] = Verdict(False, 0.0, None, found, f"not in the source: {shown}")
    return out
