"""Loading llama.cpp safely on the CPU at hand.

Three things decide whether a llama model runs, and how well, on a given machine:

- **Extra buffer types.** llama.cpp moves some weights into "extra" buffer types
  at load time: repacked layouts for AVX2/AVX-512 kernels, and on CPUs that
  advertise Intel AMX, tiles for its AMX kernels. Those AMX kernels fault
  (SIGILL on `tilezero`) on some newer Xeons, because the thread that runs them
  never asked the kernel for permission to use the tile data (upstream
  llama.cpp, "ggml-cpu/amx: request XFD XTILEDATA permission per thread"). The
  model is therefore loaded without extra buffer types where the CPU advertises
  AMX, and with them elsewhere (where they cost nothing and repack Q4_0 files).
- **A probe.** Before the first model of a process is loaded, a child process
  loads it and generates a few tokens with those settings. A child killed by a
  signal tells the parent to try the safe settings, or to say in one line what
  failed, instead of dying with "Illegal instruction". The verdict is kept per
  llama-cpp-python version, CPU flags and model file.
- **OpenMP's waiting.** llama.cpp's threads meet at a barrier after every
  operation (hundreds a token). By default GNU OpenMP spins ~300,000 times at a
  barrier before it sleeps: on a machine whose other processes hold the cores,
  a thread whose partner was descheduled burns its time slice spinning. The
  spin count is lowered before the runtime is loaded (`core.workload.tune_openmp`);
  how many threads a generation uses is decided per token from what the machine
  has free (`workload.MachineLoad`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.workload import tune_openmp

log = logging.getLogger(__name__)

AMX_FLAGS = frozenset({"amx_tile", "amx_int8", "amx_bf16", "amx_fp16", "amx_complex"})
PROBE_TOKENS = 4
PROBE_TIMEOUT_S = 180.0
_load_lock = threading.Lock()


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The feature flags the CPU advertises (the `flags` line of /proc/cpuinfo); empty
    where that file does not exist or cannot be read."""
    try:
        with cpuinfo.open(encoding="ascii", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "flags":
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def advertises_amx(flags: frozenset[str] | None = None) -> bool:
    """Whether the CPU advertises Intel AMX (any `amx_*` flag)."""
    return bool((cpu_flags() if flags is None else flags) & AMX_FLAGS)


def preferred_extra_buffers(flags: frozenset[str] | None = None) -> bool:
    """Whether to load models with llama.cpp's extra buffer types: not where the CPU
    advertises AMX, whose kernels use them and crash on some CPUs."""
    return not advertises_amx(flags)


def _params_with(extra_buffers: bool) -> Callable[[], Any]:
    from llama_cpp import llama_cpp as api

    current = api.llama_model_default_params
    default = getattr(current, "_debate_default", current)  # not one of ours, wrapped twice

    def params() -> Any:
        made = default()
        made.use_extra_bufts = extra_buffers
        return made

    params._debate_default = default  # type: ignore[attr-defined]
    return params


def load_llama(model_path: Path | str, *, extra_buffers: bool, **kwargs: Any) -> Any:
    """`llama_cpp.Llama(model_path, **kwargs)` loaded with or without extra buffer types.

    llama-cpp-python (0.3.x) has no keyword for `use_extra_bufts`: its model parameters
    come from `llama_model_default_params()`, which is replaced by one that sets it for
    the length of the load. Loads are serialised so no other load sees the change.
    Raises whatever `Llama` raises (ValueError, RuntimeError for an unloadable file)."""
    from llama_cpp import Llama
    from llama_cpp import llama_cpp as api

    with _load_lock:
        original = api.llama_model_default_params
        api.llama_model_default_params = _params_with(extra_buffers)
        try:
            return Llama(model_path=str(model_path), **kwargs)
        finally:
            api.llama_model_default_params = original


def keep_extra_buffers(extra_buffers: bool) -> None:
    """For a process whose own code loads models (the llama.cpp server): every load from
    now on is made with (or without) extra buffer types."""
    from llama_cpp import llama_cpp as api

    api.llama_model_default_params = _params_with(extra_buffers)


# -- the probe -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProbeResult:
    """How one child process fared: `ok`, else `signal` (e.g. "SIGILL") or `detail`."""

    ok: bool
    signal: str | None = None
    detail: str = ""

    def describe(self) -> str:
        if self.ok:
            return "ran"
        if self.signal:
            return f"was killed by {self.signal}"
        return self.detail or "failed"


def signal_name(returncode: int) -> str | None:
    """ "SIGILL" for a child's return code of -4; None for a normal exit."""
    if returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def run_child(model_path: Path, extra_buffers: bool) -> ProbeResult:
    """Load the model in a child process and generate `PROBE_TOKENS` tokens."""
    command = [
        sys.executable,
        "-m",
        "agents.llm.native",
        str(model_path),
        "1" if extra_buffers else "0",
    ]
    # The child imports this same copy of the project, installed or not.
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH", "")]))
    env = {**os.environ, "PYTHONPATH": path}
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return ProbeResult(False, detail=f"did not finish in {PROBE_TIMEOUT_S:.0f} s")
    if done.returncode == 0:
        return ProbeResult(True)
    name = signal_name(done.returncode)
    tail = (done.stderr.strip().splitlines() or [""])[-1][:200]
    return ProbeResult(False, signal=name, detail=tail or f"exit status {done.returncode}")


def _probe_key(model_path: Path, flags: frozenset[str]) -> str:
    from importlib.metadata import version

    stat = model_path.stat()
    text = "|".join(
        [version("llama-cpp-python"), " ".join(sorted(flags)), model_path.name, str(stat.st_size)]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def safe_extra_buffers(
    model_path: Path,
    cache: Path,
    *,
    flags: frozenset[str] | None = None,
    child: Callable[[Path, bool], ProbeResult] = run_child,
) -> bool:
    """Whether `model_path` may be loaded with extra buffer types in this process.

    Tries the preferred setting (`preferred_extra_buffers`) in a child process, then,
    if that child died, the setting without them. The verdict is kept under `cache`
    (one small JSON file per llama-cpp-python version, CPU flags and model file), so
    the children run once per machine and upgrade. Set DEBATE_LLAMA_PROBE=0 to skip
    the probe and use the preferred setting as it is.

    Raises UserError (one line naming the signal) when the model fails both ways."""
    flags = cpu_flags() if flags is None else flags
    preferred = preferred_extra_buffers(flags)
    if os.environ.get("DEBATE_LLAMA_PROBE", "1") == "0":
        return preferred
    key = _probe_key(model_path, flags)
    record = cache / f"llama-probe-{key}.json"
    try:
        kept = json.loads(record.read_text(encoding="utf-8"))
        if isinstance(kept.get("extra_buffers"), bool):
            return kept["extra_buffers"]
    except (OSError, ValueError, AttributeError):
        pass
    tried: list[tuple[bool, ProbeResult]] = []
    for setting in dict.fromkeys([preferred, False]):
        result = child(model_path, setting)
        tried.append((setting, result))
        if result.ok:
            break
    setting, result = tried[-1]
    if not result.ok:
        if all(r.signal is None for _, r in tried):
            # Not a crash (a timeout on an overloaded machine, say): go on as preferred and
            # let the load in process report what is wrong; try again next time.
            log.warning("llama.cpp test run %s; going on without a verdict", result.describe())
            return preferred
        raise UserError(
            f"the embedded model crashes on this CPU: a test run of llama.cpp "
            f"{result.describe()} ({_explain(tried)}); use the openai backend with a server "
            f"model, or another llama-cpp-python build"
        )
    if len(tried) > 1:
        first = tried[0][1]
        log.warning(
            "llama.cpp %s with extra buffer types on this CPU; loading models without them",
            first.describe(),
        )
    from core.files import atomic_write

    verdict = {
        "extra_buffers": setting,
        "tried": [{"extra_buffers": s, "result": r.describe()} for s, r in tried],
    }
    try:
        atomic_write(record, json.dumps(verdict))
    except UserError as exc:  # an unwritable cache costs the probe again next time
        log.debug("cannot keep the llama.cpp probe's verdict: %s", exc)
    return setting


def _explain(tried: Sequence[tuple[bool, ProbeResult]]) -> str:
    return "; ".join(
        f"{'with' if s else 'without'} extra buffer types it {r.describe()}" for s, r in tried
    )


def _probe_main(argv: Sequence[str]) -> int:
    """The child: load the model as told and generate a few tokens."""
    tune_openmp()
    path, extra = argv[0], argv[1] == "1"
    llm = load_llama(path, extra_buffers=extra, n_ctx=256, n_threads=2, verbose=False)
    tokens = llm.tokenize(b"The price of compute", add_bos=False)
    for n, _ in enumerate(llm.generate(tokens, temp=0.0), start=1):
        if n >= PROBE_TOKENS:
            break
    return 0


if __name__ == "__main__":
    sys.exit(_probe_main(sys.argv[1:]))
