"""Personas and the LLM layer: who speaks, and how a model is called."""
