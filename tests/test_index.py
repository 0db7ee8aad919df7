"""The passage index: ingest once, replace on change, hybrid search, Chroma server mode."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.errors import UserError
from tests.conftest import DEBATE, SOURCE, free_port
from transcripts.index import PassageIndex
from transcripts.lexical import BM25, JapaneseTokenizer


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> PassageIndex:
    ix = PassageIndex(tmp_path_factory.mktemp("data"))
    ix.ensure_bundled()
    return ix


def covers(passages, line: int) -> bool:
    return any(p.line_start <= line <= p.line_end for p in passages)


def test_bundled_source_is_indexed_once(index: PassageIndex):
    (again,) = index.ensure_bundled()
    assert again.status == "unchanged"
    (info,) = index.sources()
    assert info.source_id == "compute_resource_ism_panel" and info.chunks == again.chunks


def test_english_question_finds_japanese_lines(index: PassageIndex):
    found = index.search("Who plans to build semiconductor fabs and fusion reactors?", 5)
    assert covers(found, 10)
    assert all(p.gloss for p in found)
    assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)


def test_japanese_question_finds_lines(index: PassageIndex):
    found = index.search("ベーシックインカムは資本主義の上に成り立つ", 5)
    assert covers(found, 43) or covers(found, 44)


def test_bm25_matches_english_words_by_stem():
    tokenize = JapaneseTokenizer()
    assert tokenize("Computing resources") == tokenize("compute resource")
    docs = [
        tokenize("計算資源が通貨になる compute resources become the currency"),
        tokenize("金の延べ棒 the price of gold bars"),
    ]
    scores = BM25(docs).scores(tokenize("Is computing becoming a currency?"))
    assert scores[0] > 0 and scores[1] == 0


def test_changed_file_replaces_its_chunks(tmp_path: Path):
    ix = PassageIndex(tmp_path / "data")
    path = tmp_path / "talk.txt"
    path.write_text("計算資源は通貨になる。\n半導体が足りない。\n", encoding="utf-8")
    first = ix.ingest(path)
    assert first.status == "added"
    assert ix.ingest(path).status == "unchanged"
    path.write_text(
        "計算資源は通貨にならない。\n電力が足りない。\n核融合が鍵だ。\n", encoding="utf-8"
    )
    second = ix.ingest(path)
    assert second.status == "replaced"
    texts = [p.text for p in ix.search("電力", 10)]
    assert all("半導体" not in t for t in texts)
    assert ix.sources()[0].chunks == second.chunks
    assert ix.remove("talk") == second.chunks
    assert ix.sources() == []
    with pytest.raises(UserError, match="no source with id 'talk'"):
        ix.remove("talk")


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory) -> Iterator[str]:
    binary = shutil.which("chroma") or str(Path(DEBATE[0]).with_name("chroma"))
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma")
    proc = subprocess.Popen(
        [binary, "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("chroma server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_ingest_and_search_against_a_chroma_server(tmp_path: Path, chroma_server: str):
    def run(*args):
        return subprocess.run(
            [*DEBATE, *args, "--chroma-url", chroma_server],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )

    copy = tmp_path / "show.txt"
    copy.write_bytes(SOURCE.read_bytes())
    ingest = run("ingest", str(copy), "--source-id", "show")
    assert ingest.returncode == 0, ingest.stderr
    assert "show: added" in ingest.stdout
    assert "show: unchanged" in run("ingest", str(copy), "--source-id", "show").stdout
    found = run("search", "basic income funding", "--json", "--source", "show")
    assert found.returncode == 0, found.stderr
    rows = json.loads(found.stdout)
    assert rows and all(r["source_id"] == "show" for r in rows)
    assert not (tmp_path / ".debate" / "chroma").exists()
    listing = run("sources")
    assert "show" in listing.stdout


def test_a_query_uses_every_core_only_when_nothing_else_runs(index: PassageIndex, monkeypatch):
    """Alone, a query embedding takes the whole machine; beside a generating model it
    keeps to one thread, so two OpenMP teams do not spin against each other."""
    import workload
    from transcripts.index import E5Embedder

    threads: list[int] = []
    real = E5Embedder._engine

    def spy(self, n):
        threads.append(n)
        return real(self, n)

    monkeypatch.setattr(E5Embedder, "_engine", spy)
    monkeypatch.setattr(E5Embedder, "CACHE", 0)
    embedder = index.embedder
    # The machine's other processes leave every core free ...
    monkeypatch.setattr(workload.machine, "threads", lambda most: most)
    embedder.query(["a question asked while nothing else runs"])
    with workload.busy():  # as llama.cpp marks itself while it generates
        embedder.query(["a question asked while a model generates"])
    # ... or hold one of two: alone in this process, the query takes what is left.
    monkeypatch.setattr(workload.machine, "threads", lambda most: max(1, most - 1))
    embedder.query(["a question asked beside another process"])
    expected = max(1, embedder._default_threads - 1)
    assert threads == [embedder._default_threads, 1, expected]
    assert workload.running() == 0


def test_results_never_list_the_same_lines_twice(index: PassageIndex):
    """Chunks overlap by a sentence; two of them that share lines come back as one
    passage (merged while they span at most two lines), never as two rows."""
    for query in (
        "最強の計算資源を巡る争いは、どの国とどの国の奪い合いになるか",
        "How would basic income relate to compute?",
        "資本主義の寿命",
    ):
        found = index.search(query, 8)
        for i, a in enumerate(found):
            for b in found[i + 1 :]:
                assert a.line_end < b.line_start or b.line_end < a.line_start, (query, a, b)


def test_two_overlapping_chunks_read_as_one_passage():
    from transcripts.index import _merged
    from transcripts.models import Passage

    first = Passage(
        source_id="s", chunk_id="s:19", line_start=19, line_end=20,
        text="A. B. C.", score=0.5, gloss="a. b. c.",
    )  # fmt: skip
    second = Passage(
        source_id="s", chunk_id="s:20", line_start=20, line_end=20,
        text="C. D.", score=0.4, gloss="c. d.",
    )  # fmt: skip
    one = _merged(second, first)  # the higher-ranked may come later in the text
    assert (one.line_start, one.line_end, one.chunk_id, one.score) == (19, 20, "s:20", 0.4)
    assert one.text == "A. B. C. D." and one.gloss == "a. b. c. d."
    assert _merged(first, first).text == "A. B. C."


# -- the sparse side -----------------------------------------------------------------------
def test_sparse_vectors_pool_add_and_survive_metadata():
    from transcripts.lexical import SparseIndex, add, decode_sparse, encode_sparse, max_pool

    a, b = {1: 0.5, 7: 1.25}, {1: 0.75, 3: 0.1}
    assert max_pool([a, b]) == {1: 0.75, 7: 1.25, 3: 0.1}
    assert add(a, b) == {1: 1.25, 7: 1.25, 3: 0.1}
    text = encode_sparse({12: 0.3333, 5: 1.5})
    assert text == "5:1.500 12:0.333" and decode_sparse(text) == {5: 1.5, 12: 0.333}
    idx = SparseIndex([{1: 1.0, 2: 2.0}, None, {2: 0.5}])
    assert idx.covered == 2
    assert idx.scores({2: 2.0, 9: 5.0}).tolist() == [4.0, 0.0, 1.0]


def test_every_chunk_carries_the_pooled_sparse_vector_of_its_sentences(index: PassageIndex):
    from transcripts.ingest import chunk, load_gloss, read_source
    from transcripts.lexical import add, decode_sparse, max_pool

    path = SOURCE
    chunks = chunk(read_source(path), "compute_resource_ism_panel", gloss=load_gloss(path))
    with index._store.use() as collection:
        got = collection.get(ids=[c.chunk_id for c in chunks[:3]], include=["metadatas"])
    metas = dict(zip(got["ids"], got["metadatas"], strict=True))
    for c in chunks[:3]:
        assert c.parts and c.gloss_parts  # the bundled source is glossed sentence by sentence
        want = add(
            max_pool(index.embedder.sparse(list(c.parts))),
            max_pool(index.embedder.sparse(list(c.gloss_parts))),
        )
        stored = decode_sparse(metas[c.chunk_id]["sparse"])
        assert stored.keys() == want.keys()
        assert all(abs(stored[f] - w) < 1e-3 for f, w in want.items())
        assert metas[c.chunk_id]["format"] == 2


class _Vectors:
    """Dense vectors that do not tell chunks apart; sparse vectors that name one."""

    def query(self, texts):
        return [[1.0, 0.0] for _ in texts]

    def passage(self, texts):
        return [[1.0, 0.0] for _ in texts]

    def sparse(self, texts, *, query=False):
        return [{7: 1.0} if "鍵" in t or "key" in t else {1: 1.0} for t in texts]


def test_the_sparse_ranking_is_fused_in(tmp_path: Path, monkeypatch):
    import transcripts.index as ti

    path = tmp_path / "talk.txt"
    lines = [
        "計算資源は通貨になる" * 20 + "。",
        "電力が足りない" * 25 + "。",
        "核融合が鍵だ" * 30 + "。",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ix = PassageIndex(tmp_path / "data", embedder=_Vectors())
    assert ix.ingest(path).chunks == 3
    monkeypatch.setattr(ti, "LEXICAL_WEIGHT", 0.0)  # the query shares no word with them
    assert ix.search("the key", 3)[0].line_start == 3  # only the sparse side can tell


def test_chunks_of_an_older_index_layout_are_indexed_again(tmp_path: Path):
    path = tmp_path / "talk.txt"
    path.write_text("計算資源は通貨になる。\n半導体が足りない。\n", encoding="utf-8")
    ix = PassageIndex(tmp_path / "data", embedder=_Vectors())
    ix.ingest(path)
    with ix._store.use(write=True) as collection:
        ids = collection.get(include=[])["ids"]
        # as written before the sparse side: no layout mark (update merges, so say 1)
        collection.update(ids=ids, metadatas=[{"format": 1} for _ in ids])
    assert ix.ingest(path).status == "replaced"
    with ix._store.use() as collection:
        metas = collection.get(include=["metadatas"])["metadatas"]
    assert all(m["format"] == 2 and "sparse" in m for m in metas)
    assert ix.ingest(path).status == "unchanged"
