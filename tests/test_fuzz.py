"""Bad input, fuzzed: every malformed persona, saved debate, transcript or command line
is one clear line naming the file and the field or line; no traceback, no changed file,
and oversized input is refused before it is read into memory."""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import io
import json
import re
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import cli
from agents.personas import MAX_PERSONA_BYTES, Persona, load_persona
from core.errors import UserError
from core.models import Debate
from episodes.store import MAX_DEBATE_BYTES, DebateStore, load_debate
from graphs.runner import MAX_TOPIC, check_topic
from tests.conftest import DEBATE, GOOD_PERSONA
from tests.tui_fixtures import sample_debate
from transcripts.index import IngestResult
from transcripts.ingest import MAX_BYTES, SUFFIXES, chunk, read_source

FUZZ = hsettings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

GOOD_DOC = yaml.safe_load(GOOD_PERSONA)
PERSONA_FIELDS = sorted(Persona.model_fields)

# Text as a command line or a file may hold it: no NUL (argv cannot carry one), no lone
# surrogates except through the one `surrogateescape` sample below.
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    TEXT,
    st.just("x" * 5000),
    st.sampled_from(["", "  ", "#12345", "#gggggg", "red", "Red", "HOST", "panelist ", "host"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=10,
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)


# -- shared checks -----------------------------------------------------------------------------
def one_line(message: str) -> str:
    assert message.strip(), "an empty message"
    assert len(message.splitlines()) == 1, repr(message)
    return message


def digest(path: Path) -> tuple[str, int]:
    with path.open("rb") as fh:  # streamed: a 50 MB input is not read into memory here
        return hashlib.file_digest(fh, "sha256").hexdigest(), path.stat().st_mtime_ns


def guarded(path: Path, load: Callable[[Path], Any]) -> tuple[Any, str | None]:
    """`load(path)`: its result, or the one-line UserError naming the file. Either way
    the file is unchanged and nothing was written beside it."""
    before = digest(path)
    neighbours = sorted(p.name for p in path.parent.iterdir())
    try:
        return load(path), None
    except UserError as exc:
        message = one_line(str(exc))
        assert message.startswith(f"{path}:"), message
        return None, message
    finally:
        assert digest(path) == before, "the loader changed its input"
        assert sorted(p.name for p in path.parent.iterdir()) == neighbours


def named_line(message: str, text_lines: int) -> int | None:
    m = re.search(r": line (\d+):", message)
    if m is None:
        return None
    line = int(m.group(1))
    assert 1 <= line <= text_lines + 1, message
    return line


def named_field(message: str) -> str | None:
    m = re.search(r"field '(.*?)'(?=: | is )", message)  # a name may hold quotes itself
    return m.group(1) if m else None


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


# -- persona files -----------------------------------------------------------------------------
def assert_names_place(message: str | None, data: bytes, whole_file: tuple[str, ...]) -> None:
    """A loader's error names the field or the line at fault, or says the file as a whole
    is wrong (one of `whole_file`)."""
    if message is None:
        return
    lines = data.count(b"\n") + 1
    assert (
        named_field(message) is not None
        or named_line(message, lines) is not None
        or any(w in message for w in whole_file)
    ), f"names neither a field nor a line: {message}"


PERSONA_WHOLE_FILE = (
    "a persona file must be a mapping of fields",
    "KB limit of a persona file",
    "nested too deeply",
)


def check_persona(data: bytes) -> tuple[Persona | None, str | None]:
    with scratch() as folder:
        path = folder / "guest.yaml"
        path.write_bytes(data)
        persona, message = guarded(path, load_persona)
    assert_names_place(message, data, PERSONA_WHOLE_FILE)
    return persona, message


@FUZZ
@given(data=st.binary(max_size=2000))
def test_persona_loader_random_bytes(data: bytes):
    check_persona(data)


YAML_PIECES = st.one_of(
    st.sampled_from(GOOD_PERSONA.splitlines()),
    st.text(alphabet="{}[]:-&*!|>'\"%@`#,?\t abcxyz01\\\u3042", max_size=30),
    st.sampled_from(
        [
            "- a",
            "  nested: [1, 2",
            "&anchor x",
            "*undefined",
            "!!python/object:os.system x",
            "<<: *a",
            "? [a, b]",
            ": x",
            "--- ",
            "...",
            "%YAML 9.9",
            "bio: |",
            "\t- tab",
            "color: #ffffff",
        ]
    ),
)


@FUZZ
@given(lines=st.lists(YAML_PIECES, max_size=14), crlf=st.booleans())
def test_persona_loader_yaml_like_text(lines: list[str], crlf: bool):
    text = ("\r\n" if crlf else "\n").join(lines)
    check_persona(text.encode("utf-8"))


@st.composite
def persona_mutations(draw) -> tuple[dict[str, Any], set[str]]:
    doc = dict(GOOD_DOC)
    touched: set[str] = set()
    for key in draw(st.lists(st.sampled_from(PERSONA_FIELDS), max_size=3, unique=True)):
        if key in doc and draw(st.booleans()):
            del doc[key]
        else:
            doc[key] = draw(VALUES)
        touched.add(key)
    if draw(st.integers(0, 4)) == 0:
        extra = draw(TEXT.filter(lambda k: k not in PERSONA_FIELDS))
        doc[extra] = draw(VALUES)
        touched.add(extra)
    return doc, touched


@FUZZ
@given(mutation=persona_mutations(), unicode=st.booleans())
def test_persona_loader_names_the_broken_field(mutation, unicode: bool):
    doc, touched = mutation
    data = yaml.safe_dump(doc, allow_unicode=unicode, sort_keys=False).encode("utf-8")
    persona, message = check_persona(data)
    if not touched:
        assert persona is not None and persona.id == "guest"
    if message is not None:
        field = named_field(message)
        assert field is not None, message
        shown = {str(UserError(k)) for k in touched}  # as a message shows them: line breaks escaped
        # A nested field shows as `key.sub`; a key may hold a dot itself (`.` is one).
        assert field == "(file)" or field in shown or field.split(".")[0] in shown, (
            message,
            touched,
        )


BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{n}: &{n} [{', '.join(['*' + p] * 9)}]"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


@pytest.mark.parametrize(
    "text, expected",
    [
        (BOMB + "\n" + GOOD_PERSONA.replace("Ada Guest", "*i"), "field '"),
        (BOMB + "\n", "field '"),
        (GOOD_PERSONA.replace("Ada Guest", "*a") + BOMB, "line 2"),
        ("id: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        ("- just\n- a list\n", "must be a mapping"),
        ("just a string\n", "must be a mapping"),
        ("", "must be a mapping"),
        (GOOD_PERSONA + "extra: !!python/object/apply:os.system [ls]\n", "line 9"),
        (GOOD_PERSONA.replace("Dry.", "Dry\x01."), "line 7"),
        (GOOD_PERSONA.replace("panelist", "judge"), "field 'role'"),
        (GOOD_PERSONA.replace('"#ffffff"', '"#fffff"'), "field 'color'"),
        (GOOD_PERSONA.replace("Builds chips.", "b" * 2001), "field 'bio'"),
        (GOOD_PERSONA.replace("id: guest", "id: Guest Star"), "field 'id'"),
    ],
    ids=lambda v: v[:24] if isinstance(v, str) and len(v) > 24 else None,
)
def test_persona_loader_known_bad_files(text: str, expected: str):
    started = time.perf_counter()
    persona, message = check_persona(text.encode("utf-8"))
    assert persona is None and message is not None and expected in message, message
    assert time.perf_counter() - started < 5


def test_persona_loader_odd_files(tmp_path: Path):
    bad_utf8 = tmp_path / "latin.yaml"
    bad_utf8.write_bytes(GOOD_PERSONA.replace("Dry.", "Dry\xe9.").encode("latin-1"))
    _, message = guarded(bad_utf8, load_persona)
    assert message == f"{bad_utf8}: line 7: not UTF-8 text"

    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    with pytest.raises(UserError, match=r"folder\.yaml: cannot read the persona file"):
        load_persona(folder)

    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as fh:
        fh.truncate(50 * 2**20)  # sparse: no disk, and it must not be read
    tracemalloc.start()
    try:
        _, message = guarded(huge, load_persona)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == f"{huge}: over the {MAX_PERSONA_BYTES >> 10} KB limit of a persona file"
    assert peak < 2**20


# -- saved debates -----------------------------------------------------------------------------
BASE_DEBATE = json.loads(sample_debate().model_dump_json())
DEBATE_WHOLE_FILE = ("a saved debate must be a JSON object", "nested too deeply", "MB limit")


def check_debate(data: bytes) -> tuple[Debate | None, str | None]:
    with scratch() as folder:
        path = folder / "20261128-120000-abcd.json"
        path.write_bytes(data)
        debate, message = guarded(path, load_debate)
        # the library and `debate list` skip a bad file instead of failing on it
        store = DebateStore(folder)
        listed = [d.id for d in store.list()]
        assert listed == ([] if debate is None else [debate.id])
        store.summaries()
    assert_names_place(message, data, DEBATE_WHOLE_FILE)
    return debate, message


@st.composite
def debate_mutations(draw) -> tuple[dict[str, Any], list[str]]:
    doc = copy.deepcopy(BASE_DEBATE)
    parent: Any = None
    key: Any = None
    node: Any = doc
    path: list[str] = []
    while isinstance(node, (dict, list)) and node and draw(st.integers(0, 4)) > 0:
        parent, key = (
            node,
            draw(
                st.sampled_from(sorted(node))
                if isinstance(node, dict)
                else st.integers(0, len(node) - 1)
            ),
        )
        node = node[key]
        path.append(str(key))
    op = draw(st.sampled_from(["delete", "replace", "extra"]))
    if op == "delete" and parent is not None:
        del parent[key]
    elif op == "extra" and isinstance(node, dict):
        extra = draw(KEYS.filter(lambda k: k not in node))
        node[extra] = draw(JSON_VALUES)
        path.append(extra)
    elif parent is not None:
        parent[key] = draw(JSON_VALUES)
    else:
        doc = draw(JSON_VALUES)
    return doc, path


@FUZZ
@given(mutation=debate_mutations(), indent=st.sampled_from([None, 2]), ascii_only=st.booleans())
def test_debate_loader_names_the_broken_field(mutation, indent, ascii_only: bool):
    doc, path = mutation
    data = json.dumps(doc, indent=indent, ensure_ascii=ascii_only).encode("utf-8")
    debate, message = check_debate(data)
    if message is None or not isinstance(doc, dict):
        return
    field = named_field(message)
    assert field is not None, message
    named = field.split(".")
    shared = min(len(named), len(path))
    assert named[:shared] == path[:shared], (message, path)


@FUZZ
@given(data=st.data())
def test_debate_loader_cut_or_flipped_bytes(data):
    body = json.dumps(BASE_DEBATE, indent=2, ensure_ascii=False).encode("utf-8")
    if data.draw(st.booleans()):
        body = body[: data.draw(st.integers(0, len(body)))]
    else:
        body = bytearray(body)
        for _ in range(data.draw(st.integers(1, 4))):
            body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
        body = bytes(body)
    check_debate(body)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "line 1: not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("[1, 2]", "must be a JSON object"),
        ('{"id": "x"}', "field 'schema_version' is missing"),
        ('{"schema_version": 99}', "field 'schema_version' is 99"),
        ('{"schema_version": "1"}', "field 'schema_version'"),
        ('{"schema_version": 1, "id": "x"}', "field 'topic'"),
    ],
    ids=lambda v: v[:24] if isinstance(v, str) and len(v) > 24 else None,
)
def test_debate_loader_known_bad_files(text: str, expected: str):
    debate, message = check_debate(text.encode("utf-8"))
    assert debate is None and message is not None and expected in message, message


def test_debate_loader_odd_files(tmp_path: Path):
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{\n"topic": "caf\xe9"\n}')
    _, message = guarded(latin, load_debate)
    assert message == f"{latin}: line 2: not a UTF-8 JSON file"

    folder = tmp_path / "folder.json"
    folder.mkdir()
    with pytest.raises(UserError, match=r"folder\.json: cannot read the file"):
        load_debate(folder)
    assert DebateStore(tmp_path).list() == []

    huge = tmp_path / "huge.json"
    with huge.open("wb") as fh:
        fh.truncate(MAX_DEBATE_BYTES + 1)
    tracemalloc.start()
    try:
        _, message = guarded(huge, load_debate)
        assert DebateStore(tmp_path).summaries() == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message is not None and "MB limit of a saved debate" in message
    assert peak < 2**20


@pytest.mark.parametrize("ref", ["/nonexistent/debate", "**", "*", "[", "", "../x", "a/b"])
def test_debate_refs_with_path_or_pattern_characters(tmp_path: Path, ref: str):
    store = DebateStore(tmp_path)
    store.save(sample_debate())
    with pytest.raises(UserError) as err:
        store.resolve(ref)
    one_line(str(err.value))


# -- transcripts -------------------------------------------------------------------------------
INGEST_WHOLE_FILE = (
    "the file is empty",
    "looks like a binary file",
    "cannot tell the text encoding",
    "no text found in the file",
    "MB limit of a transcript",
)


def check_transcript(data: bytes, suffix: str) -> None:
    with scratch() as folder:
        path = folder / f"show{suffix}"
        path.write_bytes(data)
        source, message = guarded(path, read_source)
        if message is not None:
            assert named_line(message, data.count(b"\n") + 1) is not None or any(
                w in message for w in INGEST_WHOLE_FILE
            ), message
            return
        assert len(source.lines) == data.count(b"\n") + 1 or source.encoding not in (
            "utf-8",
            "utf-8-sig",
            "cp932",
            "euc_jp",
        )
        count = len(source.lines)
        for s in source.sentences:
            assert 1 <= s.line <= count and s.text.strip()
            if suffix in (".txt", ".md"):
                assert s.text in source.lines[s.line - 1]
        chunks = chunk(source, "fuzz")
        assert chunks
        for c in chunks:
            assert 1 <= c.line_start <= c.line_end <= count, c
            assert c.text and c.chunk_id.startswith(f"fuzz:{c.line_start}-{c.line_end}:")
        covered = {s.line for s in source.sentences}
        assert {c.line_start for c in chunks} <= covered


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from(SUFFIXES))
def test_ingest_random_bytes(data: bytes, suffix: str):
    check_transcript(data, suffix)


@FUZZ
@given(
    text=st.text(max_size=2000),
    suffix=st.sampled_from(SUFFIXES),
    encoding=st.sampled_from(["utf-8", "utf-8-sig"]),
)
def test_ingest_random_text(text: str, suffix: str, encoding: str):
    check_transcript(text.encode(encoding, errors="surrogatepass"), suffix)


STAMP = st.builds(
    lambda h, m, s, ms, sep: f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}",
    st.integers(0, 99),
    st.integers(0, 59),
    st.integers(0, 59),
    st.integers(0, 999),
    st.sampled_from([",", "."]),
)
CUE_TEXT = st.one_of(
    TEXT,
    st.builds(lambda n, t: f"<v {n}>{t}", TEXT, TEXT),
    st.builds(lambda n, t: f"{n}: {t}", st.sampled_from(["HOST", "司会", "Sam"]), TEXT),
    st.sampled_from(["<b>bold</b> text.", "<a<a<a<a", "NOTE a note", "-->", "計算資源。次へ！"]),
)
CUE = st.builds(
    lambda n, a, b, lines: f"{n}\n{a} --> {b}\n" + "\n".join(lines),
    st.integers(0, 999),
    STAMP,
    STAMP,
    st.lists(CUE_TEXT, max_size=3),
)


@FUZZ
@given(
    blocks=st.lists(st.one_of(CUE, TEXT), max_size=8),
    header=st.sampled_from(["", "WEBVTT\n\n", "\ufeffWEBVTT - title\nKind: x\n\n", "WEBVTT\n"]),
    suffix=st.sampled_from([".srt", ".vtt"]),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_ingest_subtitle_like_files(blocks: list[str], header: str, suffix: str, newline: str):
    text = (header + "\n\n".join(blocks)).replace("\n", newline)
    check_transcript(text.encode("utf-8"), suffix)


def test_ingest_odd_files(tmp_path: Path):
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbfline one\nline \xff two\n")
    _, message = guarded(bom, read_source)
    assert message == f"{bom}: line 2: not UTF-8, though the file says it is"
    with pytest.raises(UserError, match="is a folder"):
        (tmp_path / "dir.txt").mkdir()
        read_source(tmp_path / "dir.txt")
    # one line of many unclosed tags is scanned in linear time
    cues = tmp_path / "tags.srt"
    cues.write_text("1\n00:00:01,000 --> 00:00:02,000\n" + "<a" * 200_000 + " end.\n")
    started = time.perf_counter()
    read_source(cues)
    assert time.perf_counter() - started < 5


def test_50_mb_transcript_is_refused_unread(tmp_path: Path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:
        fh.truncate(50 * 2**20)  # sparse: written in no time, and must never be read
    tracemalloc.start()
    try:
        _, message = guarded(path, read_source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == f"{path}: 50.0 MB is over the {MAX_BYTES >> 20} MB limit of a transcript"
    assert peak < 2**20, f"peak {peak} bytes while refusing a 50 MB file"


def test_transcript_just_over_the_limit_is_refused(tmp_path: Path):
    path = tmp_path / "edge.txt"
    with path.open("wb") as fh:
        fh.truncate(MAX_BYTES + 1)
    with pytest.raises(UserError, match=r"20\.0 MB is over the 20 MB limit"):
        read_source(path)


def test_10000_character_topic_is_refused():
    with pytest.raises(UserError) as err:
        check_topic("x" * 10_000)
    assert str(err.value) == f"the topic is 10000 characters; keep it under {MAX_TOPIC}"


# -- the command line, in process --------------------------------------------------------------
class Reached(Exception):
    """Validation passed: the command would now load a model or an index."""


class FakeIndex:
    """PassageIndex without Chroma or embeddings: ingest reads and chunks only."""

    def __init__(self, data_dir: Path, *, chroma_url: str | None = None, **_: Any) -> None:
        self.data_dir = data_dir

    def ingest(self, path: Path, source_id: str | None = None, *, progress=None) -> IngestResult:
        source = read_source(Path(path))
        return IngestResult(source_id or "s", len(chunk(source, source_id or "s")), "added", 0.0)

    def sources(self) -> list:
        return []

    def remove(self, source_id: str) -> int:
        raise UserError(f"no source with id '{source_id}' (see `debate sources`)")


def reached(*_: Any, **__: Any) -> Any:
    raise Reached


class NoProse:
    """The outline's writer: every call fails, so the outline is assembled (no model)."""

    name = "assembly"

    def structured(self, *_: Any, **__: Any) -> Any:
        from core.errors import ModelError

        raise ModelError("no model in this test")


SAMPLE_ID = "20261128-120000-abcd"
BROKEN_ID = "20261128-130000-ffff"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with debates, personas and transcripts, good and bad; heavy parts stubbed."""
    import textual_serve.server

    import episodes.evaluate
    import graphs.models
    import graphs.session
    import transcripts.index
    import tui.app

    debates = tmp_path / "debates"
    DebateStore(debates).save(sample_debate(SAMPLE_ID))
    (debates / f"{BROKEN_ID}.json").write_text('{"schema_version": 1, "id": 3', encoding="utf-8")
    (tmp_path / "personas").mkdir()
    for name in ("host", "economist"):
        source = Path(cli.__file__).parent.parent / "prompts" / "personas" / f"{name}.yaml"
        (tmp_path / "personas" / f"{name}.yaml").write_bytes(source.read_bytes())
    (tmp_path / "badpersonas").mkdir()
    (tmp_path / "badpersonas" / "guest.yaml").write_text("id: [x\n", encoding="utf-8")
    (tmp_path / "show.txt").write_text("司会：計算資源は通貨だ。\nHOST: Is it?\n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02")
    (tmp_path / "somedir").mkdir()
    monkeypatch.setattr(graphs.models, "default_model", reached)
    monkeypatch.setattr(graphs.models, "model_from", reached)
    monkeypatch.setattr(graphs.models, "saved_model", lambda *_: NoProse())
    monkeypatch.setattr(graphs.session, "e5_embed", reached)
    monkeypatch.setattr(cli, "open_index", reached)
    monkeypatch.setattr(transcripts.index, "PassageIndex", FakeIndex)
    monkeypatch.setattr(episodes.evaluate, "evaluate", reached)
    monkeypatch.setattr(tui.app, "main", reached)
    # `serve` with options that pass would listen until stopped: a fuzzed command line
    # that got there once kept a whole test run serving on 127.0.0.1:8000.
    monkeypatch.setattr(textual_serve.server.Server, "serve", reached)
    return tmp_path


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): digest(p)
        for p in folder.rglob("*")
        if p.is_file() and not p.relative_to(folder).parts[0] == "exports"
    }


ARG_TEXT = st.one_of(
    TEXT,
    st.sampled_from(["", " ", "-", "--", "-1", "x" * 10_000, "a\nb", "caf\udce9", "@economist"]),
)
# Mostly values the parser takes, so most command lines get to the commands' own checks.
INT = st.one_of(
    st.integers(-5, 600).map(str),
    st.integers(-(10**4), 10**4).map(str),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", "x", "3.5", "0x10", "1e3", " 7"]),
)
FLOAT = st.one_of(
    st.floats(-1, 3).map(repr),
    st.floats().map(repr),
    st.sampled_from(["", "x", "nan", "inf", "-inf", "1e309", "0", "-0.5"]),
)
PATH = st.one_of(
    st.sampled_from(
        [
            "personas",
            "badpersonas",
            "somedir",
            "show.txt",
            "binary.txt",
            "missing",
            "missing.gguf",
            "",
            ".",
            "/",
            f"debates/{SAMPLE_ID}.json",
            f"debates/{BROKEN_ID}.json",
        ]
    ),
    TEXT,
)
URL = st.sampled_from(
    [
        "http://127.0.0.1:9/v1",
        "postgresql://u@127.0.0.1:9/db",
        "ftp://x",
        "",
        "not a url",
        "http://",
        "http://[::1",
    ]
)
REF = st.one_of(
    st.sampled_from(
        [
            SAMPLE_ID,
            SAMPLE_ID[:8],
            BROKEN_ID,
            "nosuchid",
            "",
            "/nonexistent/debate",
            "**",
            "[",
            "../x",
            f"debates/{SAMPLE_ID}.json",
            f"debates/{BROKEN_ID}.json",
            "missing.json",
            "show.txt",
        ]
    ),
    TEXT,
)
OUTPUT = st.sampled_from(
    ["exports/o.md", "exports/a/b/o.html", "somedir", "", "exports", "show.txt/x"]
)


def choice(*valid: str):
    return st.one_of(st.sampled_from(valid), st.sampled_from([*valid, "", "EN", "xx"]))


def value_strategy(action: argparse.Action) -> Any:
    """Fuzzed values for one argument of the real parser, by what it takes."""
    if action.nargs == 0:
        return None
    if action.choices:
        return choice(*map(str, action.choices))
    if action.dest == "output":
        return OUTPUT  # the one argument a command writes to: kept inside the workspace
    if action.dest in ("base_url", "base_urls", "chroma_url", "checkpoint_url"):
        return URL
    if action.dest in ("id", "ids", "ref"):
        return REF
    if action.type is int:
        return INT
    if action.type is float:
        return FLOAT
    if action.type is Path:
        return PATH
    return ARG_TEXT


def command_specs() -> dict[str | None, tuple[list[Any], list[Any]]]:
    """Every subcommand of the real parser with its positionals and options (so the fuzz
    follows the command line as it changes)."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    specs: dict[str | None, tuple[list[Any], list[Any]]] = {}
    for name, command in sub.choices.items():
        positionals, options = [], []
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if action.option_strings:
                options.append((action.option_strings, value_strategy(action)))
            else:
                positionals.append((value_strategy(action), action.nargs))
        specs[name] = (positionals, options)
    specs[None] = ([], [(["-v"], None), *specs["run"][1]])  # no command: `run`
    specs["nosuchcommand"] = ([], [])
    return specs


COMMANDS = command_specs()


@st.composite
def argvs(draw) -> list[str]:
    command = draw(st.sampled_from(list(COMMANDS)))
    positionals, options = COMMANDS[command]
    argv = [] if command is None else [command]
    if draw(st.integers(0, 9)) == 0:
        argv.insert(0, "-v")
    for strategy, nargs in positionals:
        low, high = {"?": (0, 1), "*": (0, 3), "+": (1, 3)}.get(nargs, (1, 1))
        count = draw(st.sampled_from([low, low, high, *range(low, high + 1)]))
        count = count or low if draw(st.integers(0, 7)) else 0
        argv.extend(draw(strategy) for _ in range(count))
    for flags, strategy in draw(st.lists(st.sampled_from(options), max_size=5)) if options else []:
        argv.append(draw(st.sampled_from(flags)))
        if strategy is not None and draw(st.integers(0, 12)):
            argv.append(draw(strategy))
    if draw(st.integers(0, 9)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), draw(ARG_TEXT))
    return argv


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except Reached:
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


LOG_LINE = re.compile(r"debate: (DEBUG|INFO|WARNING) ")


def assert_clean_failure(code: int, out: str, err: str, argv: list[str]) -> None:
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in out + err, err
    if code == 0:
        return
    assert err.strip(), f"exit 2 without a message: {argv}"
    # -v lets log lines through (fallbacks, retries); they are not the error
    err = "".join(ln for ln in err.splitlines(True) if not LOG_LINE.match(ln))
    # exactly one line, ours or argparse's (made one line too), naming what is wrong
    assert err.startswith("debate: error: ") and len(err.splitlines()) == 1, err


@hsettings(parent=FUZZ, max_examples=300)
@given(argv=argvs())
def test_cli_arguments_fuzzed(workspace: Path, argv: list[str]):
    before = snapshot(workspace)
    started = time.perf_counter()
    code, out, err = run_cli(argv)
    assert_clean_failure(code, out, err, argv)
    assert time.perf_counter() - started < 10, argv
    assert snapshot(workspace) == before, f"{argv} changed a file"


def test_serve_in_the_fuzz_workspace_stops_where_serving_would_start(workspace: Path):
    """The in-process fuzz never serves: `serve` with good options stops at the stub, at
    once, whether or not the port is free."""
    from tests.conftest import free_port

    for port in ("8000", str(free_port())):
        started = time.perf_counter()
        assert run_cli(["serve", "--port", port]) == (0, "", "")
        assert time.perf_counter() - started < 10


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--turns", "-3"], "--turns: Input should be greater than or equal to 3"),
        (["run", "--topic", ""], "--topic is empty"),
        (["run", "--topic", "x" * 10_000], "--topic is 10000 characters"),
        (["run", "--temperature", "nan"], "--temperature"),
        (["run", "--personas-dir", "badpersonas"], "badpersonas/guest.yaml: line 2:"),
        (["outline", "nosuchid"], "no debate 'nosuchid'"),
        (["outline", "/nonexistent/debate"], "no debate '/nonexistent/debate'"),
        (["outline", SAMPLE_ID, "-o", "somedir"], "somedir: cannot write the file"),
        (["replay", f"debates/{BROKEN_ID}.json"], f"{BROKEN_ID}.json: line 1"),
        (["ingest", "binary.txt"], "binary.txt: this looks like a binary file"),
        (["search", "x", "--k", "0"], "--k must be at least 1"),
        (["run", "--personas", "host\nnobody"], "unknown persona 'host\\nnobody'"),
        # a line separator other than \n in an argument does not break the line either
        (["run", "a\u2028b"], "unrecognized arguments: a\\u2028b"),
    ],
)
def test_cli_known_bad_arguments_in_process(workspace: Path, argv: list[str], message: str):
    code, out, err = run_cli(argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("debate: error: ") and message in err, err


# -- the command line, as a user runs it -------------------------------------------------------
@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--turns", "-3"], "--turns: Input should be greater than or equal to 3"),
        (["run", "--topic", ""], "--topic is empty"),
        (
            ["run", "--topic", "x" * 10_000],
            f"--topic is 10000 characters; keep it under {MAX_TOPIC}",
        ),
        (["outline", "nosuchid"], "no debate 'nosuchid'"),
        (["outline", "/nonexistent/debate"], "no debate '/nonexistent/debate'"),
        (["replay", "bad.json"], "bad.json: line 2: not valid JSON"),
        (["replay", "missing.json"], "missing.json: no such file"),
        (["ingest", "huge.txt"], "huge.txt: 50.0 MB is over the 20 MB limit of a transcript"),
        (["run", "--personas-dir", "personas"], "guest.yaml: field 'color'"),
    ],
)
def test_bad_flags_fail_fast_in_one_line(tmp_path: Path, args: list[str], message: str):
    (tmp_path / "bad.json").write_text('{"schema_version": 1,\n', encoding="utf-8")
    with (tmp_path / "huge.txt").open("wb") as fh:
        fh.truncate(50 * 2**20)
    (tmp_path / "personas").mkdir()
    (tmp_path / "personas" / "guest.yaml").write_text(
        GOOD_PERSONA.replace('"#ffffff"', "'#zzz'"), encoding="utf-8"
    )
    before = snapshot(tmp_path)
    started = time.perf_counter()
    result = subprocess.run(
        [*DEBATE, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("debate: error: "), result.stderr
    assert message in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert elapsed < 20, f"{args[:2]} took {elapsed:.1f} s to refuse bad input (a model loaded?)"
    after = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith(".debate/")}
    assert after == before
