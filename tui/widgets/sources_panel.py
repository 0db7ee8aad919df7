"""The passages of a turn: cited ones first, each line numbered, the gloss below."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from transcripts.models import Passage, Turn


@lru_cache(maxsize=8)
def source_lines(source_id: str) -> tuple[str, ...]:
    """Lines of a bundled source (index 0 is line 1); empty for any other source."""
    from transcripts.index import bundled_sources
    from transcripts.ingest import source_id_for

    for path in bundled_sources():
        if source_id_for(path) == source_id:
            return tuple(Path(path).read_text(encoding="utf-8").split("\n"))
    return ()


def numbered_lines(passage: Passage, lines: tuple[str, ...] = ()) -> list[tuple[int, str]]:
    """(line number, text) of a passage: from the source's own lines where they are at hand
    and cover it, else the passage's text split on its line breaks, numbered from
    `line_start` (a passage whose lines were joined shows under its first number)."""
    first, last = passage.line_start, passage.line_end
    if lines and 1 <= first <= last <= len(lines):
        return [(n, lines[n - 1]) for n in range(first, last + 1)]
    return [(first + i, line) for i, line in enumerate(passage.text.split("\n"))]


def sources_text(
    turn: Turn | None,
    passages: list[Passage] | None = None,
    context: list[tuple[int, str]] | None = None,
    *,
    lines_of=None,
) -> Text:
    """The panel's text: passages the turn cites first, then the others, in search order;
    every line under its number; the English gloss in italics. `lines_of(source_id)` gives a
    source's lines (bundled sources by default)."""
    lines_of = lines_of or source_lines
    out = Text()
    if turn is None and not passages:
        out.append("No turn selected.", style="dim")
        return out
    shown = passages if passages is not None else (turn.passages if turn else [])
    cited = {(c.source_id, c.line_start, c.line_end) for c in (turn.citations if turn else [])}

    def is_cited(p: Passage) -> bool:
        return any(p.covers(*c) for c in cited)

    ordered = [p for p in shown if is_cited(p)] + [p for p in shown if not is_cited(p)]
    if not ordered:
        out.append("No passages retrieved for this turn.", style="dim")
    for p in ordered:
        mark = is_cited(p)
        out.append("✓ cited  " if mark else "  also found  ", style="bold green" if mark else "dim")
        out.append(f"{p.anchor}\n", style="bold")
        try:
            source = lines_of(p.source_id)
        except Exception:  # a source that cannot be read still shows the passage's own text
            source = ()
        for number, line in numbered_lines(p, source):
            out.append(f"{number:>5} ", style="dim")
            out.append(line + "\n")
        if p.gloss:
            out.append("      " + p.gloss + "\n", style="italic dim")
        out.append("\n")
    if context:
        out.append("Source lines around the citation\n", style="bold")
        for number, line in context:
            out.append(f"{number:>5} ", style="dim")
            out.append(line + "\n")
    return out


class SourcesPanel(Static):
    DEFAULT_CSS = """
    SourcesPanel {
        padding: 0 1;
        height: auto;
    }
    """

    def __init__(self, **kw) -> None:
        super().__init__(sources_text(None), markup=False, **kw)

    def show(
        self,
        turn: Turn | None,
        passages: list[Passage] | None = None,
        context: list[tuple[int, str]] | None = None,
    ) -> None:
        self.update(sources_text(turn, passages, context))
