"""Text measures of a debate: echo (copy_rate), variety (distinct-2), word n-grams."""

from __future__ import annotations

import re
from collections.abc import Sequence

_TOKEN = re.compile(r"[\w']+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


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
