"""The passages of a turn: line numbers, the original text, its gloss; cited ones marked."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from transcripts.models import Passage, Turn


def sources_text(
    turn: Turn | None,
    passages: list[Passage] | None = None,
    context: list[tuple[int, str]] | None = None,
) -> Text:
    out = Text()
    if turn is None and not passages:
        out.append("No turn selected.", style="dim")
        return out
    shown = passages if passages is not None else (turn.passages if turn else [])
    cited = {(c.source_id, c.line_start, c.line_end) for c in (turn.citations if turn else [])}
    if not shown:
        out.append("No passages retrieved for this turn.", style="dim")
    # A turn that failed its check against its lines never shows its passages with a
    # green tick: they are cited, not shown to support it.
    failed = turn is not None and turn.attribution is not None and not turn.attribution.attributable
    for p in shown:
        if any(p.covers(*c) for c in cited):
            label, style = ("⚠ cited  ", "bold yellow") if failed else ("✓ cited  ", "bold green")
            out.append(label, style=style)
        else:
            out.append("         ")
        out.append(f"{p.anchor}\n", style="bold")
        out.append(p.text + "\n")
        if p.gloss:
            out.append(p.gloss + "\n", style="italic dim")
        out.append("\n")
    if context:
        out.append("Source lines around the citation\n", style="bold")
        for number, line in context:
            out.append(f"{number:>4} ", style="dim")
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
