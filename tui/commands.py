"""The app's own commands in the command palette (Ctrl+P), beside Textual's.

Each command names an action of a screen; the palette offers the ones the screen it
was opened on has, so "Delete the selected debate" shows in the library and "Fork
from this turn" in a live debate or a replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


@dataclass(frozen=True)
class Command:
    title: str
    help: str
    action: str  # an action of the screen the palette was opened on, or app.<action>


COMMANDS = (
    Command("New debate", "Open the form for a new debate", "app.new_debate"),
    Command("Replay the selected debate", "Play the saved debate turn by turn", "replay"),
    Command("Outline", "The episode outline of this debate", "outline"),
    Command("Export the outline", "Write the outline as Markdown beside the debate", "export"),
    Command("Fork from this turn", "Continue as a new branch, with a steering question", "fork"),
    Command("Delete the selected debate", "Asks first; its branches stay", "delete"),
    Command("Search the turns", "Find a word in what the panel said", "search"),
    Command("Filter the debates", "Show only debates whose topic, id or model match", "filter"),
    Command("Sort by the next column", "Cycle the library's sort column", "sort"),
    Command("Interject", "Put a question to the panel, answered next", "interject"),
    Command("Pause or continue", "Cut the turn being spoken and wait", "pause"),
    Command("Stop and save", "Cut the turn being spoken, save the debate", "stop"),
    Command("Library", "Back to the saved debates", "app.library"),
    Command("Keys of this screen", "Every key of the screen and what it does", "app.help"),
)


def available(screen, command: Command) -> bool:
    """Whether `command` applies on `screen` (the app's commands always do)."""
    if command.action.startswith("app."):
        return True
    return callable(getattr(screen, f"action_{command.action}", None))


class DebateCommands(Provider):
    """Commands of the debate app for the palette."""

    def _commands(self) -> list[Command]:
        return [c for c in COMMANDS if available(self.screen, c)]

    def _runner(self, command: Command):
        if command.action.startswith("app."):
            return partial(self.app.run_action, command.action)
        return partial(self.screen.run_action, command.action)

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, self._runner(command), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    self._runner(command),
                    help=command.help,
                )
