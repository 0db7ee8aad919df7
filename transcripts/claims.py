"""The claims the sources offer, read from their files: a `ClaimBook` of the indexed
sources' sentences (`core.claims`), and the claims no saved debate has made yet (`debate
topics`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.claims import ClaimBook, SourceSentence, claimable, pieces, stands_alone
from core.errors import UserError
from core.models import Turn
from core.paths import bundled_sources, source_id_for
from core.text import terms
from transcripts.ingest import load_gloss, read_source

log = logging.getLogger(__name__)


def read_book(paths: Mapping[str, Path]) -> ClaimBook:
    """Read each source file (and its gloss file beside it); an unreadable one is left
    out with a warning (its passages are then split on their own)."""
    sentences: list[SourceSentence] = []
    for source_id, path in paths.items():
        try:
            sentences += _read(str(path), source_id)
        except (UserError, OSError) as exc:
            log.warning("claims: cannot read %s (%s)", path, exc)
    return ClaimBook(sentences)


def book_of(index: Any) -> ClaimBook:
    """The sentences of every source an index holds (read from the files it was built
    from), and of the bundled sources."""
    paths: dict[str, Path] = {source_id_for(p): Path(p) for p in bundled_sources()}
    listing = getattr(index, "sources", None)
    if callable(listing):
        for info in listing():
            if info.path and Path(info.path).is_file():
                paths[info.source_id] = Path(info.path)
    return read_book(paths)


@lru_cache(maxsize=16)
def _read(path: str, source_id: str) -> tuple[SourceSentence, ...]:
    source = read_source(Path(path))
    gloss = load_gloss(Path(path))
    return tuple(
        SourceSentence(source_id, s.line, s.text.strip(), gloss.get((s.line, s.text)))
        for s in source.sentences
        if s.text.strip()
    )


@dataclass(frozen=True)
class Topic:
    """A source claim no saved debate has made yet: a seed for the next episode."""

    source_id: str
    line: int
    claim: str
    source_text: str


def fresh_topics(
    book: ClaimBook,
    turns: Iterable[Turn],
    *,
    language: str = "en",
    names: Sequence[str] = (),
    sources: Sequence[str] | None = None,
    limit: int = 10,
) -> list[Topic]:
    """Claims of the sources that none of `turns` (every saved debate's) made, the most
    substantial first: claims that read on their own before those that open on a pointing
    pronoun, then by how many content words they hold; each source sentence once."""
    used = {c.key for t in turns if (c := t.claim) is not None}
    rows: list[tuple[bool, int, int, Topic]] = []
    for source_id in sources or book.sources:
        for order, s in enumerate(book.of_source(source_id)):
            if (s.source_id, s.line, s.text.strip()) in used:
                continue
            found = [p for p in pieces(s.shown(language)) if claimable(p, language, names)]
            if not found:
                continue
            text = max(found, key=lambda p: len(terms(p)))
            topic = Topic(s.source_id, s.line, text, s.text.strip())
            rows.append((stands_alone(text), len(terms(text)), -order, topic))
    rows.sort(key=lambda r: (r[0], r[1], r[2]), reverse=True)
    return [r[3] for r in rows[: max(0, limit)]]
