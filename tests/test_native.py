"""Loading llama.cpp safely: extra buffer types off where the CPU advertises AMX, a probe
in a child process that survives a crash, and threads from the cores the machine has free."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agents.llm import native
from agents.llm.embedded import EmbeddedModel, bundled_model_path, runtime_copy
from core import workload
from core.errors import UserError
from tests.conftest import ROOT

AMX = frozenset({"fpu", "avx2", "avx512f", "amx_tile", "amx_int8", "amx_bf16"})
NO_AMX = frozenset({"fpu", "avx2", "avx512f", "avx512_vnni"})


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: Some Xeon\nflags\t\t: fpu avx2 amx_tile amx_int8\n\n"
        "processor\t: 1\nflags\t\t: fpu avx2 amx_tile amx_int8\n"
    )
    flags = native.cpu_flags(info)
    assert {"fpu", "avx2", "amx_tile"} <= flags
    assert native.advertises_amx(flags)
    assert native.cpu_flags(tmp_path / "missing") == frozenset()


def test_extra_buffers_are_preferred_only_without_amx():
    assert native.preferred_extra_buffers(AMX) is False
    assert native.preferred_extra_buffers(NO_AMX) is True


def test_signal_names():
    assert native.signal_name(-signal.SIGILL) == "SIGILL"
    assert native.signal_name(-signal.SIGSEGV) == "SIGSEGV"
    assert native.signal_name(0) is None
    assert native.signal_name(1) is None


class FakeChild:
    """Stands in for the child process: dies with `dies[setting]` or runs."""

    def __init__(self, dies: dict[bool, str | None]) -> None:
        self.dies, self.calls = dies, []

    def __call__(self, path: Path, extra: bool) -> native.ProbeResult:
        self.calls.append(extra)
        name = self.dies.get(extra)
        if name == "timeout":
            return native.ProbeResult(False, detail="did not finish in 180 s")
        return native.ProbeResult(name is None, signal=name)


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + bytes(60))
    return path


def test_probe_falls_back_when_extra_buffers_crash_and_keeps_the_verdict(tmp_path, gguf):
    cache = tmp_path / "cache"
    child = FakeChild({True: "SIGILL"})
    assert native.safe_extra_buffers(gguf, cache, flags=NO_AMX, child=child) is False
    assert child.calls == [True, False]
    (kept,) = cache.glob("llama-probe-*.json")
    record = json.loads(kept.read_text())
    assert record["extra_buffers"] is False
    assert "SIGILL" in record["tried"][0]["result"]
    # The verdict is read back: no child runs the second time.
    again = FakeChild({})
    assert native.safe_extra_buffers(gguf, cache, flags=NO_AMX, child=again) is False
    assert again.calls == []
    # Other CPU flags are another machine: probed anew.
    other = FakeChild({})
    assert native.safe_extra_buffers(gguf, cache, flags=NO_AMX | {"x"}, child=other) is True
    assert other.calls == [True]


def test_probe_on_an_amx_cpu_tries_the_safe_setting_only(tmp_path, gguf):
    child = FakeChild({True: "SIGILL"})
    assert native.safe_extra_buffers(gguf, tmp_path, flags=AMX, child=child) is False
    assert child.calls == [False]


def test_a_model_that_crashes_both_ways_is_one_line_naming_the_signal(tmp_path, gguf):
    child = FakeChild({True: "SIGILL", False: "SIGSEGV"})
    with pytest.raises(UserError) as caught:
        native.safe_extra_buffers(gguf, tmp_path, flags=NO_AMX, child=child)
    message = str(caught.value)
    assert "SIGSEGV" in message and "SIGILL" in message and "\n" not in message
    assert "use the openai backend" in message
    assert not list(tmp_path.glob("llama-probe-*.json"))  # nothing kept: try again next time


def test_a_probe_that_only_timed_out_decides_nothing(tmp_path, gguf):
    child = FakeChild({True: "timeout", False: "timeout"})
    assert native.safe_extra_buffers(gguf, tmp_path, flags=NO_AMX, child=child) is True
    assert not list(tmp_path.glob("llama-probe-*.json"))


def test_probe_can_be_switched_off(tmp_path, gguf, monkeypatch):
    monkeypatch.setenv("DEBATE_LLAMA_PROBE", "0")
    child = FakeChild({})
    assert native.safe_extra_buffers(gguf, tmp_path, flags=AMX, child=child) is False
    assert child.calls == []


def test_a_child_that_kills_itself_is_reported_by_signal(tmp_path: Path, monkeypatch):
    """The real child runner, with a child that dies as a crashing kernel would."""
    crashing = tmp_path / "crash.py"
    crashing.write_text("import os, signal\nos.kill(os.getpid(), signal.SIGILL)\n")
    real_run = subprocess.run

    def run(command, **kwargs):  # noqa: ANN001, ANN003
        return real_run([sys.executable, str(crashing)], **kwargs)

    monkeypatch.setattr(native.subprocess, "run", run)
    result = native.run_child(tmp_path / "model.gguf", True)
    assert not result.ok and result.signal == "SIGILL"
    assert result.describe() == "was killed by SIGILL"


@pytest.mark.e2e
def test_the_embedded_model_generates_in_a_child_process(tmp_path: Path):
    """A native crash fails this test by name instead of taking the suite down."""
    script = textwrap.dedent(
        """
        from agents.llm.base import Sampling
        from agents.llm.embedded import EmbeddedModel
        model = EmbeddedModel()
        messages = [{"role": "user", "content": "Say one sentence about compute."}]
        pieces = list(model.stream(messages, Sampling(max_tokens=12, temperature=0.0)))
        text = "".join(p for p in pieces if isinstance(p, str))
        assert text.strip(), "no text"
        print("ok", model.extra_buffers)
        model.close()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode < 0:
        pytest.fail(f"the embedded model was killed by {native.signal_name(done.returncode)}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok")


@pytest.mark.e2e
def test_a_real_probe_runs_and_is_kept(tmp_path: Path):
    path = runtime_copy(bundled_model_path())
    result = native.run_child(path, native.preferred_extra_buffers())
    assert result.ok, result.describe()
    assert native.safe_extra_buffers(path, tmp_path) is native.preferred_extra_buffers()
    assert list(tmp_path.glob("llama-probe-*.json"))


@pytest.mark.e2e
@pytest.mark.parametrize("extra", [True, False])
def test_models_load_with_and_without_extra_buffers(extra: bool):
    llm = native.load_llama(
        runtime_copy(bundled_model_path()), extra_buffers=extra, n_ctx=128, verbose=False
    )
    assert llm.model_params.use_extra_bufts is extra
    from llama_cpp import llama_cpp as api

    assert api.llama_model_default_params().use_extra_bufts is True  # the default is back


@pytest.mark.e2e
def test_on_an_amx_cpu_the_embedded_model_loads_without_extra_buffers(monkeypatch):
    monkeypatch.setattr(native, "cpu_flags", lambda *_: AMX)
    monkeypatch.setenv("DEBATE_LLAMA_PROBE", "0")
    model = EmbeddedModel()
    try:
        assert model.extra_buffers is False
        assert model.call(lambda llm: llm.model_params.use_extra_bufts) is False
    finally:
        model.close()


# -- the machine's load ----------------------------------------------------------------------
def _stat(path: Path, busy: list[int], idle: list[int]) -> None:
    lines = ["cpu  0 0 0 0 0 0 0 0 0 0"]
    for n, (b, i) in enumerate(zip(busy, idle, strict=True)):
        lines.append(f"cpu{n} {b} 0 0 {i} 0 0 0 0 0 0")
    path.write_text("\n".join(lines) + "\nintr 0\n")


def test_free_cores_count_other_processes_work_only(tmp_path: Path, monkeypatch):
    stat = tmp_path / "stat"
    clock = {"now": 100.0, "ours": 0.0}
    monkeypatch.setattr(workload, "usable_cpus", lambda: {0, 1})
    monkeypatch.setattr(workload.time, "monotonic", lambda: clock["now"])

    class Times:
        def __init__(self) -> None:
            self.user, self.system = clock["ours"], 0.0

    monkeypatch.setattr(workload.os, "times", Times)
    tick = workload.os.sysconf("SC_CLK_TCK")
    load = workload.MachineLoad(interval_s=0.5, stat=str(stat))
    _stat(stat, [0, 0], [0, 0])
    assert load.free_cores() == 2.0  # no interval yet: every core counts as free
    # One second: another process kept core 0 busy, we used half a core on core 1.
    clock["now"] += 1.0
    clock["ours"] += 0.5
    _stat(stat, [tick, tick // 2], [0, tick // 2])
    assert load.free_cores() == pytest.approx(1.0)
    assert load.threads(2) == 1
    # Within the interval the figure is kept (nothing is read).
    stat.unlink()
    clock["now"] += 0.1
    assert load.free_cores() == pytest.approx(1.0)
    # Next second: only our own work (both cores, ours): both free.
    clock["now"] += 0.9
    clock["ours"] += 2.0
    _stat(stat, [2 * tick, tick + tick // 2], [0, tick // 2])
    assert load.free_cores() == pytest.approx(2.0)
    assert load.threads(2) == 2 and load.threads(4) == 2
    # Cores outside the affinity are not counted.
    monkeypatch.setattr(workload, "usable_cpus", lambda: {1})
    assert workload.MachineLoad(stat=str(stat)).cores == 1


def test_busy_processes_leave_one_thread(tmp_path: Path):
    """Real processes spinning on every usable core: work runs on one thread."""
    cores = workload.usable_cpus()
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(len(cores))
    ]
    try:
        load = workload.MachineLoad(interval_s=0.5)
        load.free_cores()
        time.sleep(1.0)
        assert load.free_cores() < len(cores) - 0.5
        assert load.threads(len(cores)) < max(2, len(cores))
    finally:
        for p in spinners:
            p.kill()
            p.wait()
