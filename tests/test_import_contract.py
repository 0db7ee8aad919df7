"""The import contract of pyproject.toml (`[tool.importlinter]`, drawn in
docs/ARCHITECTURE.md) holds, and it is not a contract that cannot fail: a copy of the
code with one import against it is refused, naming the contract it breaks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
PACKAGES = CONFIG["importlinter"]["root_packages"]
NAMES = {c["id"]: c["name"] for c in CONFIG["importlinter"]["contracts"]}


def test_the_import_contract_holds(capsys):
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    shown = capsys.readouterr().out
    assert status == 0, shown
    assert "3 kept, 0 broken" in shown


@pytest.mark.parametrize(
    "where, line, broken",
    [
        # the ground floor reaching up into the graph
        ("core/offender.py", "import graphs.runner", "layers"),
        # siblings: an agent reading the sources, an episode writing with a model
        ("agents/offender.py", "from transcripts import ingest", "layers"),
        ("episodes/offender.py", "import agents.notes", "layers"),
        # a front end going round the composition root
        ("tui/offender.py", "from transcripts.index import PassageIndex", "front-ends"),
        # textual outside tui
        ("graphs/offender.py", "import textual.app", "textual"),
    ],
)
def test_an_import_against_the_contract_is_refused(tmp_path: Path, where, line, broken):
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / where).write_text(f"{line}\n", encoding="utf-8")
    checked = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
         " sys.exit(lint_imports_command())", "--no-cache"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},  # the copy, not the installed code
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    shown = " ".join(checked.stdout.split())  # as one line, however the report wraps
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert f"{NAMES[broken]} BROKEN" in shown and "2 kept, 1 broken" in shown
    assert where.removesuffix(".py").replace("/", ".") in shown
