"""The LangGraph state machine of a show: state, nodes, routing, builder, events."""
