"""Screens of the debate TUI."""
