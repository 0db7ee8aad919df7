"""Files written whole or not at all, and files read up to a size limit.

`atomic_write` is how every file of the program is written (debates, exports, the
index's version token, cached model files): readers see the old file or the new one,
never half. `read_bounded` reads a file the user names without holding more than a
limit in memory.
"""

from __future__ import annotations

import glob
import os
import tempfile
import time
from pathlib import Path

from core.errors import UserError


def _default_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


# What a plain open(path, "w") would give a new file (mkstemp makes it owner-only).
_NEW_FILE_MODE = _default_mode()


def atomic_write(path: Path, text: str) -> Path:
    """Write `text` to `path` so that readers see the old file or the new one, never half.

    The text goes to a temporary file in the same folder (`.<name>.<random>.tmp`, which
    no loader reads), is flushed and fsynced, then renamed over `path`; the folder is
    fsynced too so the rename survives a power cut. A file that cannot be written is a
    one-line UserError.
    """
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            try:
                mode = os.stat(path).st_mode & 0o7777
            except OSError:
                mode = _NEW_FILE_MODE
            os.fchmod(fh.fileno(), mode)
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_folder(path.parent)
        _sweep(path)
    except OSError as exc:
        raise UserError(f"{path}: cannot write the file ({exc.strerror or exc})") from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path


STALE_TMP_S = 600.0  # a temporary file this old was left by a killed writer


def _sweep(path: Path) -> None:
    """Remove temporary files of `path` that a killed writer left behind (old ones only:
    a younger one may belong to a writer still at work)."""
    now = time.time()
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if now - leftover.stat().st_mtime > STALE_TMP_S:
                leftover.unlink()
        except OSError:
            pass


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename itself is still atomic
    finally:
        os.close(fd)


def read_bounded(path: Path, limit: int) -> bytes | None:
    """The bytes of the file at `path`, or None when it holds more than `limit` bytes.

    Bounded: a file over the limit is refused by its size, not read into memory, and one
    that grows while it is read stops one byte past the limit. Raises OSError
    (FileNotFoundError for a missing file) for the caller to word."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size > limit:
            return None
        data = fh.read(limit + 1)
    return None if len(data) > limit else data
