"""The Persona model and its loader: one YAML file per persona under prompts/personas/."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import UserError
from core.files import read_bounded
from core.models import PersonaSnapshot
from prompts import personas_dir

# A persona is a few short fields; anything this big is not one (and is not parsed).
MAX_PERSONA_BYTES = 256 * 1024
PERSONA_SUFFIXES = (".yaml", ".yml")


class Persona(BaseModel):
    """A voice on the panel, as written in its persona file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$", description="Short id used on the CLI.")
    name: str = Field(min_length=1, max_length=80)
    role: Literal["host", "panelist"]
    title: str = Field(min_length=1, max_length=120)
    bio: str = Field(min_length=1, max_length=2000)
    stance: str = Field(min_length=1, max_length=2000)
    style: str = Field(min_length=1, max_length=500)
    color: str = Field(pattern=r"^(#[0-9a-fA-F]{6}|[a-z]+)$")
    simulated: bool = Field(False, description="True for personas of real people.")
    model: str | None = Field(None, description="Model override for this persona.")
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    sources: list[str] | None = Field(None, description="Only retrieve from these sources.")
    openers: dict[Literal["en", "ja"], list[str]] = Field(
        default_factory=dict,
        description="Lead-ins a turn may start with, per language; the model continues them. "
        "$first stands for the guest a host's question is put to.",
    )
    summary_openers: dict[Literal["en", "ja"], list[str]] = Field(
        default_factory=dict,
        description="The host's lead-ins for summing up a segment, per language (its "
        "`openers` lead its questions).",
    )

    themes: dict[Literal["en", "ja"], list[str]] = Field(
        default_factory=dict,
        description="Words and phrases of what this panelist argues about, per language: "
        "of the source sentences retrieved for a turn, those that touch them are the "
        "likelier claims of this panelist's turns.",
    )

    rejects: dict[Literal["en", "ja"], list[str]] = Field(
        default_factory=dict,
        description="Phrases of positions this panelist does not take, per language: a "
        "source sentence that holds one is not this panelist's claim (the sceptical "
        "economist does not argue that money 'no longer holds up').",
    )

    @field_validator("themes", "rejects")
    @classmethod
    def _short_themes(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for language, items in value.items():
            if len(items) > 64:
                raise ValueError(f"{language}: at most 64 themes")
            for item in items:
                if not item.strip() or len(item) > 40:
                    raise ValueError(f"{language}: a theme is 1-40 characters")
        return {k: [i.strip() for i in v] for k, v in value.items()}

    @field_validator("openers", "summary_openers")
    @classmethod
    def _short_openers(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for language, items in value.items():
            if len(items) > 16:
                raise ValueError(f"{language}: at most 16 openers")
            for item in items:
                if not item.strip() or len(item) > 80:
                    raise ValueError(f"{language}: an opener is 1-80 characters")
        return {k: [i.strip() for i in v] for k, v in value.items()}

    @field_validator("name", "title", "bio", "stance", "style")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @property
    def label(self) -> str:
        """Name as every front end shows it: real people are marked as simulated."""
        return f"{self.name} (simulated)" if self.simulated else self.name

    def snapshot(self) -> PersonaSnapshot:
        return PersonaSnapshot(**self.model_dump())


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "(file)"
    if first["type"] == "missing":
        return f"field '{field}' is missing"
    if first["type"] == "extra_forbidden":
        return f"field '{field}' is not a persona field"
    return f"field '{field}': {first['msg']}"


def _yaml_line(exc: Exception, text: str) -> int | None:
    """The 1-based line a YAML or decoding error points at, where it points at one."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return int(mark.line) + 1
    position = getattr(exc, "position", None)  # yaml.reader.ReaderError: bad character
    if isinstance(position, int):
        return text.count("\n", 0, position) + 1
    return None


def _comment_eaten(text: str) -> tuple[int, str, str] | None:
    """The first value YAML read as a comment: an unquoted value that starts with `#`
    (`color: #ff8800`, `- #1 fan`) is a comment there, and the field or item is left
    empty. Returns (1-based line, field, the value as written), or None. A `#` followed
    by a space (`model:  # none yet`) is taken for a comment the writer meant."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    lines = text.split("\n")

    def eaten(node: yaml.Node) -> str | None:
        if not (isinstance(node, yaml.ScalarNode) and node.value == "" and node.style is None):
            return None
        rest = lines[node.start_mark.line][node.start_mark.column :].strip()
        return rest if rest.startswith("#") and rest[1:2].strip() else None

    # Depth first in document order; an alias is the node it names, so each node is
    # looked at once (a "billion laughs" file stays cheap).
    stack: list[tuple[str, yaml.Node]] = [("", root)] if root is not None else []
    seen: set[int] = set()
    while stack:
        field, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        value = eaten(node)
        if value is not None:
            return node.start_mark.line + 1, field, value
        children: list[tuple[str, yaml.Node]] = []
        if isinstance(node, yaml.MappingNode):
            for key, child in node.value:
                children.append((f"{field}.{key.value}" if field else str(key.value), child))
        elif isinstance(node, yaml.SequenceNode):
            children = [(f"{field}.{i}", child) for i, child in enumerate(node.value)]
        stack.extend(reversed(children))
    return None


def load_persona(path: Path) -> Persona:
    """Read and validate one persona file; any problem is a one-line UserError."""
    try:
        data = read_bounded(path, MAX_PERSONA_BYTES)
    except FileNotFoundError as exc:
        raise UserError(f"{path}: no such persona file") from exc
    except OSError as exc:
        raise UserError(f"{path}: cannot read the persona file ({exc.strerror})") from exc
    if data is None:
        raise UserError(f"{path}: over the {MAX_PERSONA_BYTES >> 10} KB limit of a persona file")
    return _parse_persona(str(path), data)


@lru_cache(maxsize=64)
def _parse_persona(path: str, data: bytes) -> Persona:
    """A persona from the bytes of its file (`path` names it in errors). Kept for the files
    read most recently: every debate of a batch reads the same few (a Persona is frozen)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(f"{path}: line {line}: not UTF-8 text") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = _yaml_line(exc, text)
        where = f" line {line}:" if line is not None else ""
        raise UserError(f"{path}:{where} not a readable YAML file") from exc
    except RecursionError as exc:
        raise UserError(f"{path}: the YAML is nested too deeply for a persona file") from exc
    if not isinstance(raw, dict):
        raise UserError(f"{path}: a persona file must be a mapping of fields")
    eaten = _comment_eaten(text)
    if eaten is not None:
        line, field, value = eaten
        value = re.split(r"\s+#", value, maxsplit=1)[0]  # a comment of its own after it
        quoted = f'"{value}"' if '"' not in value else f"'{value}'"
        last = field.rsplit(".", 1)[-1]
        fix = f"- {quoted}" if last.isdigit() else f"{last}: {quoted}"
        raise UserError(
            f"{path}: line {line}: field '{field}': the value starts with '#', which YAML "
            f"reads as a comment, so it is empty; put it in quotes: {fix}"
        )
    try:
        return Persona.model_validate(raw)
    except ValidationError as exc:
        raise UserError(f"{path}: {_describe(exc)}") from exc


def load_personas(
    folder: Path | None = None, *, on_skip: Callable[[str], None] | None = None
) -> dict[str, Persona]:
    """All personas of a folder (the bundled ones by default), keyed by id, host first.

    Persona files end in .yaml or .yml (any case); every other file of the folder is
    named to `on_skip`, one line each, so a persona saved under another name does not
    go missing without a word. Raises UserError for a missing folder or a bad file."""
    folder = Path(str(folder or personas_dir()))
    if not folder.is_dir():
        raise UserError(f"{folder}: no such persona folder")
    personas: dict[str, Persona] = {}
    paths = sorted(p for p in folder.iterdir() if p.is_file())
    for path in paths:
        if path.suffix.lower() not in PERSONA_SUFFIXES:
            if on_skip is not None:
                on_skip(f"{path}: not loaded: persona files end in {' or '.join(PERSONA_SUFFIXES)}")
            continue
        persona = load_persona(path)
        if persona.id in personas:
            raise UserError(f"{path}: persona id '{persona.id}' is used twice")
        personas[persona.id] = persona
    return dict(sorted(personas.items(), key=lambda kv: (kv[1].role != "host", kv[0])))


def select_panel(personas: dict[str, Persona], ids: Iterable[str] | None) -> list[Persona]:
    """The panel for a run: one host first, then at least one panelist."""
    chosen = list(personas.values()) if ids is None else []
    for pid in ids or ():
        if pid not in personas:
            known = ", ".join(personas)
            raise UserError(f"unknown persona '{pid}' (known: {known})")
        chosen.append(personas[pid])
    hosts = [p for p in chosen if p.role == "host"]
    if not hosts:
        hosts = [p for p in personas.values() if p.role == "host"][:1]
        if not hosts:
            raise UserError("the panel needs a persona with role 'host'")
        chosen = hosts + chosen
    if len(hosts) > 1:
        raise UserError("the panel can have only one host")
    panel = hosts + [p for p in chosen if p.role == "panelist"]
    if len(panel) < 2:
        raise UserError("the panel needs at least one panelist")
    return panel


def card_texts(personas: Iterable[Persona]) -> list[str]:
    """What the persona cards say (names, titles, bios, stances, styles and lead-ins): a
    turn may use the names and figures they hold."""
    out: list[str] = []
    for p in personas:
        out += [p.name, p.title, p.bio, p.stance, p.style]
        for pool in (p.openers, p.summary_openers):
            out += [o for items in pool.values() for o in items]
    return out
