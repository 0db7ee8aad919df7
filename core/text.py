"""Text helpers every layer shares: sentences, words and content words, and the measures
of a debate's text built on them (echo: `copy_rate`; variety: `distinct_n`).

`terms` gives the content words claims are matched by (stemmed English words, Japanese
normalized forms); `JapaneseTokenizer` the content words search ranks by (BM25); both
read Japanese with Sudachi.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import snowballstemmer

_TOKEN = re.compile(r"[\w']+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def is_japanese(text: str) -> bool:
    """Whether a text holds Japanese (kana or kanji)."""
    return _CJK.search(text) is not None


def words(text: str) -> list[str]:
    """Lower-cased words; Japanese text (no spaces) counts each character as a word."""
    out: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        if _CJK.search(token):
            out.extend(token)
        else:
            out.append(token)
    return out


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def copied_share(text: str, earlier: Sequence[str], n: int = 5) -> float:
    """Share of the text's word n-grams already said in `earlier` texts."""
    grams = ngrams(words(text), n)
    if not grams:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    for other in earlier:
        seen.update(ngrams(words(other), n))
    return sum(1 for g in grams if g in seen) / len(grams)


_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|「[^」]*」")


def unquoted(text: str) -> str:
    """The text without its quotations (“…”, "…", 「…」): what it says in its own words."""
    return _QUOTED.sub(" ", text)


def copy_rate(
    texts: Sequence[str], n: int = 5, threshold: float = 0.5, *, quotes: bool = False
) -> float:
    """Share of turns, after the first, more than `threshold` of whose n-grams were said
    before. A turn's quotations do not count as its n-grams: words a turn marks as
    quoted (a host's recap quoting a guest) are attributed, not echoed; the earlier
    turns count whole. A turn that is nothing but quotations is no copy. With `quotes`,
    quotations count like the rest of the turn."""
    if len(texts) < 2:
        return 0.0
    copies = sum(
        1
        for i in range(1, len(texts))
        if copied_share(texts[i] if quotes else unquoted(texts[i]), texts[:i], n) > threshold
    )
    return copies / (len(texts) - 1)


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct word n-grams over all word n-grams of the texts together."""
    grams = [g for t in texts for g in ngrams(words(t), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


# -- sentences ------------------------------------------------------------------------------------
# A sentence ends at 。！？!? (with closing brackets), at an ellipsis, or at the line's end.
_SENTENCE = re.compile(r".*?(?:[。！？!?]+[」』）)]*|・・・|…+|$)", re.S)
_EN_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def split_sentences(line: str) -> list[str]:
    """Split one line into sentences. Japanese sentences keep every character (joined
    they are the line); English ones lose the spaces between them (see `join_text`)."""
    parts = [m.group(0) for m in _SENTENCE.finditer(line) if m.group(0)]
    out: list[str] = []
    for part in parts:
        out.extend(s for s in _EN_SENTENCE.split(part) if s)
    return [s for s in out if s.strip()]


# -- content words ------------------------------------------------------------------------------
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_EN_STOP = frozenset(
    "a an the and or but of to in on at for with by from as is are was were be been being "
    "it its this that these those i you he she we they me him her us them my your his our "
    "their what which who whom how why when where do does did not no so if then than too "
    "very can could would should will shall may might must about into over more most such "
    "there here just also any all some one".split()
)
_SKIP_POS = {"助詞", "助動詞", "補助記号", "記号", "空白", "感動詞", "フィラー"}
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")  # with half-width kana


class JapaneseTokenizer:
    """Content words of a text: Sudachi normalized forms for Japanese, words for English."""

    _lock = threading.Lock()
    _shared = None
    # One Sudachi tokenizer serves every instance, and it may not be used by two threads
    # at once ("Tokenizer is already in use"): one lock for all of them.
    _use = threading.Lock()

    def __init__(self) -> None:
        with JapaneseTokenizer._lock:
            if JapaneseTokenizer._shared is None:
                from sudachipy import Dictionary, SplitMode

                JapaneseTokenizer._shared = (
                    Dictionary(dict="core").tokenizer(mode=SplitMode.A),
                    SplitMode.A,
                )
        self._tokenizer, self._mode = JapaneseTokenizer._shared
        self._stemmer = snowballstemmer.stemmer("english")  # not thread-safe: one each
        self._call_lock = threading.Lock()  # guards this instance's stemmer

    def __call__(self, text: str) -> list[str]:
        text = text.lower()
        words: list[str] = []
        english = [w for w in _WORD.findall(text) if w not in _EN_STOP and len(w) > 1]
        if _JAPANESE.search(text):
            with JapaneseTokenizer._use:
                for m in self._tokenizer.tokenize(text, self._mode):
                    if m.part_of_speech()[0] in _SKIP_POS:
                        continue
                    form = m.normalized_form().lower()
                    if _JAPANESE.search(form):
                        words.append(form)
        with self._call_lock:
            words.extend(self._stemmer.stemWords(english))
        return words


# The words `terms` leaves out: function words and the show's filler.
_STOP = frozenset(
    """a an the and or but of to in on at for with by from as is are was were be been being
    it its this that these those i you he she we they me him her us them my your his our
    their what which who whom how why when where do does did not no so if then than too very
    can could would should will shall may might must about into over more most such there
    here just also any all some one i'd i'm it's that's there's really kind thing things
    way well even much something anything get gets got say said says think like""".split()
)
_STEMMER: Any = None
_TOKENIZER: Any = None
_STEM_LOCK = threading.Lock()  # a snowball stemmer keeps its word in itself: one at a time


@lru_cache(maxsize=16384)
def terms(text: str) -> frozenset[str]:
    """Content words of a text, for matching claims with questions and stances: stemmed
    English words, and Japanese normalized forms (Sudachi) where the text is Japanese.
    Kept for the texts asked most recently: a turn's claim is scored against the same
    question, stances and source sentences many times (in a batch, by every debate)."""
    global _STEMMER, _TOKENIZER
    if _CJK.search(text):
        with _STEM_LOCK:
            if _TOKENIZER is None:
                _TOKENIZER = JapaneseTokenizer()
        return frozenset(_TOKENIZER(text))
    if _STEMMER is None:
        _STEMMER = snowballstemmer.stemmer("english")
    found = [
        w
        for w in _WORD.findall(text.lower())
        if w not in _STOP and (len(w) > 2 or w == "ai" or w.isdigit())
    ]
    with _STEM_LOCK:
        return frozenset(_STEMMER.stemWords(found))


# Contractions a small model writes for words its claim spells out, and the reverse.
_CONTRACTIONS = {
    "n't": " not",
    "'m": " am",
    "'re": " are",
    "'ve": " have",
    "'ll": " will",
    "'d": " would",
}
_IRREGULAR = {"can't": "can not", "cannot": "can not", "won't": "will not", "it's": "it is",
              "that's": "that is", "there's": "there is", "what's": "what is",
              "he's": "he is", "she's": "she is", "let's": "let us"}  # fmt: skip


def word_stems(text: str) -> list[str]:
    """Every English word of a text, function words too, as stems, with contractions
    spelled out ("it's" -> "it", "is"; "won't" -> "will", "not"): what tells whether a
    rewording brings in a word its source lacks."""
    global _STEMMER
    spelled: list[str] = []
    for word in _WORD.findall(text.lower().replace("’", "'")):
        if word in _IRREGULAR:
            spelled += _IRREGULAR[word].split()
            continue
        for end, full in _CONTRACTIONS.items():
            if word.endswith(end):
                word = word[: -len(end)] + full
                break
        spelled += word.replace("'s", "").split()
    with _STEM_LOCK:
        if _STEMMER is None:
            _STEMMER = snowballstemmer.stemmer("english")
        return list(_STEMMER.stemWords(spelled))
