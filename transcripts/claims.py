"""The claims the sources offer, read from their files: a `ClaimBook` of the indexed
sources' sentences (`core.claims`), and the claims no saved debate has made yet (`debate
topics`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.claims import ClaimBook, Side, SourceSentence, claimable, pieces, stands_alone
from core.errors import UserError
from core.models import Turn
from core.paths import bundled_sources, source_id_for
from core.text import terms
from transcripts.ingest import load_gloss, read_source

log = logging.getLogger(__name__)


def read_book(paths: Mapping[str, Path]) -> ClaimBook:
    """Read each source file (and its gloss and opposition files beside it); an unreadable
    source is left out with a warning (its passages are then split on their own), and so
    is an unreadable opposition file (its source's claims are then never charted as
    opposed)."""
    sentences: list[SourceSentence] = []
    opposed: list[tuple[Side, Side]] = []
    for source_id, path in paths.items():
        try:
            read = _read(str(path), source_id)
        except (UserError, OSError) as exc:
            log.warning("claims: cannot read %s (%s)", path, exc)
            continue
        sentences += read
        try:
            opposed += _opposed(str(path), source_id)
        except (UserError, OSError) as exc:
            log.warning("claims: %s", exc)
    return ClaimBook(sentences, opposed)


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
    out: list[SourceSentence] = []
    on_line: dict[int, int] = {}
    for s in source.sentences:
        order = on_line.get(s.line, 0)
        on_line[s.line] = order + 1  # counted as a gloss row counts "sentence"
        if s.text.strip():
            out.append(
                SourceSentence(
                    source_id, s.line, s.text.strip(), gloss.get((s.line, s.text)), order=order
                )
            )
    return tuple(out)


def opposition_path(path: Path) -> Path:
    """Where a source's opposition file lies: beside it, `<name>.opposed.jsonl`
    (`show.ja.txt` -> `show.ja.opposed.jsonl`)."""
    return path.with_name(path.name.rsplit(".", 1)[0] + ".opposed.jsonl")


@lru_cache(maxsize=16)
def _opposed(path: str, source_id: str) -> tuple[tuple[Side, Side], ...]:
    """The pairs of a source's opposition file: JSON lines of {"line", "sentence",
    "opposes": {"line", "sentence"}, "why"}, each naming a sentence by its line and its
    order on the line (from 0, as gloss rows do); either side may add "part", words of
    the English gloss that the claim must hold, where a long sentence gives several
    claims and only one of them is opposed. None when there is no file.

    Raises UserError naming the file and the row for a row that is not such an object
    or names a sentence the source does not have."""
    file = opposition_path(Path(path))
    if not file.exists():
        return ()
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{file}: not UTF-8 text") from exc
    known = {s.ref for s in _read(path, source_id)}
    pairs: list[tuple[Side, Side]] = []
    for number, raw in enumerate(text.split("\n"), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
            them = row["opposes"]
            a = (source_id, int(row["line"]), int(row["sentence"]))
            b = (source_id, int(them["line"]), int(them["sentence"]))
            parts = (str(row.get("part", "")), str(them.get("part", "")))
            str(row["why"])
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise UserError(f"{file}: line {number}: not an opposition row ({exc!r})") from exc
        for ref in (a, b):
            if ref not in known:
                raise UserError(
                    f"{file}: line {number}: the source has no sentence {ref[2]} on line {ref[1]}"
                )
        pairs.append(((a, parts[0]), (b, parts[1])))
    return tuple(pairs)


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
