"""What in this process is using the CPU right now.

llama.cpp generating in this process, passage embedding and query embedding
mark themselves busy while they run. The query embedder uses every core when
nothing else is busy, and one core otherwise: two OpenMP teams on the same
cores spin against each other, and a query on both cores beside a generating
model took several times as long as on one core, and slowed the model
(docs/ARCHITECTURE.md has the figures). `tune_openmp` lowers how long OpenMP's
threads spin at a barrier, for llama.cpp and the e5 engine alike.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_running = 0


@contextmanager
def busy() -> Iterator[bool]:
    """Mark a piece of CPU-heavy work as running; yields whether it started alone."""
    global _running
    with _lock:
        alone = _running == 0
        _running += 1
    try:
        yield alone
    finally:
        with _lock:
            _running -= 1


def running() -> int:
    """How many pieces of work are marked busy now."""
    return _running


class MachineLoad:
    """How many of the cores this process may run on are not taken by other processes.

    Read from /proc/stat (the busy time of each core this process may use, steal time
    counted as busy) less this process's own CPU time, over the last `interval_s`
    seconds; the figure is kept that long, so asking often costs nothing. Where
    /proc/stat cannot be read, every usable core counts as free.

    llama.cpp's threads meet at a barrier after every operation; when other processes
    hold the cores, a thread whose partner was descheduled waits out its partner's time
    slice. So a generation asks `threads(n)` between tokens and runs on as many threads
    as there are free cores (at least one).
    """

    def __init__(self, interval_s: float = 0.2, stat: str = "/proc/stat") -> None:
        self.interval_s = interval_s
        self._stat = stat
        self._lock = threading.Lock()
        self._cpus = usable_cpus()
        self._last: tuple[float, float, float] | None = None  # wall, machine busy, ours
        self._free = float(len(self._cpus))

    @property
    def cores(self) -> int:
        """How many cores this process may run on (its CPU affinity)."""
        return len(self._cpus)

    def _busy_s(self) -> float | None:
        try:
            with open(self._stat, encoding="ascii") as fh:
                lines = fh.readlines()
        except OSError:
            return None
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        busy = 0
        for line in lines:
            name, _, rest = line.partition(" ")
            if not name.startswith("cpu") or name == "cpu":
                continue
            try:
                if int(name[3:]) not in self._cpus:
                    continue
                fields = [int(x) for x in rest.split()]
            except ValueError:
                continue
            # user nice system idle iowait irq softirq steal ...: idle and iowait are free
            busy += sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)
            busy -= sum(fields[8:10]) if len(fields) > 9 else 0  # guest time is in user already
        return busy / tick

    def free_cores(self) -> float:
        """Cores not used by other processes over the last interval (0 to `cores`)."""
        now = time.monotonic()
        with self._lock:
            last = self._last
            if last is not None and now - last[0] < self.interval_s:
                return self._free
            busy = self._busy_s()
            if busy is None:
                return self._free
            times = os.times()
            ours = times.user + times.system
            self._last = (now, busy, ours)
            if last is not None:
                wall = now - last[0]
                others = max(0.0, (busy - last[1]) - (ours - last[2])) / wall
                self._free = max(0.0, min(float(self.cores), self.cores - others))
            return self._free

    def threads(self, most: int) -> int:
        """How many threads a piece of work should use now: the free cores, rounded to
        the nearest whole core, between 1 and `most`."""
        return max(1, min(most, int(self.free_cores() + 0.5)))


def usable_cpus() -> set[int]:
    """The CPUs this process may run on (its affinity; every CPU where that is unknown)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


machine = MachineLoad()


# GNU OpenMP's spins at a barrier before a thread sleeps (its default is 300,000). See
# docs/ARCHITECTURE.md, "Sharing a busy machine", for the measurement that chose it.
OMP_SPINCOUNT = "10000"


def tune_openmp() -> None:
    """Set OpenMP's barrier spin count for this process unless the user set one.

    Must run before llama.cpp's or the e5 engine's OpenMP runtime is loaded (it reads
    the environment once, when loaded); later calls change nothing."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", OMP_SPINCOUNT)
