"""Benchmark: claim-first debates against the free-form debates of an earlier commit.

Runs the same debates (the default topic with seeds 0 and 1, and one topic of our
choosing; the bundled model, `debate run`'s defaults) with this checkout's code and with
the code of an earlier commit (by default the newest commit of `main`'s first-parent
line that has no claim-first turns, i.e. everything else main had when they came;
`--against c8d8778` names another),
each debate in a child process of its own (the model and the index are loaded before
the clock starts), alternating old and new so the machine's drift hits both alike. Every
debate is then judged here with this checkout's attribution measure
(`transcripts.attribution`). Prints per debate and in total: the share of panelist turns
attributable to their cited lines, the share with invented names, dates or figures,
copy_rate (a turn's marked quotations not counted as copies; with them counted, beside
it) and distinct-2 over all turns, the wall time of the debate (the graph's
run, from the first event to the last), the replies introduced as pushing back and how
many of them the show's opposition chart sets against the claim they answer (a reading
of the show, not a measure of it: see docs/ARCHITECTURE.md), and how many lines of the
source the simulated persona spoke from.

    python -m bench.claims [--against COMMIT] [--show]

Uses both cores for a few minutes; run it on a machine nobody else is measuring on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

from core.claims import ClaimBook
from core.models import Debate
from core.paths import bundled_sources, source_id_for
from core.text import copy_rate, distinct_n
from transcripts.attribution import Attributor, judge_debate
from transcripts.claims import read_book
from transcripts.index import PassageIndex

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TOPIC = "Compute as the new currency: what happens if one AI holds 51% of all compute?"
OUR_TOPIC = "Should a basic income be paid in compute?"
DEBATES = [(DEFAULT_TOPIC, 0), (DEFAULT_TOPIC, 1), (OUR_TOPIC, 0)]

# Run in a child with a code folder first on sys.path: one debate as `debate run` runs it,
# saved under OUT; prints the debate's id and the graph's wall time as JSON.
CHILD = """
import json, sys, time
from pathlib import Path
try:  # the layout since the packages were re-cut (core/, graphs/session.py)
    from core.settings import Settings
    from graphs.models import default_model
    from graphs.session import Session

    def search_for(settings):
        return Session(settings).search()
except ImportError:  # an earlier commit's layout
    import cli
    from settings import Settings
    from graphs.runner import default_model

    def search_for(settings):
        return cli.searcher(cli.open_index(settings, quiet=True))
from graphs.checkpoint import open_checkpointer
from graphs.runner import new_show

data, out, topic, seed, turns = sys.argv[1], sys.argv[2], sys.argv[3], *map(int, sys.argv[4:6])
settings = Settings(data_dir=Path(data), out_dir=Path(out), seed=seed, turns=turns)
model = default_model(settings)
search = search_for(settings)
search("warm up", 1)
with open_checkpointer(settings.data_dir) as saver:
    runner = new_show(settings, topic, search=search, checkpointer=saver, model=model)
    began = time.perf_counter()
    for _event in runner.run():
        pass
    wall = time.perf_counter() - began
print(json.dumps({"id": runner.debate.id, "wall_s": wall}))
"""


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def before_claims() -> str:
    """The newest commit on main's first-parent line whose tree has no claim-first turns
    (no agents/claims.py)."""
    for commit in git("rev-list", "--first-parent", "main").split():
        if not git("ls-tree", commit, "agents/claims.py"):
            return commit
    raise SystemExit("bench.claims: no commit of main without claim-first turns; use --against")


def export(commit: str, folder: Path) -> Path:
    """The code of `commit` in `folder` (`git archive`; no worktree is registered)."""
    data = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def run_one(
    code: Path, data: Path, out: Path, topic: str, seed: int, turns: int
) -> tuple[Debate, float]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), str(out), topic, str(seed), str(turns)],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench.claims: a debate failed in {code}:\n{done.stderr[-2000:]}")
    row = json.loads(done.stdout.strip().splitlines()[-1])
    raw = json.loads((out / f"{row['id']}.json").read_text(encoding="utf-8"))
    return Debate.model_validate(raw), float(row["wall_s"])


def figures(debate: Debate, attributor: Attributor, book: ClaimBook) -> dict[str, float]:
    verdicts = judge_debate(debate, attributor)
    roles = {p.id: p.role for p in debate.personas}
    panel = [t for t in debate.turns if roles.get(t.speaker_id) == "panelist"]
    texts = [t.text for t in debate.turns]
    judged = [verdicts[t.index] for t in panel if t.index in verdicts]
    return {
        "panel_turns": len(panel),
        "attributable": sum(v.attributable for v in judged) / max(1, len(panel)),
        "invented": sum(bool(v.invented) for v in judged) / max(1, len(panel)),
        "copy_rate": copy_rate(texts),
        "copy_quoted": copy_rate(texts, quotes=True),
        "distinct_2": distinct_n(texts, 2),
        "templated": sum(t.voiced_by == "template" for t in panel) / max(1, len(panel)),
        "unsupported": sum(t.unsupported for t in panel) / max(1, len(panel)),
        **clashes(debate, book),
    }


def clashes(debate: Debate, book: ClaimBook) -> dict[str, float]:
    """The debate's replies introduced as pushing back (`challenge`), and how many of
    them the bundled show's opposition chart sets against the claim they answer (the
    rest pushed back on a claim they do not oppose); and the simulated persona's
    distinct source lines."""
    claims = {t.index: t.claim for t in debate.turns if t.claim is not None}
    pushed = [c for c in claims.values() if c.move == "challenge" and c.answers in claims]
    opposed = [c for c in pushed if book.opposes(c, claims[c.answers])]  # type: ignore[index]
    simulated = {p.id for p in debate.personas if p.simulated}
    lines = {t.claim.line_start for t in debate.turns if t.speaker_id in simulated and t.claim}
    return {"pushed": len(pushed), "opposed": len(opposed), "simulated_lines": len(lines)}


def line(name: str, f: dict[str, float], wall: float) -> str:
    return (
        f"{name:<44} attributable={f['attributable']:.2f} invented={f['invented']:.2f} "
        f"copy_rate={f['copy_rate']:.2f} (quotes counted {f['copy_quoted']:.2f}) "
        f"distinct-2={f['distinct_2']:.2f} wall={wall:.1f}s "
        f"(panel turns {int(f['panel_turns'])}, stated from the template "
        f"{f['templated']:.2f}, unsupported {f['unsupported']:.2f}; pushing back "
        f"{int(f['pushed'])}, opposed by the chart {int(f['opposed'])}; the simulated "
        f"persona's lines {int(f['simulated_lines'])})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--against",
        help="the earlier commit (default: main's newest commit without agents/claims.py)",
    )
    parser.add_argument("--show", action="store_true", help="print the new debates' turns")
    parser.add_argument("--turns", type=int, default=12, help="turns a debate (12)")
    parser.add_argument("--debates", type=int, default=3, help="how many of the three (3)")
    args = parser.parse_args()
    debates = DEBATES[: args.debates]

    against = git("rev-parse", "--short", args.against or before_claims())
    work = Path(tempfile.mkdtemp(prefix="bench-claims-"))
    old_code = export(against, work / "old")
    codes = {"old": old_code, "new": ROOT}
    for name in codes:
        (work / name / "out").mkdir(parents=True, exist_ok=True)
    results: dict[str, list[tuple[Debate, float]]] = {"old": [], "new": []}
    began = time.perf_counter()
    for topic, seed in debates:
        for name in ("old", "new"):
            out = work / name / "out"
            results[name].append(
                run_one(codes[name], work / name / "data", out, topic, seed, args.turns)
            )
    print(f"bench.claims: {len(debates)} debates each way in {time.perf_counter() - began:.0f} s")
    attributor = Attributor(PassageIndex(work / "new" / "data"))  # indexed by the runs
    book = read_book({source_id_for(p): p for p in bundled_sources()})
    totals: dict[str, dict[str, float]] = {}
    here = git("rev-parse", "--short", "HEAD")
    for name, label in (("old", f"before ({against})"), ("new", f"claim-first ({here})")):
        rows = [(figures(d, attributor, book), w) for d, w in results[name]]
        print(f"{label}:")
        for (topic, seed), (f, wall) in zip(debates, rows, strict=True):
            print("  " + line(f"{topic[:30]}… seed {seed}", f, wall))
        panel = sum(f["panel_turns"] for f, _ in rows)
        total = {
            k: sum(f[k] * f["panel_turns"] for f, _ in rows) / max(1, panel)
            for k in ("attributable", "invented", "templated", "unsupported")
        }
        for k in ("pushed", "opposed", "simulated_lines"):
            total[k] = sum(f[k] for f, _ in rows)
        total.update(
            panel_turns=panel,
            copy_rate=sum(f["copy_rate"] for f, _ in rows) / len(rows),
            copy_quoted=sum(f["copy_quoted"] for f, _ in rows) / len(rows),
            distinct_2=sum(f["distinct_2"] for f, _ in rows) / len(rows),
        )
        wall = sum(w for _, w in rows) / len(rows)
        totals[name] = {**total, "wall": wall}
        print("  " + line("all (panel turns pooled; text figures mean)", total, wall))
    ratio = totals["new"]["wall"] / totals["old"]["wall"]
    print(f"wall time, claim-first over before: {ratio:.2f}x")
    if args.show:
        for debate, _ in results["new"]:
            print(f"\n# {debate.topic} (seed {debate.settings.seed})")
            for t in debate.turns:
                claim = f"  <- line {t.claim.line_start}: {t.claim.text}" if t.claim else ""
                print(f"[{t.index} {t.speaker_id} {t.kind} {t.voiced_by}] {t.text}{claim}")


if __name__ == "__main__":
    main()
