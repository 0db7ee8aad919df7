"""PostgreSQL for the tests: the server DEBATE_TEST_POSTGRES_URL names, or a throwaway one.

Without that variable, a throwaway cluster is started from the installed PostgreSQL
binaries in a temporary folder: it listens on 127.0.0.1 only (its Unix socket stays
in that folder), takes a random password, and is stopped and deleted at the end of
the session. Without the binaries, the PostgreSQL tests are skipped.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ENV = "DEBATE_TEST_POSTGRES_URL"
SYSTEM_BINS = Path("/usr/lib/postgresql")  # where Debian and Ubuntu put each version


class ClusterError(RuntimeError):
    """The throwaway cluster could not be made or started."""


def postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent

    def version(p: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", p.parent.parent.name))

    candidates = sorted(SYSTEM_BINS.glob("*/bin/initdb"), key=version)
    return candidates[-1].parent if candidates else None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd="/")


@contextmanager
def throwaway_cluster(*, durable: bool = False) -> Iterator[str]:
    """Start a PostgreSQL cluster on 127.0.0.1; yield the URL of its database `debate`.

    durable=False turns fsync off (fast tests); True keeps the server's defaults, as a
    benchmark wants. initdb refuses to run as root: then the server runs as `postgres`.
    """
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise ClusterError("PostgreSQL is not installed (no initdb)")
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise ClusterError("running as root and there is no 'postgres' user") from None
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="debate-pg-"))
    data = root / "data"
    started = False
    try:
        password = secrets.token_hex(16)
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n", encoding="utf-8")
        os.chmod(pwfile, 0o600)
        if owner is not None:
            for path in (root, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        done = _run(
            [
                *as_user,
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "debate",
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ]
        )
        pwfile.unlink()
        if done.returncode != 0:
            raise ClusterError(f"initdb failed: {done.stderr.strip()[-500:]}")
        options = f"-c listen_addresses=127.0.0.1 -c unix_socket_directories={root}"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        for _attempt in range(3):  # a port found free may be taken before the server binds
            port = _free_port()
            done = _run(
                [
                    *as_user,
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(root / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    f"{options} -c port={port}",
                    "start",
                ]
            )
            if done.returncode == 0:
                started = True
                break
        if not started:
            log = (root / "server.log").read_text(errors="replace")[-500:]
            raise ClusterError(f"pg_ctl start failed: {done.stderr.strip()[-300:]} {log}")
        base = f"postgresql://debate:{password}@127.0.0.1:{port}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE debate")
        yield f"{base}/debate"
    finally:
        if started:
            _run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL for the whole session (see the module's docstring)."""
    given = os.environ.get(ENV)
    if given:
        yield given
        return
    if postgres_bin() is None:
        pytest.skip(
            f"PostgreSQL tests need {ENV} or the PostgreSQL server binaries "
            f"(initdb on PATH or under {SYSTEM_BINS}/*/bin)"
        )
    cluster = throwaway_cluster()
    try:
        url = cluster.__enter__()
    except ClusterError as exc:
        pytest.skip(f"could not start a throwaway PostgreSQL: {exc}")
    try:
        yield url
    finally:
        cluster.__exit__(None, None, None)


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database for one test (the session's database when the server's
    user may not create databases; debate ids keep the tests apart then)."""
    name = f"debate_test_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.errors.InsufficientPrivilege:
        yield postgres_url
        return
    try:
        yield with_database(postgres_url, name)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
