"""Checkpointers: SQLite under the data directory by default, PostgreSQL when configured."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from agents.errors import UserError

# Types the show keeps in its state; only these are revived from a checkpoint.
STATE_TYPES = [
    ("transcripts.models", "Turn"),
    ("transcripts.models", "Segment"),
    ("transcripts.models", "Passage"),
    ("transcripts.models", "Citation"),
    ("graphs.state", "NextTurn"),
    ("graphs.state", "Interjection"),
]


def serializer() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=STATE_TYPES)


@contextmanager
def open_checkpointer(data_dir: Path, url: str | None = None) -> Iterator[Any]:
    """A checkpointer for the show graph, closed on exit."""
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise UserError(f"--checkpoint-url {url!r}: expected postgresql://USER@HOST/DB")
        try:
            from langgraph.checkpoint.postgres import PostgresSaver
        except ImportError as exc:
            raise UserError(
                "--checkpoint-url needs 'langgraph-checkpoint-postgres' (pip install "
                "'panel-debate[postgres]')"
            ) from exc
        try:
            with PostgresSaver.from_conn_string(url) as saver:
                saver.serde = serializer()
                saver.setup()
                yield saver
        except Exception as exc:  # psycopg raises OperationalError for a dead server
            if type(exc).__name__ in ("OperationalError", "ConnectionTimeout"):
                raise UserError(f"--checkpoint-url: cannot reach PostgreSQL ({exc})") from exc
            raise
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
