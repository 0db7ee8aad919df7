"""Checkpoints in PostgreSQL: run, resume in a new pool, fork, concurrent debates, bad URLs."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from core.errors import UserError
from core.settings import Settings
from episodes.store import DebateStore
from graphs import events as ev
from graphs.builder import compile_show
from graphs.checkpoint import open_checkpointer
from graphs.runner import fork_show, new_show, resume_show
from tests.conftest import DEBATE, StubSearch, check_fork, free_port, varied


def checkpoints_of(url: str, thread_id: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread_id,))
        return row.fetchone()[0]


def saved_turns(saver, thread_id: str) -> list:
    """The turns a checkpointer holds for a debate, read through a fresh graph."""
    graph = compile_show(saver)
    return list(graph.get_state({"configurable": {"thread_id": thread_id}}).values["turns"])


def test_debate_runs_to_the_end_in_postgres(settings: Settings, pg_url: str):
    with open_checkpointer(settings.data_dir, pg_url) as saver:
        runner = new_show(
            settings, "Compute as currency", search=StubSearch(), checkpointer=saver, model=varied()
        )
        got = list(runner.run())
    assert isinstance(got[-1], ev.DebateFinished) and got[-1].turns == 12
    turns = runner.debate.turns
    assert [t.index for t in turns] == list(range(12)) and turns[-1].kind == "closing"
    assert not (settings.data_dir / "checkpoints.sqlite").exists()
    assert checkpoints_of(pg_url, runner.debate.id) > 12
    with open_checkpointer(settings.data_dir, pg_url) as again:  # a new pool, a new process
        assert [t.text for t in saved_turns(again, runner.debate.id)] == [t.text for t in turns]


def test_stopped_debate_resumes_from_postgres_in_a_new_pool(settings: Settings, pg_url: str):
    with open_checkpointer(settings.data_dir, pg_url) as saver:
        runner = new_show(
            settings,
            "Compute as currency",
            search=StubSearch(),
            checkpointer=saver,
            model=varied("Before"),
            steerable=True,
        )
        for event in runner.run():
            if isinstance(event, ev.TurnFinished) and event.turn.index == 4:
                runner.stop()
    stopped = DebateStore(settings.out_dir).load(runner.debate.id)
    assert stopped.status == "stopped" and len(stopped.turns) == 5

    with open_checkpointer(settings.data_dir, pg_url) as saver:
        resumed = resume_show(
            settings,
            runner.debate.id,
            search=StubSearch(),
            checkpointer=saver,
            model=varied("After"),
        )
        got = list(resumed.run())
        in_db = saved_turns(saver, runner.debate.id)
    assert isinstance(got[1], ev.Resumed) and got[1].from_turn == 5
    final = resumed.debate
    assert final.status == "finished"
    assert [t.index for t in final.turns] == list(range(12))
    assert [t.text for t in final.turns[:5]] == [t.text for t in stopped.turns]
    # the resumed process's model spoke the turns after the stop (the host's turns from its
    # templates and recaps, and claims stated plainly, are not a model's words)
    spoken = [t for t in final.turns[5:] if t.voiced_by == "model"]
    assert spoken and all(t.text.startswith("After") for t in spoken)
    assert len({t.text for t in final.turns}) == 12  # no turn lost or spoken twice
    assert [t.text for t in in_db] == [t.text for t in final.turns]
    assert not (settings.data_dir / "checkpoints.sqlite").exists()


def test_fork_from_postgres(settings: Settings, pg_url: str):
    with open_checkpointer(settings.data_dir, pg_url) as saver:
        parent_runner = new_show(
            settings, "Compute as currency", search=StubSearch(), checkpointer=saver, model=varied()
        )
        list(parent_runner.run())
    parent = parent_runner.debate
    with open_checkpointer(settings.data_dir, pg_url) as saver:
        fork = fork_show(
            settings,
            parent.id,
            5,
            search=StubSearch(),
            checkpointer=saver,
            model=varied("Branch"),
            steer="What about energy?",
        )
        list(fork.run())
    check_fork(parent, fork.debate, settings.out_dir)
    assert checkpoints_of(pg_url, fork.debate.id) > 0


def test_concurrent_debates_share_one_pool(tmp_path: Path, pg_url: str):
    settings = Settings(data_dir=tmp_path / "data", out_dir=tmp_path / "debates", turns=10)
    results: dict[int, object] = {}

    def debate(i: int, saver) -> None:
        try:
            runner = new_show(
                settings,
                f"Compute as currency, take {i}",
                search=StubSearch(),
                checkpointer=saver,
                model=varied(f"Debate{i}"),
            )
            list(runner.run())
            results[i] = runner.debate
        except BaseException as exc:  # reported by the main thread
            results[i] = exc

    with open_checkpointer(settings.data_dir, pg_url) as saver:
        threads = [threading.Thread(target=debate, args=(i, saver)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=240)
        assert not any(t.is_alive() for t in threads)
        in_db = {i: saved_turns(saver, d.id) for i, d in results.items() if hasattr(d, "id")}
    assert sorted(results) == [0, 1, 2, 3]
    for i, done in results.items():
        assert not isinstance(done, BaseException), done
        turns = done.turns
        assert done.status == "finished"
        assert [t.index for t in turns] == list(range(10)) and turns[-1].kind == "closing"
        spoken = [t for t in turns if t.voiced_by == "model"]  # not the host's templates
        assert spoken and all(t.text.startswith(f"Debate{i} ") for t in spoken), [
            t.text for t in turns
        ]
        assert len({t.text for t in turns}) == 10
        assert [t.text for t in in_db[i]] == [t.text for t in turns]


def test_pool_lets_one_debate_write_while_another_reads(settings: Settings, pg_url: str):
    """A reader in the middle of a checkpoint history does not block writers."""
    with open_checkpointer(settings.data_dir, pg_url) as saver:
        first = new_show(
            settings, "Compute as currency", search=StubSearch(), checkpointer=saver, model=varied()
        )
        list(first.run())
        history = saver.list({"configurable": {"thread_id": first.debate.id}})
        next(history)  # holds a pooled connection until closed
        done = threading.Event()

        def second() -> None:
            runner = new_show(
                settings, "Energy", search=StubSearch(), checkpointer=saver, model=varied("Two")
            )
            list(runner.run())
            done.set()

        thread = threading.Thread(target=second, daemon=True)
        thread.start()
        assert done.wait(timeout=60), "a writer waited on an open reader"
        history.close()


@pytest.mark.parametrize(
    "url, reason",
    [
        ("postgresql://debate:s3cret-pw@127.0.0.1:{port}/x", "Connection refused"),
        ("postgresql://debate:s3cret-pw@127.0.0.1:notaport/x", 'invalid integer value "notaport"'),
        ("postgresql://debate@127.0.0.1:{port}/x?password=s3cret-pw", "Connection refused"),
        ("postgresql://debate:s3cret-pw@127.0.0.1:{port}/x?nosuch=s3cret-pw", "nosuch"),
    ],
)
def test_unreachable_or_bad_url_is_one_line_without_the_password(
    settings: Settings, url: str, reason: str
):
    url = url.replace("{port}", str(free_port()))
    with pytest.raises(UserError) as caught:
        with open_checkpointer(settings.data_dir, url):
            pass
    message = str(caught.value)
    assert "\n" not in message and "s3cret" not in message
    assert "cannot reach PostgreSQL" in message and reason in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_other_url_schemes_are_refused(settings: Settings):
    with pytest.raises(UserError, match="expected postgresql://") as caught:
        with open_checkpointer(settings.data_dir, "mysql://debate:s3cret-pw@127.0.0.1/x"):
            pass
    assert "s3cret" not in str(caught.value)


def test_wrong_password_is_one_line_without_the_password(settings: Settings, postgres_url: str):
    parts = urlsplit(postgres_url)
    if not parts.password:
        pytest.skip("the test server's URL has no password")
    netloc = f"{parts.username}:wrong-s3cret@{parts.hostname}:{parts.port}"
    wrong = urlunsplit(parts._replace(netloc=netloc))
    with pytest.raises(UserError) as caught:
        with open_checkpointer(settings.data_dir, wrong):
            pass
    message = str(caught.value)
    assert "\n" not in message and "s3cret" not in message
    assert "password authentication failed" in message


def test_cli_bad_checkpoint_url_exits_2_with_one_line(tmp_path: Path):
    from episodes.store import DebateStore
    from tests.tui_fixtures import sample_debate

    saved = sample_debate().model_copy(update={"status": "stopped"})
    DebateStore(tmp_path / "debates").save(saved)
    url = f"postgresql://debate:s3cret-pw@127.0.0.1:{free_port()}/x"
    result = subprocess.run(
        [*DEBATE, "resume", saved.id, "--checkpoint-url", url],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("debate: error: --checkpoint-url"), lines
    assert "cannot reach PostgreSQL" in lines[0]
    assert "s3cret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_losing_the_database_mid_debate_is_one_line(settings: Settings, pg_url: str, postgres_url):
    if pg_url == postgres_url:
        pytest.skip("the test server's user may not create databases")
    name = urlsplit(pg_url).path.lstrip("/")
    with pytest.raises(UserError) as caught:
        with open_checkpointer(settings.data_dir, pg_url) as saver:
            runner = new_show(
                settings, "Compute", search=StubSearch(), checkpointer=saver, model=varied()
            )
            for event in runner.run():
                if isinstance(event, ev.TurnFinished) and event.turn.index == 3:
                    with psycopg.connect(postgres_url, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    message = str(caught.value)
    assert "lost PostgreSQL" in message and "\n" not in message
    password = urlsplit(pg_url).password
    assert not password or password not in message
