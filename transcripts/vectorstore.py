"""Where the passage index keeps its chunk vectors: a Chroma collection, in a persistent
store under the data directory (`LocalStore`, shared by every process that uses that
directory, under a file lock) or on a Chroma server (`RemoteStore`). Either keeps the
lexical side built from the collection (`Lexical`) until the collection changes."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from core.errors import UserError
from core.files import atomic_write
from transcripts.lexical import BM25, SparseIndex

try:
    import fcntl
except ImportError:  # not POSIX: one process per data directory
    fcntl = None  # type: ignore[assignment]

COLLECTION = "passages"
LOCK_FILE = "index.lock"
VERSION_FILE = "index.version"


def _chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _open_collection(client: Any) -> Any:
    return client.get_or_create_collection(
        COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"}
    )


# ids, metadatas and texts of the chunks, their BM25 index and their sparse index
Lexical = tuple[list[str], list[dict[str, Any]], list[str], BM25, SparseIndex]


class RemoteStore:
    """A collection on a Chroma server, which orders the writes of every client itself."""

    def __init__(self, chroma_url: str) -> None:
        import chromadb

        url = urlparse(chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise UserError(f"{chroma_url!r}: expected http://HOST:PORT", setting="chroma_url")
        try:
            client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=_chroma_settings(),
            )
            client.heartbeat()
            self._collection = _open_collection(client)
        except Exception as exc:  # the client raises several kinds for a dead server
            raise UserError(
                f"{chroma_url}: cannot reach the Chroma server", setting="chroma_url"
            ) from exc
        self._lock = threading.RLock()
        self.build_lock = threading.Lock()
        self.lexical: Lexical | None = None
        self.version = 0

    @contextmanager
    def use(self, *, write: bool = False) -> Iterator[Any]:
        with self._lock:
            try:
                yield self._collection
            finally:
                if write:
                    self.lexical = None
                    self.version += 1

    def keep_lexical(self, version: int, lexical: Lexical) -> None:
        with self._lock:
            if version == self.version:
                self.lexical = lexical


class LocalStore:
    """One process's handle on the Chroma store under a data directory, shared by every
    PassageIndex of the process on that directory.

    Chroma's persistent store keeps its vector index in memory and writes it back as
    it goes: two processes writing one folder would overwrite each other's vectors,
    and one that only reads would search a stale index. So every use of the store
    holds an exclusive lock on `index.lock` (fcntl.flock; threads of a process queue
    on a thread lock first), each write replaces `index.version` with a new token,
    and a process that finds a token it did not write reopens the store from disk
    before it reads or writes.
    """

    _open: dict[Path, LocalStore] = {}
    _open_lock = threading.Lock()

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.lexical: Lexical | None = None
        self.build_lock = threading.Lock()
        self._lock = threading.RLock()
        self._depth = 0
        self._wrote = False
        self._lock_fd: int | None = None
        self._client: Any = None
        self._collection: Any = None
        self._version: str | None = None

    @classmethod
    def of(cls, data_dir: Path) -> LocalStore:
        key = Path(os.path.abspath(data_dir))
        with cls._open_lock:
            store = cls._open.get(key)
            if store is None:
                store = cls._open[key] = cls(key)
            return store

    def _read_version(self) -> str:
        """The last writer's token, and which database file it wrote (a data directory
        replaced or deleted under a running process counts as a change too)."""
        try:
            token = (self.data_dir / VERSION_FILE).read_text(encoding="utf-8").strip()
        except (FileNotFoundError, UnicodeDecodeError):
            token = ""
        try:
            st = os.stat(self.data_dir / "chroma" / "chroma.sqlite3")
            return f"{token}:{st.st_dev}:{st.st_ino}"
        except FileNotFoundError:
            return f"{token}:-"

    def _reopen(self) -> None:
        import chromadb

        if self._client is not None:
            self._collection = None
            try:
                self._client.close()
            except Exception:  # an already stopped client: nothing left to release
                pass
            self._client = None
        path = self.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
        self._collection = _open_collection(self._client)
        self.lexical = None

    @contextmanager
    def use(self, *, write: bool = False) -> Iterator[Any]:
        """The collection, current and to this process alone until the block ends."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._acquire()
            self._depth += 1
            try:
                if outermost:
                    version = self._read_version()
                    if self._collection is None or version != self._version:
                        self._reopen()
                        self._version = self._read_version()
                self._wrote = self._wrote or write
                yield self._collection
            finally:
                self._depth -= 1
                if outermost:
                    try:
                        if self._wrote:
                            self._wrote = False
                            self.lexical = None
                            token = secrets.token_hex(8)
                            atomic_write(self.data_dir / VERSION_FILE, token + "\n")
                            self._version = self._read_version()
                    finally:
                        self._release()

    def _acquire(self) -> None:
        if fcntl is None:
            return
        if self._lock_fd is None:
            try:
                self.data_dir.mkdir(parents=True, exist_ok=True)
                self._lock_fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                raise UserError(
                    f"{self.data_dir}: cannot use the data directory ({exc.strerror or exc})"
                ) from exc
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)

    def _release(self) -> None:
        if fcntl is not None and self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @property
    def version(self) -> str | None:
        """Which state of the store this process last saw (changes with every write)."""
        return self._version

    def keep_lexical(self, version: str | None, lexical: Lexical) -> None:
        """Cache a BM25 index built from the store as it was at `version`, unless the
        store has moved on since (the next search then builds a fresh one)."""
        with self._lock:
            if version == self._version:
                self.lexical = lexical
