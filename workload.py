"""What in this process is using the CPU right now.

llama.cpp generating in this process, passage embedding and query embedding
mark themselves busy while they run. The query embedder uses every core when
nothing else is busy, and one core otherwise: two OpenMP teams on the same
cores spin against each other. Measured on two cores, a query that takes
25 ms on both cores alone took 27 to 224 ms beside a generating model (and
slowed it), against a steady ~56 ms on one core.
"""

from __future__ import annotations

import threading
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
