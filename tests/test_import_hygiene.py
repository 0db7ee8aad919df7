"""Only tui/ may import textual."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_only_tui_imports_textual():
    offenders = []
    files = [ROOT / "cli.py", ROOT / "settings.py", ROOT / "workload.py"]
    for package in ("agents", "graphs", "prompts", "transcripts", "bench"):
        files += sorted((ROOT / package).rglob("*.py"))
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "textual" or n.startswith("textual.") for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
