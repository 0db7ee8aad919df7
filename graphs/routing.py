"""Edge functions of the show graph, typed with Literal; anything unexpected raises."""

from __future__ import annotations

from typing import Literal

from graphs.state import ShowState


def after_select(state: ShowState) -> Literal["retrieve", "moderate", "close"]:
    if state.get("next_turn") is not None:
        return "retrieve"
    if state.get("stop_reason"):
        return "close"
    if state.get("pending") is not None:
        return "moderate"
    raise ValueError("select decided nothing: no next turn, no stop reason, no interjection")


def after_speak(state: ShowState) -> Literal["select", "__end__"]:
    turns = state.get("turns") or []
    if not turns:
        raise ValueError("speak finished without a turn")
    return "__end__" if turns[-1].kind == "closing" else "select"


def after_moderate(state: ShowState) -> Literal["retrieve"]:
    if state.get("next_turn") is None:
        raise ValueError("moderate left no one to answer the producer's question")
    return "retrieve"
