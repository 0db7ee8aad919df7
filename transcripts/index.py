"""The passage index: a Chroma collection of chunk embeddings, beside a BM25 index and
an index of the chunks' sparse vectors (kept in their metadata).

`search()` fuses the dense, BM25 and sparse rankings by reciprocal rank fusion and
returns Passages, best first. Chunk metadata carries the source's hash and the index
layout, so re-ingesting an unchanged file costs one lookup and no embedding.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from core.errors import UserError
from core.files import atomic_write
from core.models import Passage
from core.paths import bundled_sources, source_id_for
from core.text import JapaneseTokenizer
from transcripts.embedder import E5Embedder, Embedder
from transcripts.ingest import Chunk, Skipped, chunk, load_gloss, read_source
from transcripts.lexical import (
    BM25,
    Sparse,
    SparseIndex,
    add,
    decode_sparse,
    encode_sparse,
    max_pool,
)

try:
    import fcntl
except ImportError:  # not POSIX: one process per data directory
    fcntl = None  # type: ignore[assignment]

COLLECTION = "passages"
LOCK_FILE = "index.lock"
VERSION_FILE = "index.version"
GLOSS_SUFFIX = "#gloss"
# Fusion constants, chosen on tests/data/retrieval_questions.jsonl (bench/retrieval.py).
RRF_K = 5
# Two chunks that share lines are one passage in results: the lower-ranked one joins
# the higher while their lines together span at most this many, and is dropped otherwise.
MERGE_LINES = 2
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 0.3
SPARSE_WEIGHT = 0.5
EMBED_BATCH = 16
# Chunks written by an older layout are re-indexed on the next ingest, changed or not.
INDEX_FORMAT = 2


@dataclass(frozen=True)
class SourceInfo:
    source_id: str
    path: str
    chunks: int
    sha256: str
    ingested_at: str


@dataclass(frozen=True)
class IngestResult:
    """What `PassageIndex.ingest` did with a file. For subtitles, `cues` counts the cues
    read, `skipped` lists the unreadable ones (their text is not indexed) and `repeats`
    the rolling caption lines dropped as repeats; plain text has `cues` None."""

    source_id: str
    chunks: int
    status: str  # "added", "replaced" or "unchanged"
    seconds: float
    cues: int | None = None
    skipped: tuple[Skipped, ...] = ()
    repeats: int = 0


Progress = Callable[[int, int], None]


def _chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _open_collection(client: Any) -> Any:
    return client.get_or_create_collection(
        COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"}
    )


# ids, metadatas and texts of the chunks, their BM25 index and their sparse index
Lexical = tuple[list[str], list[dict[str, Any]], list[str], BM25, SparseIndex]


def _current(meta: dict[str, Any] | None, sha256: str) -> bool:
    """Whether a source's stored chunks are of this file and of this index layout."""
    return meta is not None and meta.get("sha256") == sha256 and meta.get("format") == INDEX_FORMAT


class _RemoteStore:
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


class _LocalStore:
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

    _open: dict[Path, _LocalStore] = {}
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
    def of(cls, data_dir: Path) -> _LocalStore:
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


class PassageIndex:
    """Ingest sources and search them. One instance per data directory or server."""

    def __init__(
        self,
        data_dir: Path,
        *,
        chroma_url: str | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self._store: _LocalStore | _RemoteStore
        if chroma_url:
            self._store = _RemoteStore(chroma_url)
        else:
            self._store = _LocalStore.of(self.data_dir)
            with self._store.use():
                pass  # open (and create) the store now, so a broken one fails here
        self._embedder = embedder
        self._tokenizer: JapaneseTokenizer | None = None

    # -- parts made on first use ---------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = E5Embedder.shared()
        return self._embedder

    @property
    def tokenizer(self) -> JapaneseTokenizer:
        if self._tokenizer is None:
            self._tokenizer = JapaneseTokenizer()
        return self._tokenizer

    # -- sources ---------------------------------------------------------------------------
    @staticmethod
    def _source_meta(collection: Any, source_id: str) -> dict[str, Any] | None:
        got = collection.get(where={"source_id": source_id}, limit=1, include=["metadatas"])
        metas = got.get("metadatas") or []
        return dict(metas[0]) if metas else None

    def ingest(
        self,
        path: Path,
        source_id: str | None = None,
        *,
        progress: Progress | None = None,
    ) -> IngestResult:
        """Index a transcript file. Unchanged files are skipped; changed ones replaced."""
        began = time.perf_counter()
        source = read_source(Path(path))
        sid = source_id or source_id_for(Path(path))
        parse = {
            "cues": source.cues,
            "skipped": tuple(source.skipped),
            "repeats": source.repeats,
        }
        with self._store.use() as collection:
            old = self._source_meta(collection, sid)
        if _current(old, source.sha256):
            return IngestResult(sid, int(old.get("chunks", 0)), "unchanged", 0.0, **parse)
        # Embedding takes the time; it needs no lock, so other processes search meanwhile.
        chunks = chunk(source, sid, gloss=load_gloss(Path(path)))
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        # Each chunk is embedded as written and, where it has one, as its English
        # gloss (a second record, `<chunk id>#gloss`): an English question then
        # meets English text in the dense search too.
        records: list[tuple[str, str, dict[str, Any], str]] = []
        for c in chunks:
            meta = self._meta(c, source.sha256, len(chunks), str(path), stamp)
            records.append((c.chunk_id, c.text, meta, c.text))
            if c.gloss:
                records.append(
                    (c.chunk_id + GLOSS_SUFFIX, c.gloss, {**meta, "view": "gloss"}, c.text)
                )
        sentences = list(dict.fromkeys(t for c in chunks for t in (*c.parts, *c.gloss_parts)))
        steps = len(sentences) + len(records)
        sparse = self._sparse_of(chunks, sentences, progress, steps)
        if sparse is not None:  # on the chunk's own record only: searches read it there
            for cid, _text, meta, _doc in records:
                if cid in sparse:
                    meta["sparse"] = encode_sparse(sparse[cid])
        vectors: list[list[float]] = []
        for start in range(0, len(records), EMBED_BATCH):
            batch = records[start : start + EMBED_BATCH]
            vectors.extend(self.embedder.passage([r[1] for r in batch]))
            if progress is not None:
                progress(len(sentences) + min(start + EMBED_BATCH, len(records)), steps)
        with self._store.use(write=True) as collection:
            # Another process may have indexed the same file while this one embedded it.
            old = self._source_meta(collection, sid)
            if _current(old, source.sha256):
                return IngestResult(sid, int(old.get("chunks", 0)), "unchanged", 0.0, **parse)
            # Write the new chunks first, then drop the old ones that are no longer
            # there, so a crash in between leaves the old source searchable.
            ids = [r[0] for r in records]
            for start in range(0, len(records), 512):
                end = start + 512
                collection.upsert(
                    ids=ids[start:end],
                    embeddings=vectors[start:end],
                    documents=[r[3] for r in records[start:end]],
                    metadatas=[r[2] for r in records[start:end]],
                )
            if old is not None:
                stale = collection.get(where={"source_id": sid}, include=[])["ids"]
                keep = set(ids)
                drop = [i for i in stale if i not in keep]
                if drop:
                    collection.delete(ids=drop)
        status = "replaced" if old is not None else "added"
        return IngestResult(sid, len(chunks), status, time.perf_counter() - began, **parse)

    def _sparse_of(
        self,
        chunks: list[Chunk],
        sentences: list[str],
        progress: Progress | None,
        steps: int,
    ) -> dict[str, Sparse] | None:
        """Each chunk's sparse vector: its sentences' vectors max-pooled, plus its gloss
        sentences' pooled the same way (the two views add up, as two fields of one
        document would). Each distinct sentence is encoded once."""
        encode = getattr(self.embedder, "sparse", None)
        if encode is None or not sentences:
            return None
        table: dict[str, Sparse] = {}
        for start in range(0, len(sentences), EMBED_BATCH):
            batch = sentences[start : start + EMBED_BATCH]
            vectors = encode(batch)
            if vectors is None:
                return None
            table.update(zip(batch, vectors, strict=True))
            if progress is not None:
                progress(min(start + EMBED_BATCH, len(sentences)), steps)
        return {
            c.chunk_id: add(
                max_pool(table[t] for t in c.parts), max_pool(table[t] for t in c.gloss_parts)
            )
            for c in chunks
        }

    @staticmethod
    def _meta(c: Chunk, sha: str, count: int, path: str, stamp: str) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "source_id": c.source_id,
            "line_start": c.line_start,
            "line_end": c.line_end,
            "sha256": sha,
            "format": INDEX_FORMAT,
            "chunks": count,
            "path": path,
            "ingested_at": stamp,
        }
        if c.gloss:
            meta["gloss"] = c.gloss
        if c.speakers:
            meta["speakers"] = ", ".join(c.speakers)
        if c.timestamp:
            meta["timestamp"] = c.timestamp
        return meta

    def ensure_bundled(self, progress: Progress | None = None) -> list[IngestResult]:
        """Index the bundled show transcript (a no-op once it is indexed)."""
        return [self.ingest(p, progress=progress) for p in bundled_sources()]

    def sources(self) -> list[SourceInfo]:
        with self._store.use() as collection:
            metas = collection.get(include=["metadatas"]).get("metadatas") or []
        seen: dict[str, SourceInfo] = {}
        counts: dict[str, int] = {}
        for meta in metas:
            if meta.get("view") == "gloss":
                continue
            sid = str(meta["source_id"])
            counts[sid] = counts.get(sid, 0) + 1
            seen.setdefault(
                sid,
                SourceInfo(
                    sid,
                    str(meta.get("path", "")),
                    0,
                    str(meta.get("sha256", "")),
                    str(meta.get("ingested_at", "")),
                ),
            )
        return [
            SourceInfo(s.source_id, s.path, counts[s.source_id], s.sha256, s.ingested_at)
            for s in sorted(seen.values(), key=lambda s: s.source_id)
        ]

    def remove(self, source_id: str) -> int:
        with self._store.use() as collection:
            ids = collection.get(where={"source_id": source_id}, include=[])["ids"]
        if not ids:
            raise UserError(f"no source with id '{source_id}' (see `debate sources`)")
        with self._store.use(write=True) as collection:
            ids = collection.get(where={"source_id": source_id}, include=[])["ids"]
            collection.delete(ids=ids)
        return sum(1 for i in ids if not i.endswith(GLOSS_SUFFIX))

    # -- search ----------------------------------------------------------------------------
    def _build_lexical(self, got: dict[str, Any]) -> Lexical:
        """The BM25 side over every chunk (glosses are searched with their chunk)."""
        rows = [
            (i, dict(m), d)
            for i, m, d in zip(got["ids"], got["metadatas"], got["documents"], strict=True)
            if not i.endswith(GLOSS_SUFFIX)
        ]
        ids = [r[0] for r in rows]
        metas = [r[1] for r in rows]
        docs = [r[2] for r in rows]
        tokens = [
            self.tokenizer(doc + " " + str(meta.get("gloss", "")))
            for doc, meta in zip(docs, metas, strict=True)
        ]
        # Parsed once here; the text form is not kept beside it.
        sparse = SparseIndex(
            [decode_sparse(str(m.pop("sparse"))) if "sparse" in m else None for m in metas]
        )
        return ids, metas, docs, BM25(tokens), sparse

    def search(
        self,
        query: str | Sequence[str],
        k: int = 5,
        *,
        sources: Sequence[str] | None = None,
        depth: int = 30,
    ) -> list[Passage]:
        """The top `k` passages for `query`, best first (dense, BM25 and sparse rankings,
        fused by RRF).

        `query` is one text, or the parts of one query (a segment question and the claim a
        reply answers): each part is encoded, and cached, on its own; the query's dense
        vector is the normalised mean of theirs, its sparse terms their feature-wise
        maximum (the sparse head max-pools over tokens, as a chunk's sentences are pooled),
        and BM25 reads the parts' words together. So a part that recurs (a question asked
        again, a claim many debates answer) costs no encoder pass. Raises UserError when
        every part is empty."""
        given = [query] if isinstance(query, str) else list(query)
        parts = [p for p in dict.fromkeys(q.strip() for q in given) if p]
        if not parts:
            raise UserError("the search query is empty")
        text = " ".join(parts)
        vector = _mean(self.embedder.query(parts))
        allowed = set(sources) if sources else None
        where = {"source_id": {"$in": list(allowed)}} if allowed else None
        # The dense hits and the chunks for BM25 come from one version of the store; the
        # BM25 index is built (tokenizing every chunk) after the store is free again.
        with self._store.use() as collection:
            side, version = self._store.lexical, self._store.version
            got = None if side else collection.get(include=["metadatas", "documents"])
            size = (
                len(side[0]) if side else sum(1 for i in got["ids"] if not i.endswith(GLOSS_SUFFIX))
            )
            if not size:
                return []
            pool = min(size, max(depth, k))
            hits = collection.query(
                query_embeddings=[vector],
                n_results=min(2 * pool, 2 * size),
                where=where,
                include=[],
            )["ids"][0]
        if side is None:
            with self._store.build_lock:  # one thread builds it; the others wait and share it
                side = self._store.lexical
                if side is None:
                    side = self._build_lexical(got)
                    self._store.keep_lexical(version, side)
        ids, metas, docs, bm25, sparse_index = side

        def ranked(scores: Sequence[float]) -> list[str]:
            order = sorted(range(len(ids)), key=lambda i: -scores[i])
            return [
                ids[i]
                for i in order
                if scores[i] > 0 and (allowed is None or metas[i]["source_id"] in allowed)
            ][:pool]

        dense = list(dict.fromkeys(h.removesuffix(GLOSS_SUFFIX) for h in hits))[:pool]
        lexical = ranked(bm25.scores(self.tokenizer(text)))
        rankings = [(dense, DENSE_WEIGHT), (lexical, LEXICAL_WEIGHT)]
        encode = getattr(self.embedder, "sparse", None)
        if sparse_index.covered and encode is not None:
            vectors = encode(parts, query=True)
            if vectors is not None:
                terms = max_pool(vectors)
                rankings.append((ranked(sparse_index.scores(terms).tolist()), SPARSE_WEIGHT))
        fused: dict[str, float] = {}
        for ranking, weight in rankings:
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank + 1)
        position = {cid: i for i, cid in enumerate(ids)}
        out: list[Passage] = []
        for cid, score in sorted(fused.items(), key=lambda kv: -kv[1]):
            if len(out) == k:
                break
            i = position.get(cid)
            if i is None:
                continue
            meta = metas[i]
            found = Passage(
                source_id=str(meta["source_id"]),
                chunk_id=cid,
                line_start=int(meta["line_start"]),
                line_end=int(meta["line_end"]),
                text=docs[i],
                score=round(score, 6),
                gloss=meta.get("gloss"),
            )
            listed = next((n for n, p in enumerate(out) if _overlap(p, found)), None)
            if listed is None:
                out.append(found)
            elif _union_lines(out[listed], found) <= MERGE_LINES:
                out[listed] = _merged(out[listed], found)
            # else: those lines are listed already, in a passage that ranks higher
        return out


def _mean(vectors: list[list[float]]) -> list[float]:
    """The L2-normalised mean of unit vectors (one vector: itself, as it is)."""
    if len(vectors) == 1:
        return vectors[0]
    total = [sum(xs) for xs in zip(*vectors, strict=True)]
    norm = math.sqrt(sum(x * x for x in total)) or 1.0
    return [x / norm for x in total]


def _overlap(a: Passage, b: Passage) -> bool:
    return a.source_id == b.source_id and b.line_start <= a.line_end and b.line_end >= a.line_start


def _union_lines(a: Passage, b: Passage) -> int:
    return max(a.line_end, b.line_end) - min(a.line_start, b.line_start) + 1


def _merged(kept: Passage, extra: Passage) -> Passage:
    """One passage of two overlapping chunks: the higher-ranked one's id and score, the
    union of their lines, their texts (and glosses) joined with shared sentences once."""
    if kept.gloss and extra.gloss:
        gloss = _join(kept.gloss, extra.gloss)
    else:
        gloss = kept.gloss or extra.gloss
    return kept.model_copy(
        update={
            "line_start": min(kept.line_start, extra.line_start),
            "line_end": max(kept.line_end, extra.line_end),
            "text": _join(kept.text, extra.text),
            "gloss": gloss,
        }
    )


def _join(a: str, b: str) -> str:
    """Two runs of sentences of one source as one run, in reading order: chunks overlap
    by a sentence, so one's end is the other's start."""
    if b in a:
        return a
    if a in b:
        return b

    def shared(first: str, second: str) -> int:
        """How many characters `second` starts with that `first` ends with."""
        longest = min(len(first), len(second)) - 1
        return next((n for n in range(longest, 0, -1) if first.endswith(second[:n])), 0)

    ab, ba = shared(a, b), shared(b, a)
    if ab == ba == 0:
        return f"{a} … {b}"
    return a + b[ab:] if ab >= ba else b + a[ba:]
