"""Checkpointers: SQLite under the data directory by default, PostgreSQL when configured."""

from __future__ import annotations

import importlib
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from core.errors import UserError

# Types the show keeps in its state; only these are revived from a checkpoint.
STATE_TYPES = [
    ("core.models", "Turn"),
    ("core.models", "Segment"),
    ("core.models", "Passage"),
    ("core.models", "Citation"),
    ("core.models", "Claim"),
    ("core.models", "Verdict"),
    ("graphs.state", "NextTurn"),
    ("graphs.state", "Interjection"),
]
# Where those types lived when older checkpoints were written: a checkpoint names each
# object's class by its module, so a debate checkpointed before the models moved to
# `core` names them `transcripts.models.Turn` and so on.
MOVED = {"transcripts.models": "core.models"}

# PostgreSQL: connections the pool keeps open at least / at most, and how long a
# connection attempt (or a wait for a free pooled connection) may take, in seconds.
POOL_MIN = 1
POOL_MAX = 10
CONNECT_TIMEOUT_S = 10


def serializer() -> JsonPlusSerializer:
    """The checkpoint serializer: revives the types of `STATE_TYPES` and no others, also
    from checkpoints that name them by a former module (`MOVED`)."""
    allowed = JsonPlusSerializer(allowed_msgpack_modules=STATE_TYPES)
    return JsonPlusSerializer(
        allowed_msgpack_modules=STATE_TYPES,
        __unpack_ext_hook__=_reviving_moved(allowed._unpack_ext_hook),
    )


_OLD_NAMES = tuple(old.encode() for old in MOVED)


def _reviving_moved(hook: Callable[[int, bytes], Any]) -> Callable[[int, bytes], Any]:
    """`hook` (the serializer's own reader of a checkpoint's objects), that also revives an
    object of `STATE_TYPES` whose checkpoint names its class by a module in `MOVED`. Every
    other object goes to `hook` as it is."""
    import ormsgpack
    from langgraph.checkpoint.serde.jsonplus import EXT_CONSTRUCTOR_KW_ARGS, EXT_PYDANTIC_V2

    known = set(STATE_TYPES)

    def read(code: int, data: bytes) -> Any:
        if code in (EXT_PYDANTIC_V2, EXT_CONSTRUCTOR_KW_ARGS) and any(
            old in data for old in _OLD_NAMES
        ):
            module, name, fields, *_ = ormsgpack.unpackb(
                data, ext_hook=read, option=ormsgpack.OPT_NON_STR_KEYS
            )
            if (moved := MOVED.get(module)) is not None and (moved, name) in known:
                return getattr(importlib.import_module(moved), name)(**fields)
        return hook(code, data)

    return read


def _passwords(url: str) -> list[str]:
    """Every password the URL holds (user:PASSWORD@, ?password=, ?sslpassword=)."""
    found: list[str] = []
    try:
        if (pw := urlsplit(url).password) is not None:
            found.append(pw)
    except ValueError:
        pass
    found += re.findall(r"(?i)[?&][a-z]*password=([^&#]*)", url)
    found += [unquote(p) for p in found]
    return sorted({p for p in found if p}, key=len, reverse=True)


def mask_url(url: str) -> str:
    """The URL with every password in it replaced by ***."""
    masked = url
    for pw in _passwords(url):
        masked = masked.replace(pw, "***")
    masked = re.sub(r"(://[^/@?#]*?:)[^/@?#]*@", r"\1***@", masked, count=1)
    return re.sub(r"(?i)([?&][a-z]*password=)[^&#]*", r"\1***", masked)


def _one_line(url: str, exc: BaseException) -> str:
    """A driver error as one line that never holds the URL's password."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = text.replace(url, mask_url(url))
    for pw in _passwords(url):
        text = text.replace(pw, "***")
    return text


@cache
def _saver_class() -> type:
    from langgraph.checkpoint.postgres import PostgresSaver

    class PooledPostgresSaver(PostgresSaver):
        """A PostgresSaver over a connection pool, without the saver-wide lock.

        The stock saver holds one lock around every query, which a single shared
        connection needs; here each call borrows its own pooled connection, so
        debates running in threads of one process checkpoint concurrently.
        """

        def __init__(self, conn: Any, serde: Any) -> None:
            super().__init__(conn, serde=serde)
            self.lock = nullcontext()  # type: ignore[assignment]

    return PooledPostgresSaver


@contextmanager
def _open_postgres(url: str) -> Iterator[Any]:
    import psycopg
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    shown = mask_url(url)
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    try:
        # One direct attempt first: a dead server or a bad URL fails at once, with
        # the driver's own reason, instead of a pool retrying in the background.
        psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
    except psycopg.Error as exc:
        raise UserError(
            f"{shown}: cannot reach PostgreSQL ({_one_line(url, exc)})", setting="checkpoint_url"
        ) from None
    pool = ConnectionPool(
        url,
        kwargs={**kwargs, "connect_timeout": CONNECT_TIMEOUT_S},
        min_size=POOL_MIN,
        max_size=POOL_MAX,
        timeout=CONNECT_TIMEOUT_S * 3,
        open=False,
        name="debate-checkpoints",
    )
    try:
        try:
            pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            saver = _saver_class()(pool, serializer())
            saver.setup()
        except psycopg.Error as exc:
            raise UserError(
                f"{shown}: cannot set up the checkpoint tables ({_one_line(url, exc)})",
                setting="checkpoint_url",
            ) from None
        try:
            yield saver
        except psycopg.OperationalError as exc:  # the server went away mid-debate
            raise UserError(
                f"{shown}: lost PostgreSQL ({_one_line(url, exc)})", setting="checkpoint_url"
            ) from None
    finally:
        pool.close()


@contextmanager
def open_checkpointer(data_dir: Path, url: str | None = None) -> Iterator[Any]:
    """A checkpointer for the show graph, closed on exit.

    With a postgresql:// URL the checkpoints go to PostgreSQL through a connection
    pool that any number of threads may share; otherwise to SQLite under data_dir.
    """
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise UserError(
                ": expected postgresql://USER:PASSWORD@HOST:PORT/DB", setting="checkpoint_url"
            )
        with _open_postgres(url) as saver:
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    data_dir.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(data_dir / "checkpoints.sqlite"), check_same_thread=False, timeout=30.0
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        saver = SqliteSaver(conn, serde=serializer())
        saver.setup()
        yield saver
    finally:
        conn.close()
