"""The episode outline of a debate, rendered as Markdown, with export to a file.

The outline is assembled in a worker thread while the screen says so; `w` has the
model the debate ran with write the title, logline and working titles, with each
stage (loading the model, writing) named on screen.
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Markdown

from core.files import atomic_write
from core.models import Debate
from episodes.outline import build_outline, outline_markdown
from tui.widgets.footer import KeyFooter
from tui.widgets.progress import StageLine


def export_outline(folder: Path, debate: Debate, markdown: str | None = None) -> Path:
    """Write the outline of `debate` as `<id>.outline.md` in `folder`; returns the path."""
    if markdown is None:
        markdown = outline_markdown(build_outline(debate))
    return atomic_write(Path(folder) / f"{debate.id}.outline.md", markdown)


class OutlineScreen(Screen[None]):
    HELP = (
        "The episode outline: segments, talking points, clashes, quotes and sources, "
        "assembled from the turns. w has the debate's model write the title and logline."
    )
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", id="outline.back", tooltip="Back"),
        Binding(
            "e", "export", "Export", id="outline.export", tooltip="Write the outline to a file"
        ),
        Binding(
            "w",
            "write",
            "Model titles",
            id="outline.write",
            tooltip="Have the debate's model write the title, logline and working titles",
        ),
    ]

    def __init__(self, debate: Debate) -> None:
        super().__init__()
        self.debate = debate
        self.outline = None
        self.markdown = ""
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield StageLine(id="outline-stage")
        with VerticalScroll():
            yield Markdown("", id="outline")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = f"Outline · {self.debate.id}"
        self.query_one(StageLine).set_stage("assembling the outline from the turns")
        self.assemble()

    def stage(self, text: str) -> None:
        self.app.call_from_thread(self.query_one(StageLine).set_stage, text)

    @work(thread=True, exclusive=True, group="outline")
    def assemble(self) -> None:
        settings = self.app.settings  # type: ignore[attr-defined]
        outline = build_outline(self.debate, wpm=settings.speech_wpm, cpm=settings.speech_cpm)
        self.app.call_from_thread(self.show, outline)

    def show(self, outline) -> None:  # noqa: ANN001 (an Outline)
        self.outline = outline
        self.markdown = outline_markdown(outline)
        self.query_one("#outline", Markdown).update(self.markdown)
        self.query_one(StageLine).finish()
        self.busy = False

    def action_write(self) -> None:
        if self.outline is None or self.busy:
            self.notify("The outline is still being put together.", severity="warning")
            return
        if not self.debate.turns:
            self.notify("This debate has no turns to write about.", severity="warning")
            return
        self.busy = True
        self.write_notes()

    @work(thread=True, exclusive=True, group="outline")
    def write_notes(self) -> None:
        from graphs.session import write_notes

        app = self.app
        try:
            self.stage(f"loading the model ({self.debate.settings.model})")
            model = app.saved_model_for(self.debate)  # type: ignore[attr-defined]
            self.stage("the model writes the title, logline and working titles")
            outline = write_notes(self.outline, self.debate.topic, model)
        except Exception as exc:  # a model that cannot load or answer: said, not raised
            app.call_from_thread(self.query_one(StageLine).finish)
            app.call_from_thread(
                self.notify, f"No model prose: {exc}", severity="error", markup=False
            )
            self.busy = False
            return
        app.call_from_thread(self.show, outline)
        said = (
            "Assembled only: nothing the model wrote was used."
            if outline.written_by == "assembly"
            else f"Written by {outline.written_by}."
        )
        if outline.notes_dropped:
            said += " Not used: " + "; ".join(outline.notes_dropped) + "."
        app.call_from_thread(self.notify, said, markup=False, timeout=12)

    def action_export(self) -> None:
        if not self.markdown:
            self.notify("The outline is still being put together.", severity="warning")
            return
        path = export_outline(self.app.store.folder, self.debate, self.markdown)  # type: ignore[attr-defined]
        self.notify(f"Outline written to {path}", markup=False)
