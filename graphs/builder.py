"""build_graph() -> the uncompiled StateGraph of a show; compile it with a checkpointer.

plan -> open -> retrieve -> speak -> select -+-> retrieve -> speak -> ...
                                             +-> moderate -> select
                                             +-> close -> retrieve -> speak -> END
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from graphs import nodes, routing
from graphs.context import ShowContext
from graphs.state import ShowInput, ShowState


def build_graph() -> StateGraph:
    graph = StateGraph(ShowState, context_schema=ShowContext, input_schema=ShowInput)
    graph.add_node("plan", nodes.plan)
    graph.add_node("open", nodes.open_show)
    graph.add_node("select", nodes.select)
    graph.add_node("moderate", nodes.moderate)
    graph.add_node("retrieve", nodes.retrieve)
    graph.add_node("speak", nodes.speak)
    graph.add_node("close", nodes.close)
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
