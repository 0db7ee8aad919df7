"""The passages of a turn: cited ones first, each line numbered, the gloss below."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from core.models import Passage, Turn


@lru_cache(maxsize=8)
def source_lines(source_id: str) -> tuple[str, ...]:
    """Lines of a bundled source (index 0 is line 1); empty for any other source."""
    from core.paths import bundled_sources, source_id_for

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


def ordered_passages(turn: Turn | None, passages: list[Passage] | None) -> list[Passage]:
    """The passages to show: those the turn cites first, then the others in search order."""
    shown = passages if passages is not None else (turn.passages if turn else [])
    cited = {(c.source_id, c.line_start, c.line_end) for c in (turn.citations if turn else [])}

    def is_cited(p: Passage) -> bool:
        return any(p.covers(*c) for c in cited)

    return [p for p in shown if is_cited(p)] + [p for p in shown if not is_cited(p)]


def _is_cited(turn: Turn | None, p: Passage) -> bool:
    return bool(turn) and any(
        p.covers(c.source_id, c.line_start, c.line_end)
        for c in turn.citations  # type: ignore[union-attr]
    )


def sources_blocks(
    turn: Turn | None,
    passages: list[Passage] | None = None,
    context: list[tuple[int, str]] | None = None,
    *,
    lines_of=None,
) -> list[tuple[Text, list[tuple[str, Text]]]]:
    """The panel as (heading, [(line number or "", text)]) blocks: passages the turn cites
    first, every line under its number, the English gloss in italics; then the source
    lines around the citation. `lines_of(source_id)` gives a source's lines (bundled
    sources by default). Every text is Text, never markup."""
    lines_of = lines_of or source_lines
    if turn is None and not passages:
        return [(Text("No turn selected.", style="dim"), [])]
    ordered = ordered_passages(turn, passages)
    blocks: list[tuple[Text, list[tuple[str, Text]]]] = []
    if not ordered:
        blocks.append((Text("No passages retrieved for this turn.", style="dim"), []))
    # A turn that failed its check against its lines never shows its passages with a
    # green tick: they are cited, not shown to support it.
    failed = turn is not None and turn.attribution is not None and not turn.attribution.attributable
    for p in ordered:
        mark = _is_cited(turn, p)
        if mark:
            label, style = ("⚠ cited  ", "bold yellow") if failed else ("✓ cited  ", "bold green")
        else:
            label, style = "  also found  ", "dim"
        head = Text(label, style=style)
        head.append(p.anchor, style="bold")
        try:
            source = lines_of(p.source_id)
        except Exception:  # a source that cannot be read still shows the passage's own text
            source = ()
        rows = [(str(n), Text(line)) for n, line in numbered_lines(p, source)]
        if p.gloss:
            rows.append(("", Text(p.gloss, style="italic dim")))
        blocks.append((head, rows))
    if context:
        rows = [(str(n), Text(line)) for n, line in context]
        blocks.append((Text("Source lines around the citation", style="bold"), rows))
    return blocks


def sources_text(
    turn: Turn | None,
    passages: list[Passage] | None = None,
    context: list[tuple[int, str]] | None = None,
    *,
    lines_of=None,
) -> Text:
    """The panel's content as one Text (`  27 line`), for tests and plain output."""
    out = Text()
    for head, rows in sources_blocks(turn, passages, context, lines_of=lines_of):
        out.append_text(head)
        out.append("\n")
        for number, line in rows:
            out.append(f"{number:>5} ", style="dim")
            out.append_text(line)
            out.append("\n")
        if rows:
            out.append("\n")
    return out


def sources_renderable(blocks: list[tuple[Text, list[tuple[str, Text]]]]) -> Group:
    """The blocks laid out with the line numbers in a column of their own, so that a long
    line wraps under its text, not under its number."""
    parts: list = []
    for head, rows in blocks:
        parts.append(head)
        if rows:
            grid = Table.grid(padding=(0, 1))
            grid.add_column(justify="right", style="dim", width=5, no_wrap=True)
            grid.add_column(overflow="fold")
            for number, line in rows:
                grid.add_row(number, line)
            parts += [grid, Text("")]
    return Group(*parts)


class SourcesPanel(Static):
    DEFAULT_CSS = """
    SourcesPanel {
        padding: 0 1;
        height: auto;
    }
    """

    def __init__(self, **kw) -> None:
        super().__init__(sources_text(None), markup=False, **kw)
        self.text = sources_text(None)  # what the panel shows, as plain text

    def show(
        self,
        turn: Turn | None,
        passages: list[Passage] | None = None,
        context: list[tuple[int, str]] | None = None,
    ) -> None:
        blocks = sources_blocks(turn, passages, context)
        self.text = sources_text(turn, passages, context)
        self.update(sources_renderable(blocks))
