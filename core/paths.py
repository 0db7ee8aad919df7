"""Every place the program reads or writes by default, in one module.

- `DATA_DIR` (`./.debate`): the Chroma store of the indexed sources and the SQLite
  checkpoints (`--data-dir`, `DEBATE_DATA_DIR`).
- `DEBATES_DIR` (`./debates`): saved debates and their exports (`--out`,
  `DEBATE_OUT_DIR`), outside any package of the program. Debates saved before it moved
  there sit in `OLD_DEBATES_DIR` (`./transcripts/debates`): while `./debates` does not
  exist and that folder holds debates, it stays the default (`default_debates_dir`) and
  `moved_debates_note` says how to move them.
- `cache_dir()`: derived model files (`DEBATE_CACHE_DIR`, else the platform's cache
  folder for `debate`).
- `bundled_sources()`: the show's transcripts shipped with the program; `source_id_for`
  names a source by its file.

All relative paths are relative to the working directory.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

import platformdirs

DATA_DIR = Path(".debate")
DEBATES_DIR = Path("debates")
OLD_DEBATES_DIR = Path("transcripts/debates")
SOURCE_SUFFIXES = (".txt", ".srt", ".vtt", ".md")


def _holds_debates(folder: Path) -> bool:
    try:
        return any(not p.name.startswith(".") for p in folder.glob("*.json"))
    except OSError:
        return False


def default_debates_dir() -> Path:
    """Where debates are saved when no folder is given: `./debates`, or the folder they were
    saved in before (`./transcripts/debates`) while only that one exists and holds some."""
    if not DEBATES_DIR.exists() and _holds_debates(OLD_DEBATES_DIR):
        return OLD_DEBATES_DIR
    return DEBATES_DIR


def moved_debates_note(folder: Path) -> str | None:
    """One line on how to move debates kept in the old default folder to the new one, when
    `folder` is that old folder; None otherwise."""
    if Path(folder) != OLD_DEBATES_DIR or DEBATES_DIR.exists():
        return None
    return (
        f"debates are saved in ./{DEBATES_DIR} now; yours are still read from "
        f"./{OLD_DEBATES_DIR}: move them with `mv {OLD_DEBATES_DIR} {DEBATES_DIR}`"
    )


def cache_dir() -> Path:
    """Where derived model files are kept: $DEBATE_CACHE_DIR, else the user's cache folder
    for `debate` as the platform names it (platformdirs: `$XDG_CACHE_HOME/debate` or
    `~/.cache/debate` on Linux, `~/Library/Caches/debate` on macOS)."""
    explicit = os.environ.get("DEBATE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return Path(platformdirs.user_cache_dir("debate", appauthor=False))


def bundled_sources() -> list[Path]:
    """Transcripts shipped with the program (the show's own transcript): the files of the
    `transcripts` package's `sources/` folder, gloss files left out."""
    folder = resources.files("transcripts") / "sources"
    return sorted(
        Path(str(p))
        for p in folder.iterdir()
        if p.name.endswith(SOURCE_SUFFIXES) and ".gloss." not in p.name
    )


def source_id_for(path: Path) -> str:
    """Default source id: the file name without its suffixes, as a slug."""
    stem = path.name.split(".")[0]
    slug = re.sub(r"[^\w-]+", "_", stem, flags=re.UNICODE).strip("_").lower()
    return slug or "source"
