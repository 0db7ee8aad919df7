"""The lexical sides of search: a BM25 index over a real Japanese tokenizer (Sudachi),
English words stemmed (Snowball), so "computing" in a question meets "compute" in a
gloss; and an index of learned sparse vectors ("latent terms" of the e5 model)."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable

import numpy as np
import snowballstemmer

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_EN_STOP = frozenset(
    "a an the and or but of to in on at for with by from as is are was were be been being "
    "it its this that these those i you he she we they me him her us them my your his our "
    "their what which who whom how why when where do does did not no so if then than too "
    "very can could would should will shall may might must about into over more most such "
    "there here just also any all some one".split()
)
_SKIP_POS = {"助詞", "助動詞", "補助記号", "記号", "空白", "感動詞", "フィラー"}
_JP = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")


class JapaneseTokenizer:
    """Content words of a text: Sudachi normalized forms for Japanese, words for English."""

    _lock = threading.Lock()
    _shared = None

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
        self._call_lock = threading.Lock()

    def __call__(self, text: str) -> list[str]:
        text = text.lower()
        words: list[str] = []
        english = [w for w in _WORD.findall(text) if w not in _EN_STOP and len(w) > 1]
        with self._call_lock:
            if _JP.search(text):
                morphemes = self._tokenizer.tokenize(text, self._mode)
                for m in morphemes:
                    if m.part_of_speech()[0] in _SKIP_POS:
                        continue
                    form = m.normalized_form().lower()
                    if _JP.search(form):
                        words.append(form)
            words.extend(self._stemmer.stemWords(english))
        return words


class BM25:
    """Okapi BM25 over tokenized documents."""

    def __init__(self, docs: Iterable[list[str]], k1: float = 1.4, b: float = 0.75) -> None:
        self.docs = [Counter(d) for d in docs]
        self.lengths = [sum(c.values()) for c in self.docs]
        self.avg = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        df: Counter[str] = Counter()
        for c in self.docs:
            df.update(c.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.k1, self.b = k1, b

    def scores(self, query: list[str]) -> list[float]:
        out = []
        terms = [t for t in dict.fromkeys(query) if t in self.idf]
        for counts, length in zip(self.docs, self.lengths, strict=True):
            s = 0.0
            norm = self.k1 * (1 - self.b + self.b * length / (self.avg or 1))
            for t in terms:
                f = counts.get(t, 0)
                if f:
                    s += self.idf[t] * f * (self.k1 + 1) / (f + norm)
            out.append(s)
        return out


Sparse = dict[int, float]


def max_pool(vectors: Iterable[Sparse]) -> Sparse:
    """Feature-wise maximum: the sparse head max-pools over tokens, and a chunk's
    sentences are pooled the same way."""
    out: Sparse = {}
    for v in vectors:
        for f, w in v.items():
            if w > out.get(f, 0.0):
                out[f] = w
    return out


def add(a: Sparse, b: Sparse) -> Sparse:
    out = dict(a)
    for f, w in b.items():
        out[f] = out.get(f, 0.0) + w
    return out


def encode_sparse(vector: Sparse) -> str:
    """A compact text form for chunk metadata: "feature:weight" pairs, heaviest first."""
    return " ".join(f"{f}:{w:.3f}" for f, w in sorted(vector.items(), key=lambda kv: -kv[1]))


def decode_sparse(text: str) -> Sparse:
    out: Sparse = {}
    for pair in text.split():
        f, _, w = pair.partition(":")
        out[int(f)] = float(w)
    return out


class SparseIndex:
    """Dot products of a query's sparse vector with every document's, through inverted
    lists (a query has a few hundred features out of thousands)."""

    def __init__(self, docs: list[Sparse | None]) -> None:
        self.size = len(docs)
        lists: dict[int, tuple[list[int], list[float]]] = {}
        for row, doc in enumerate(docs):
            for f, w in (doc or {}).items():
                rows, weights = lists.setdefault(f, ([], []))
                rows.append(row)
                weights.append(w)
        self.covered = sum(1 for d in docs if d)
        self._lists = {
            f: (np.array(r, dtype=np.int64), np.array(w, dtype=np.float32))
            for f, (r, w) in lists.items()
        }

    def scores(self, query: Sparse) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        for f, w in query.items():
            hit = self._lists.get(f)
            if hit is not None:
                out[hit[0]] += w * hit[1]
        return out
