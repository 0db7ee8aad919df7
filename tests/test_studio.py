"""`langgraph.json`: the entry LangGraph Studio loads is the show's graph, compiled."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

from langgraph.pregel import Pregel

ROOT = Path(__file__).resolve().parent.parent
SHOW_NODES = {"plan", "open", "select", "moderate", "retrieve", "speak", "close"}


def _entry() -> tuple[Path, str]:
    config = json.loads((ROOT / "langgraph.json").read_text(encoding="utf-8"))
    assert config["dependencies"] == ["."]
    path, _, name = config["graphs"]["show"].partition(":")
    return (ROOT / path).resolve(), name


def _load(path: Path):  # noqa: ANN202  (a module)
    rel = path.relative_to(ROOT).with_suffix("")
    return importlib.import_module(".".join(rel.parts))


def test_langgraph_json_names_the_compiled_show():
    path, name = _entry()
    assert path.is_file() and name
    graph = getattr(_load(path), name)()
    assert isinstance(graph, Pregel)
    assert SHOW_NODES <= set(graph.nodes)
    assert graph.checkpointer is None  # the server brings its own
    drawn = graph.get_graph()
    assert SHOW_NODES <= set(drawn.nodes)
    assert ("moderate", "retrieve") in {(e.source, e.target) for e in drawn.edges}


def test_the_studio_show_runs_without_a_context():
    path, name = _entry()
    graph = getattr(_load(path), name)()
    out = graph.invoke({"topic": "Compute as the new currency", "language": "en"})
    kinds = [t.kind for t in out["turns"]]
    assert kinds[0] == "opening" and kinds[-1] == "closing" and len(kinds) == 6


def test_importing_the_entry_builds_and_loads_nothing():
    path, _ = _entry()
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    code = (
        f"import sys; import {module}; "
        "heavy = [m for m in ('agents.llm.scripted', 'agents.llm.embedded', 'chromadb', "
        "'llama_cpp') if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
