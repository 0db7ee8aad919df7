"""Widgets of the debate TUI, one family per module."""
