"""Messages the TUI's widgets and workers post upward."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from graphs.events import Event


@dataclass
class ShowEvent(Message):
    """An event of a running show, handed from the worker thread to the live screen."""

    event: Event
