"""Crash safety: a save killed half-way leaves the previous file whole; processes that
share a data directory (the passage index, the SQLite checkpoints) do not corrupt it."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import UserError
from core.files import atomic_write
from episodes.store import DebateStore, load_debate
from tests.conftest import DEBATE, ROOT
from tests.tui_fixtures import sample_debate

DEBATE_ID = "20261128-120000-abcd"
BIG_TURNS = 1500  # about 1.5 MB of JSON: a save takes long enough to be hit half-way


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def spawn(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out


# -- a save killed half-way ------------------------------------------------------------------
SAVER = """
import sys
from pathlib import Path
from episodes.store import DebateStore, load_debate

store = DebateStore(Path(sys.argv[1]))
a, b = load_debate(Path(sys.argv[2])), load_debate(Path(sys.argv[3]))
store.save(a)
print("saving", flush=True)
while True:
    store.save(b)
    store.save(a)
"""


def test_sigkill_during_save_leaves_one_whole_version(tmp_path: Path):
    folder = tmp_path / "debates"
    versions = {
        "version A": sample_debate(DEBATE_ID, turns=BIG_TURNS, topic="version A"),
        "version B": sample_debate(DEBATE_ID, turns=BIG_TURNS + 1, topic="version B"),
    }
    sources = []
    for name, debate in versions.items():
        sources.append(tmp_path / f"{name[-1]}.json")
        DebateStore(tmp_path).save(debate)
        (tmp_path / f"{DEBATE_ID}.json").rename(sources[-1])
    path = folder / f"{DEBATE_ID}.json"
    rng = random.Random(7)
    kills = 6
    for _ in range(kills):
        proc = spawn(SAVER, str(folder), *map(str, sources))
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "saving", proc.stderr.read()
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        saved = load_debate(path)  # never half a file
        assert saved == versions[saved.topic]
    strays = sorted(p.name for p in folder.iterdir() if p.name != path.name)
    # a kill can leave the temporary file of the save it interrupted, and only that
    assert len(strays) <= kills, strays
    assert all(re.fullmatch(rf"\.{re.escape(path.name)}\.\w+\.tmp", s) for s in strays), strays
    # ... which nothing that reads debates mistakes for a debate
    store = DebateStore(folder)
    assert [d.id for d in store.list()] == [DEBATE_ID]
    assert [s.id for s in store.summaries()] == [DEBATE_ID]
    assert store.resolve(DEBATE_ID[:8]) == path
    listed = subprocess.run(
        [*DEBATE, "list", "--json", "--out", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert [d["id"] for d in json.loads(listed.stdout)] == [DEBATE_ID]


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path: Path):
    path = tmp_path / "notes.md"
    atomic_write(path, "old\n")
    os.chmod(path, 0o640)

    broken = "x" * 1000 + "\udcff"  # not encodable: fails half-way through the write
    with pytest.raises(UnicodeEncodeError):
        atomic_write(path, broken)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.md"]  # no temp file left
    atomic_write(path, "new\n")
    assert path.read_text() == "new\n"
    assert os.stat(path).st_mode & 0o777 == 0o640  # the file keeps its permissions
    fresh = atomic_write(tmp_path / "fresh.md", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(fresh).st_mode & 0o777 == 0o666 & ~umask  # as open(path, "w") would


def test_atomic_write_to_a_folder_is_one_line(tmp_path: Path):
    (tmp_path / "out").mkdir()
    with pytest.raises(UserError) as err:
        atomic_write(tmp_path / "out", "text")
    assert str(err.value).startswith(f"{tmp_path / 'out'}: cannot write the file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    (tmp_path / "file.txt").write_text("f")
    with pytest.raises(UserError, match="cannot write the file"):
        atomic_write(tmp_path / "file.txt" / "below.txt", "text")


# Every module that writes a user-facing file goes through atomic_write (or SQLite/Chroma).
WRITERS = re.compile(
    r"\.write_text\(|\.write_bytes\(|\bjson\.dump\(|\bshutil\.(copy|copyfile|move)\("
    r"|\bopen\([^)]*[\"'][wax]b?\+?[\"']"
)


def test_every_file_the_tool_writes_is_written_atomically():
    offenders = []
    files = []
    for folder in ("cli", "core", "agents", "graphs", "transcripts", "episodes", "tui", "prompts"):
        files += sorted((ROOT / folder).rglob("*.py"))
    for path in files:
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            if WRITERS.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


# -- processes sharing a data directory: the passage index -----------------------------------
INDEXER = """
import hashlib, math, sys, time
from pathlib import Path
from transcripts.index import PassageIndex

class Embedder:
    def _vec(self, text):
        h = hashlib.sha256(text.encode()).digest()
        v = [((h[i % 32] ^ (i * 31)) % 255) / 255 - 0.5 for i in range(64)]
        n = math.sqrt(sum(x * x for x in v))
        return [x / n for x in v]
    def query(self, texts):
        return [self._vec(t) for t in texts]
    def passage(self, texts):
        return [self._vec(t) for t in texts]

data, go, role, files = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
index = PassageIndex(data, embedder=Embedder())
while not go.exists():
    time.sleep(0.005)
if role == "writer":
    index.ensure_bundled()
    for name in files:
        index.ingest(Path(name))
    print(len(index.search("compute", 5)))
else:  # a reader searching while the writers write; it must keep seeing a sound index
    done = Path(files[0])
    searches = 0
    while not done.exists():
        for p in index.search("compute fusion chips", 5):
            assert p.line_start >= 1 and p.text
        searches += 1
        time.sleep(0.05)
    print(searches, " ".join(s.source_id for s in index.sources()))
"""


def test_processes_indexing_one_data_dir_leave_a_sound_index(tmp_path: Path):
    from tests.conftest import SOURCE
    from transcripts.index import PassageIndex
    from transcripts.ingest import chunk, read_source

    data = tmp_path / "data"
    go = tmp_path / "go"
    done = tmp_path / "done"
    shared = tmp_path / "shared.txt"
    shared.write_text("".join(f"Shared line {k}: chips and fusion.\n" for k in range(30)))
    writers = []
    expected: dict[str, int] = {"compute_resource_ism_panel": len(chunk(read_source(SOURCE), "x"))}
    expected["shared"] = len(chunk(read_source(shared), "x"))
    for w in "abcd":
        names = [str(shared)]
        for i in range(10):
            path = tmp_path / f"{w}{i}.txt"
            path.write_text(
                "".join(
                    f"Speaker {w}: point {k} of file {i} on compute {k * i}.\n" for k in range(200)
                )
            )
            names.append(str(path))
            expected[f"{w}{i}"] = len(chunk(read_source(path), "x"))
        writers.append(spawn(INDEXER, str(data), str(go), "writer", *names))
    reader = spawn(INDEXER, str(data), str(go), "reader", str(done))
    time.sleep(1.0)  # let every process import and open the store first
    go.touch()
    try:
        for proc in writers:
            assert int(finish(proc)) == 5
    finally:
        done.touch()
    searches, *seen = finish(reader).split()
    assert int(searches) >= 1
    assert sorted(seen) == sorted(expected)  # the reader sees the others' writes

    index = PassageIndex(data)
    assert {s.source_id: s.chunks for s in index.sources()} == expected
    with index._store.use() as collection:
        ids = collection.get(include=[])["ids"]
        assert len(ids) == len(set(ids)) == collection.count()
        gloss = sum(1 for i in ids if i.endswith("#gloss"))
        assert len(ids) - gloss == sum(expected.values())
        # every vector made it into the dense index, none was overwritten by another process
        probe = collection.get(ids=ids[:1], include=["embeddings"])["embeddings"][0]
        dense = collection.query(query_embeddings=[probe], n_results=len(ids), include=[])
        assert set(dense["ids"][0]) == set(ids)
    version = (data / "index.version").read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{16}", version)


# -- processes sharing a data directory: SQLite checkpoints ----------------------------------------
SHOW = """
import sys, time
from pathlib import Path
from graphs.checkpoint import open_checkpointer
from graphs.runner import new_show
from core.settings import Settings
from tests.conftest import StubSearch, varied

data, out, go, prefix = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
settings = Settings(data_dir=data, out_dir=out, turns=8)
while not go.exists():
    time.sleep(0.005)
with open_checkpointer(data) as saver:
    runner = new_show(
        settings, f"Compute as currency ({prefix})", search=StubSearch(), checkpointer=saver,
        model=varied(prefix),
    )
    for event in runner.run():
        pass
print(runner.debate.id)
"""


def test_processes_checkpointing_to_one_sqlite_file(tmp_path: Path):
    from graphs.builder import compile_show
    from graphs.checkpoint import open_checkpointer

    data, out, go = tmp_path / "data", tmp_path / "debates", tmp_path / "go"
    procs = [spawn(SHOW, str(data), str(out), str(go), name) for name in ("One", "Two", "Three")]
    time.sleep(1.0)
    go.touch()
    ids = [finish(p).strip() for p in procs]
    assert len(set(ids)) == 3
    store = DebateStore(out)
    with open_checkpointer(data) as saver:
        graph = compile_show(saver)
        for debate_id, name in zip(ids, ("One", "Two", "Three"), strict=True):
            saved = store.load(debate_id)
            assert saved.status == "finished" and len(saved.turns) == 8
            state = graph.get_state({"configurable": {"thread_id": debate_id}})
            turns = state.values["turns"]
            assert [t.text for t in turns] == [t.text for t in saved.turns]
            # each debate's own model spoke in it: no turn crossed into another debate (the
            # host's turns from its templates and recaps are not a model's words)
            spoken = [t for t in turns if t.voiced_by == "model"]
            assert spoken and all(t.text.startswith(f"{name} ") for t in spoken)
            history = list(graph.get_state_history({"configurable": {"thread_id": debate_id}}))
            assert len(history) > 8


def test_a_save_sweeps_the_temporary_files_a_killed_writer_left(tmp_path):
    import os
    import time

    from core.files import STALE_TMP_S, atomic_write

    target = tmp_path / "d.json"
    stale = tmp_path / ".d.json.abc123.tmp"
    young = tmp_path / ".d.json.def456.tmp"
    other = tmp_path / ".e.json.abc123.tmp"
    for f in (stale, young, other):
        f.write_text("{half", encoding="utf-8")
    old = time.time() - STALE_TMP_S - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    atomic_write(target, "{}")
    assert target.read_text(encoding="utf-8") == "{}"
    assert not stale.exists()  # left by a killed save of this file: swept
    assert young.exists()  # may be a writer still at work: kept
    assert other.exists()  # another file's: not this save's business
