"""The LLM layer: one ChatModel protocol and its backends (embedded, openai, scripted)."""

from agents.llm.base import ChatModel, Completion, Message

__all__ = ["ChatModel", "Completion", "Message"]
