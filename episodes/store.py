"""Save, load and list debates. Every write is atomic (`core.files.atomic_write`)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.errors import UserError
from core.files import atomic_write, read_bounded
from core.models import SCHEMA_VERSION, Debate, grounding

# A 500-turn debate with its passages is a few MB; a file far beyond that is not one.
MAX_DEBATE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class DebateSummary:
    id: str
    parent_id: str | None
    topic: str
    language: str
    created_at: str
    turns: int
    model: str
    grounding: float  # `core.models.grounding` of its turns
    status: str

    @classmethod
    def of(cls, raw: dict[str, Any]) -> DebateSummary:
        turns = raw.get("turns") or []
        return cls(
            id=str(raw["id"]),
            parent_id=raw.get("parent_id"),
            topic=str(raw["topic"]),
            language=str(raw.get("language", "en")),
            created_at=str(raw.get("created_at", "")),
            turns=len(turns),
            model=str((raw.get("settings") or {}).get("model", "")),
            grounding=grounding(turns),
            status=str(raw.get("status", "")),
        )


def new_debate_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def _migrate(raw: dict[str, Any], where: str) -> dict[str, Any]:
    version = raw.get("schema_version")
    if version is None:
        raise UserError(f"{where}: field 'schema_version' is missing; not a saved debate")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise UserError(
            f"{where}: field 'schema_version' is {version!r}; this version reads up to "
            f"{SCHEMA_VERSION}"
        )
    return raw


def load_debate(path: Path) -> Debate:
    """Read a saved debate; any problem is one line naming the file and the field."""
    where = str(path)
    try:
        data = read_bounded(path, MAX_DEBATE_BYTES)
    except FileNotFoundError as exc:
        raise UserError(f"{where}: no such file") from exc
    except OSError as exc:
        raise UserError(f"{where}: cannot read the file ({exc.strerror or exc})") from exc
    if data is None:
        raise UserError(f"{where}: over the {MAX_DEBATE_BYTES >> 20} MB limit of a saved debate")
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(f"{where}: line {line}: not a UTF-8 JSON file") from exc
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise UserError(f"{where}: the JSON is nested too deeply for a saved debate") from exc
    if not isinstance(raw, dict):
        raise UserError(f"{where}: a saved debate must be a JSON object")
    raw = _migrate(raw, where)
    try:
        return Debate.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(debate)"
        raise UserError(f"{where}: field '{field}': {first['msg']}") from exc


class DebateStore:
    """Debates as `<id>.json` (+ `<id>.md`) files in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path_of(self, debate_id: str) -> Path:
        return self.folder / f"{debate_id}.json"

    def save(self, debate: Debate) -> Path:
        body = debate.model_dump_json(indent=2)
        return atomic_write(self.path_of(debate.id), body + "\n")

    def resolve(self, ref: str) -> Path:
        """A debate by id, unique id prefix, or file path."""
        candidate = Path(ref)
        if candidate.suffix == ".json" and candidate.exists():
            return candidate
        exact = self.path_of(ref)
        if exact.exists():
            return exact
        matches = [p for p in self._files() if ref and p.name.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise UserError(f"'{ref}' matches {len(matches)} debates; give more of the id")
        raise UserError(f"no debate '{ref}' in {self.folder} (see `debate list`)")

    def _files(self) -> list[Path]:
        """The saved debates' files (temporary files of a write in progress never match)."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.json") if not p.name.startswith("."))

    def load(self, ref: str) -> Debate:
        return load_debate(self.resolve(ref))

    def list(self) -> list[Debate]:
        out = []
        for path in self._files():
            try:
                out.append(load_debate(path))
            except UserError:
                continue
        return sorted(out, key=lambda d: d.created_at)

    def summaries(self) -> list[DebateSummary]:
        """What a library lists, read without validating every turn (fast for long debates)."""
        out = []
        for path in self._files():
            try:
                if path.stat().st_size > MAX_DEBATE_BYTES:
                    continue
                raw = json.loads(path.read_text(encoding="utf-8"))
                out.append(DebateSummary.of(raw))
            except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
                continue  # not a saved debate: `debate list` skips it the same way
        return sorted(out, key=lambda d: d.created_at)

    def delete(self, debate_id: str) -> None:
        for suffix in (".json", ".md", ".html"):
            (self.folder / f"{debate_id}{suffix}").unlink(missing_ok=True)
