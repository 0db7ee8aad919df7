"""build_graph() -> the uncompiled StateGraph of a show; compile it with a checkpointer.

plan -> open -> retrieve -> speak -> select -+-> retrieve -> speak -> ...
                                             +-> moderate -> retrieve -> speak -> ...
                                             +-> close -> retrieve -> speak -> END

`studio_graph()` is the entry `langgraph.json` names for LangGraph Studio (`langgraph dev`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from graphs import nodes, routing
from graphs.context import ShowContext
from graphs.state import ShowInput, ShowState

Node = Callable[[ShowState, Runtime[ShowContext]], dict[str, Any]]


def _with_default(node: Node, default: Callable[[], ShowContext]) -> Node:
    """`node`, run with `default()` as its context when the caller passes none."""

    @functools.wraps(node)
    def wrapper(state: ShowState, runtime: Runtime[ShowContext]) -> dict[str, Any]:
        if runtime.context is None:
            runtime = runtime.override(context=default())
        return node(state, runtime)

    return wrapper


def build_graph(default_context: Callable[[], ShowContext] | None = None) -> StateGraph:
    """The show's graph, uncompiled. A run passes its `ShowContext` (LangGraph's `context=`);
    with `default_context`, a run that passes none gets the context it returns."""

    def node(fn: Node) -> Node:
        return fn if default_context is None else _with_default(fn, default_context)

    graph = StateGraph(ShowState, context_schema=ShowContext, input_schema=ShowInput)
    graph.add_node("plan", node(nodes.plan))
    graph.add_node("open", node(nodes.open_show))
    graph.add_node("select", node(nodes.select))
    graph.add_node("moderate", node(nodes.moderate))
    graph.add_node("retrieve", node(nodes.retrieve))
    graph.add_node("speak", node(nodes.speak))
    graph.add_node("close", node(nodes.close))
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "open")
    graph.add_edge("open", "retrieve")
    graph.add_edge("retrieve", "speak")
    graph.add_conditional_edges("speak", routing.after_speak, {"select": "select", "__end__": END})
    graph.add_conditional_edges("select", routing.after_select)
    graph.add_conditional_edges("moderate", routing.after_moderate)
    graph.add_edge("close", "retrieve")
    return graph


def compile_show(checkpointer: Any, *, steerable: bool = False) -> Any:
    """Compile with a checkpointer. A steerable show pauses before every `select`,
    where the producer may put a question (a state update) or pause it."""
    return build_graph().compile(
        checkpointer=checkpointer, interrupt_before=["select"] if steerable else None
    )


def _studio_context() -> ShowContext:
    """A show to step through without models or an index: the bundled panel, a scripted
    model (every turn says "A scripted reply."), no passages, the standard agenda."""
    from agents.llm.scripted import ScriptedModel
    from agents.personas import load_personas, select_panel

    return ShowContext(
        debate_id="studio",
        panel=select_panel(load_personas(), None),
        model=ScriptedModel(),
        search=lambda query, k, sources=None: [],
        max_turns=6,
        agenda="standard",
    )


def studio_graph() -> Any:
    """The show compiled for LangGraph Studio (`langgraph dev`, see `langgraph.json`): no
    checkpointer (the server brings its own) and, where a run passes no context, the
    scripted show of `_studio_context`, made on the first such run. Importing this module
    builds nothing."""
    made: list[ShowContext] = []

    def context() -> ShowContext:
        if not made:
            made.append(_studio_context())
        return made[0]

    return build_graph(context).compile(name="show")
