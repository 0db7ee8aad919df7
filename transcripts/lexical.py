"""The lexical sides of search: a BM25 index over a real Japanese tokenizer (Sudachi),
English words stemmed (Snowball), so "computing" in a question meets "compute" in a
gloss; and an index of learned sparse vectors ("latent terms" of the e5 model)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np


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
