"""Benchmark: what gathering queries into one encoder call saves.

Prints, in one run:

1. The client CPU of encoding N query texts one call each against one call for all N,
   dense (e5 "query:" vectors) and sparse (latent terms), on the free cores: what a batch
   can save at most on this CPU.
2. N threads asking at once for one new query each (dense and sparse, as a debate's
   search does), through the process's embedder with its caches off, with batching
   (the default window) and without (each thread calls the engine itself): client CPU, wall time
   and the engine calls taken.
3. One query asked alone, with and without batching: a debate on its own must not
   wait for the window (median latency of `--repeats` asks).

Queries are made from the show's own sentences, so they have a debate's lengths.

    python -m bench.encode
    python -m bench.encode --texts 64 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable

from transcripts.claims import book_of
from transcripts.embedder import E5Embedder


def queries(n: int, salt: str) -> list[str]:
    """`n` query-like texts (the show's sentences, in English where glossed), each made
    new with `salt` so no cache can answer it."""
    book = book_of(None)
    shown = [s.shown("en") for sid in book.sources for s in book.of_source(sid)]
    sentences = [t for t in shown if len(t) > 40]
    return [f"{sentences[i % len(sentences)]} ({salt}{i})" for i in range(n)]


def cpu(fn: Callable[[], object]) -> tuple[float, float]:
    """(process CPU s, wall s) of `fn()`."""
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def single_vs_batch(embedder: E5Embedder, n: int, rounds: int) -> None:
    engine_run = embedder._on_engine(lambda engine, texts: engine.query(texts).tolist())
    sparse_run = embedder._on_engine(embedder._sparse)
    for kind, run in (("dense", engine_run), ("sparse", sparse_run)):
        singles, batch = [], []
        for r in range(rounds):
            texts = queries(n, f"{kind}{r}s")
            singles.append(cpu(lambda texts=texts, run=run: [run([t]) for t in texts])[0])
            texts = queries(n, f"{kind}{r}b")
            batch.append(cpu(lambda texts=texts, run=run: run(texts))[0])
        one, all_ = statistics.median(singles), statistics.median(batch)
        print(
            f"{kind:6s} {n} texts: one call each {one:.2f} s CPU, one call for all "
            f"{all_:.2f} s CPU -> batch / singles = {all_ / one:.2f}"
        )


def many_at_once(embedder: E5Embedder, n: int, window_s: float, salt: str) -> dict[str, float]:
    """`n` threads released together, each searching-style encoding one new query."""
    embedder.batch_queries(window_s > 0, window_s)
    before = embedder.counts()["batches"]
    texts = queries(n, salt)
    gate = threading.Barrier(n + 1)

    def ask(text: str) -> None:
        gate.wait()
        embedder.query([text])
        embedder.sparse([text], query=True)

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    c, w = time.process_time(), time.perf_counter()
    gate.wait()
    for t in threads:
        t.join()
    return {
        "cpu": time.process_time() - c,
        "wall": time.perf_counter() - w,
        "calls": embedder.counts()["batches"] - before,
    }


def alone(embedder: E5Embedder, window_s: float, repeats: int, salt: str) -> float:
    embedder.batch_queries(window_s > 0, window_s)
    took = []
    for text in queries(repeats, salt):
        w = time.perf_counter()
        embedder.query([text])
        embedder.sparse([text], query=True)
        took.append(time.perf_counter() - w)
    return statistics.median(took) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=64, help="queries at once (default 64)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each (default 3)")
    parser.add_argument("--repeats", type=int, default=20, help="lone asks (default 20)")
    args = parser.parse_args(argv)

    embedder = E5Embedder()
    embedder.CACHE = 0  # every text is new anyway; nothing may come from a cache
    window = embedder._dense_batches.window_s
    embedder.query(["warm up"]), embedder.sparse(["warm up"], query=True)
    print("1. one call per text against one call for all")
    single_vs_batch(embedder, args.texts, args.rounds)

    print(f"2. {args.texts} threads at once, one new query each (dense and sparse)")
    rows: dict[str, list[dict[str, float]]] = {"batched": [], "unbatched": []}
    for r in range(args.rounds):  # interleaved, so the machine's drift falls on both
        rows["batched"].append(many_at_once(embedder, args.texts, window, f"m{r}b"))
        rows["unbatched"].append(many_at_once(embedder, args.texts, 0.0, f"m{r}u"))
    med = {k: {f: statistics.median(x[f] for x in v) for f in v[0]} for k, v in rows.items()}
    for label in ("unbatched", "batched"):
        m = med[label]
        print(
            f"   {label:9s}: {m['cpu']:.2f} s CPU, {m['wall']:.2f} s wall, "
            f"{m['calls']:.0f} engine calls"
        )
    print(
        f"   batched / unbatched: CPU {med['batched']['cpu'] / med['unbatched']['cpu']:.2f}, "
        f"wall {med['batched']['wall'] / med['unbatched']['wall']:.2f}"
    )

    print("3. one query alone (median latency, dense and sparse)")
    with_ms = alone(embedder, window, args.repeats, "aw")
    without_ms = alone(embedder, 0.0, args.repeats, "an")
    print(f"   with batching {with_ms:.1f} ms, without {without_ms:.1f} ms")


if __name__ == "__main__":
    main()
