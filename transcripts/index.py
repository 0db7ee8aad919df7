"""The passage index: a Chroma collection of chunk embeddings (`transcripts.vectorstore`),
beside a BM25 index and an index of the chunks' sparse vectors (kept in their metadata),
both made with the e5 embedder of `transcripts.embedder`.

`search()` fuses the dense, BM25 and sparse rankings by reciprocal rank fusion
(`transcripts.fusion`) and returns Passages, best first. Chunk metadata carries the
source's hash and the index layout, so re-ingesting an unchanged file costs one lookup
and no embedding.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.models import Passage
from core.paths import bundled_sources, source_id_for
from core.text import JapaneseTokenizer
from transcripts import fusion
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
from transcripts.vectorstore import Lexical, LocalStore, RemoteStore

GLOSS_SUFFIX = "#gloss"
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


def _current(meta: dict[str, Any] | None, sha256: str) -> bool:
    """Whether a source's stored chunks are of this file and of this index layout."""
    return meta is not None and meta.get("sha256") == sha256 and meta.get("format") == INDEX_FORMAT


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
        self._store: LocalStore | RemoteStore
        if chroma_url:
            self._store = RemoteStore(chroma_url)
        else:
            self._store = LocalStore.of(self.data_dir)
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
        rankings = [(dense, fusion.DENSE_WEIGHT), (lexical, fusion.LEXICAL_WEIGHT)]
        encode = getattr(self.embedder, "sparse", None)
        if sparse_index.covered and encode is not None:
            vectors = encode(parts, query=True)
            if vectors is not None:
                terms = max_pool(vectors)
                rankings.append((ranked(sparse_index.scores(terms).tolist()), fusion.SPARSE_WEIGHT))
        position = {cid: i for i, cid in enumerate(ids)}
        out: list[Passage] = []
        for cid, score in fusion.fuse(rankings):
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
            fusion.add_passage(out, found)
        return out


def _mean(vectors: list[list[float]]) -> list[float]:
    """The L2-normalised mean of unit vectors (one vector: itself, as it is)."""
    if len(vectors) == 1:
        return vectors[0]
    total = [sum(xs) for xs in zip(*vectors, strict=True)]
    norm = math.sqrt(sum(x * x for x in total)) or 1.0
    return [x / norm for x in total]
