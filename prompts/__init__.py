"""Prompt templates and persona files, loaded from this package's data."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from string import Template

from core.errors import DebateError

LANGUAGES = ("en", "ja")


class PromptError(DebateError, ValueError):
    """A prompt template is missing or does not fill."""


def template_text(template: str, language: str) -> str:
    """The text of `templates/<language>/<name>.txt`."""
    path = resources.files(__package__) / "templates" / language / f"{template}.txt"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PromptError(f"prompts/templates/{language}/{template}.txt: no such template") from exc


def render(template: str, language: str, **values: object) -> str:
    """Fill a template; a placeholder without a value is an error, not a blank."""
    text = template_text(template, language)
    try:
        return Template(text).substitute({k: str(v) for k, v in values.items()}).strip()
    except KeyError as exc:
        raise PromptError(
            f"prompts/templates/{language}/{template}.txt: no value for ${exc.args[0]}"
        ) from exc


def name_list(names: Sequence[str], language: str) -> str:
    """Names joined as a sentence lists them: "A", "A and B", "A, B and C" in English;
    with "、" in Japanese."""
    names = [n for n in names if n]
    if language == "ja":
        return "、".join(names)
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def personas_dir():
    """The folder of bundled persona files."""
    return resources.files(__package__) / "personas"
