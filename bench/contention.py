"""Benchmark: the embedded model on a busy machine, and llama.cpp's extra buffer types.

Prints, in one run:

1. Prompt and decode tokens/s of the bundled model (its Q8_0 copy, two threads), loaded
   with and without llama.cpp's extra buffer types (the repacked and AMX weight
   layouts), each in a child process, so a crash is reported by its signal.
2. Completion tokens per wall second of the same short debate on the idle machine and
   beside 1 and 3 CPU-bound processes that this benchmark starts and stops, side by
   side, with each contended figure as a ratio of the idle one. Conditions are
   interleaved (idle, beside 1, beside 3, idle, ...) so the machine's drift falls on
   all of them. With `--compare-fixed` the same is run with the settings the project
   used before: two threads whatever the load, and GNU OpenMP's default spin count.

Each debate runs in a child process of its own (OpenMP reads its settings when it is
loaded); model loading and indexing are outside the timed part.

    python -m bench.contention --turns 6 --rounds 2 --compare-fixed
    python -m bench.contention --kernels-only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPIN = "while True: pass"
GOMP_DEFAULT_SPINCOUNT = "300000"  # libgomp's own default, used by the "fixed" settings


def _child(args: list[str], env: dict[str, str] | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.contention", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=1800,
    )
    if done.returncode < 0:
        from agents.llm.native import signal_name

        return {"crashed": signal_name(done.returncode)}
    if done.returncode != 0:
        return {"failed": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- children ---------------------------------------------------------------------------------
def kernel(extra: bool, prompt_tokens: int = 256, decode_tokens: int = 128) -> dict:
    """Prompt and decode tokens/s, two threads, with or without extra buffer types."""
    from agents.llm import native
    from agents.llm.embedded import bundled_model_path, runtime_copy
    from core.workload import tune_openmp

    tune_openmp()
    llm = native.load_llama(
        runtime_copy(bundled_model_path()),
        extra_buffers=extra,
        n_ctx=1024,
        n_threads=2,
        n_threads_batch=2,
        verbose=False,
    )
    text = "The price of compute decides who holds power in the coming economy. " * 40
    tokens = llm.tokenize(text.encode(), add_bos=False)[:prompt_tokens]
    llm.eval(tokens[:8])  # warm up
    llm.reset()
    began = time.perf_counter()
    llm.eval(tokens)
    prompt_s = time.perf_counter() - began
    llm.reset()
    llm.eval(tokens[:5])
    produced = 0
    began = time.perf_counter()
    for _ in llm.generate(tokens[5:6], temp=0.0, reset=False):
        produced += 1
        if produced >= decode_tokens:
            break
    decode_s = time.perf_counter() - began
    return {"prompt_tps": len(tokens) / prompt_s, "decode_tps": produced / decode_s}


def debate(data: Path, turns: int, seed: int, fixed: bool) -> dict:
    """One round-robin debate on the embedded model; completion tokens per wall second."""
    from agents.llm.embedded import EmbeddedModel
    from core import workload
    from core.settings import Settings
    from graphs.checkpoint import open_checkpointer
    from graphs.runner import new_show
    from transcripts.index import PassageIndex

    if fixed:  # the settings before: every thread whatever the machine's load
        workload.machine.threads = lambda most: most  # type: ignore[method-assign]
    index = PassageIndex(data)
    index.search("warm up", 1)
    model = EmbeddedModel()
    settings = Settings(
        data_dir=data, out_dir=data.parent / f"out-{os.getpid()}", turns=turns, seed=seed
    )
    with open_checkpointer(data.parent / f"ckpt-{os.getpid()}") as saver:
        runner = new_show(
            settings,
            "Compute as the new currency",
            search=lambda q, k, s: index.search(q, k, sources=s),
            checkpointer=saver,
            model=model,
        )
        began = time.perf_counter()
        for _ in runner.run():
            pass
        wall = time.perf_counter() - began
    tokens = sum(t.tokens_out for t in runner.debate.turns)
    cpu = os.times()
    model.close()
    return {
        "tokens": tokens,
        "wall_s": wall,
        "tps": tokens / wall,
        "cpu_s": cpu.user + cpu.system,
    }


# -- the benchmark ----------------------------------------------------------------------------
def _beside(count: int):
    return [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(count)]


def _stop(spinners) -> None:
    for p in spinners:
        p.kill()
    for p in spinners:
        p.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--contenders", default="1,3", help="counts of CPU-bound processes")
    parser.add_argument("--compare-fixed", action="store_true")
    parser.add_argument("--skip-kernels", action="store_true")
    parser.add_argument("--kernels-only", action="store_true")
    parser.add_argument("--kernel", choices=["0", "1"], help=argparse.SUPPRESS)
    parser.add_argument("--debate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--fixed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.kernel is not None:
        print(json.dumps(kernel(args.kernel == "1")))
        return
    if args.debate is not None:
        print(json.dumps(debate(args.debate, args.turns, args.seed, args.fixed)))
        return

    from agents.llm.native import advertises_amx, cpu_flags

    flags = cpu_flags()
    print(
        f"CPU: {os.cpu_count()} logical cores, usable {len(os.sched_getaffinity(0))}; "
        f"AMX advertised: {'yes' if advertises_amx(flags) else 'no'}; "
        f"AVX-512: {'yes' if 'avx512f' in flags else 'no'}; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    if not args.skip_kernels:
        results: dict[bool, list[dict]] = {True: [], False: []}
        for _ in range(max(3, args.rounds)):
            for extra in (True, False):
                results[extra].append(_child(["--kernel", "1" if extra else "0"]))
        for extra, rows in results.items():
            bad = [r for r in rows if "decode_tps" not in r]
            label = "with   " if extra else "without"
            if bad:
                print(f"{label} extra buffer types: {bad[0]}")
                continue
            print(
                f"{label} extra buffer types: prompt "
                f"{statistics.median(r['prompt_tps'] for r in rows):7.1f} tokens/s, decode "
                f"{statistics.median(r['decode_tps'] for r in rows):6.1f} tokens/s "
                f"(median of {len(rows)})"
            )

    if args.kernels_only:
        return
    work = Path(tempfile.mkdtemp(prefix="bench-contention-"))
    data = work / "data"
    from transcripts.index import PassageIndex

    PassageIndex(data).ensure_bundled()
    counts = [0, *(int(c) for c in args.contenders.split(","))]
    modes = ["adaptive", *(["fixed"] if args.compare_fixed else [])]
    runs: dict[tuple[str, int], list[dict]] = {}
    for round_ in range(args.rounds):
        for mode in modes:
            env = {"GOMP_SPINCOUNT": GOMP_DEFAULT_SPINCOUNT} if mode == "fixed" else {}
            for count in counts:
                spinners = _beside(count)
                try:
                    time.sleep(0.5)
                    extra_args = ["--fixed"] if mode == "fixed" else []
                    row = _child(
                        ["--debate", str(data), "--turns", str(args.turns), *extra_args], env
                    )
                finally:
                    _stop(spinners)
                runs.setdefault((mode, count), []).append(row)
                status = (
                    f"{row['tps']:.1f} tokens/s ({row['tokens']} tokens, {row['wall_s']:.1f} s)"
                    if "tps" in row
                    else str(row)
                )
                print(f"  round {round_ + 1} {mode:8} beside {count}: {status}", flush=True)
    print(f"\n{args.turns}-turn debate, completion tokens per wall second (mean of rounds):")
    for mode in modes:
        idle = [r["tps"] for r in runs[(mode, 0)] if "tps" in r]
        if not idle:
            continue
        base = statistics.mean(idle)
        cells = [f"idle {base:6.1f}"]
        for count in counts[1:]:
            got = [r["tps"] for r in runs[(mode, count)] if "tps" in r]
            if got:
                mean = statistics.mean(got)
                cells.append(f"beside {count}: {mean:6.1f} ({mean / base:.2f}x)")
        print(f"  {mode:8} " + "  ".join(cells))


if __name__ == "__main__":
    main()
