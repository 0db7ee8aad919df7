"""A small OpenAI-compatible server for tests and benchmarks, on loopback only.

It streams made-up but well-formed replies at a fixed delay per token, answers
structured calls with an instance of the requested JSON schema, and can inject
faults on chosen requests: 429 with Retry-After, 500, 503, a stall past the
client's timeout, a stream cut mid-reply, malformed JSON. Nothing here is a
model: it stands in for a fleet of servers so that concurrency, retries and
checkpointing can be measured and tested without one.

Run one in its own process (so its work does not share the client's GIL):

    python -m bench.fake_openai --port 0 --delay-ms 20

It prints `READY http://127.0.0.1:PORT/v1` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"
FAULTS = ("429", "500", "503", "stall", "cut", "malformed")
TAG = re.compile(r"\brun-\d+\b")  # a debate tag in the prompt is echoed in every reply
# The claim a claim-first turn's prompt hands the model (prompts/templates/en/turn_claim.txt).
CLAIM = re.compile(r'Your point, from the show \(line \d+\): "(.+?)"\n')

WORDS = (
    "compute capital currency allocation datacenters energy wages labour markets policy "
    "sovereignty chips supply demand pricing access income inequality hegemony regulation "
    "investment productivity risk concentration governance scarcity inflation trade"
).split()


@dataclass
class FaultPlan:
    """Which requests fail, and how. Keys are 1-based request numbers, counted separately
    for streamed calls and for structured (non-streamed) calls."""

    stream: dict[int, str] = field(default_factory=dict)
    structured: dict[int, str] = field(default_factory=dict)
    rate: float = 0.0  # or: each request fails with this probability ...
    kinds: tuple[str, ...] = FAULTS  # ... with a kind drawn from these
    seed: int = 0
    retry_after_s: float = 1.0
    stall_s: float = 5.0


@dataclass
class Stats:
    requests: Counter = field(default_factory=Counter)
    faults: Counter = field(default_factory=Counter)
    tokens: int = 0


def _schema_instance(schema: dict[str, Any], root: dict[str, Any], words: Any) -> Any:
    """A value that validates against a (pydantic-made) JSON schema."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _schema_instance(root.get("$defs", {})[name], root, words)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _schema_instance(options[0], root, words)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return words.choice(schema["enum"])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _schema_instance(v, root, words) for k, v in props.items()}
    if kind == "array":
        low = schema.get("minItems", 1)
        high = max(low, min(schema.get("maxItems", 3), 3))
        item = schema.get("items", {"type": "string"})
        return [_schema_instance(item, root, words) for _ in range(high)]
    if kind == "integer":
        return int(schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1))
    if kind == "number":
        return float(schema.get("minimum", 0.5))
    if kind == "boolean":
        return True
    low, high = schema.get("minLength", 1), schema.get("maxLength", 120)
    text = words.sentence(6)
    while len(text) < low:
        text += " " + words.sentence(6)
    return text[:high]


class Words:
    """Seeded made-up prose; every sentence carries the debate tag when there is one."""

    def __init__(self, seed: str, tag: str | None, claim: str | None = None) -> None:
        self.rng = random.Random(seed)
        self.tag = tag
        self.claim = claim  # voiced instead of made-up words, when given

    def choice(self, seq: list[Any]) -> Any:
        return self.rng.choice(seq)

    def sentence(self, n: int) -> str:
        words = [self.rng.choice(WORDS) for _ in range(n)]
        if self.tag:
            words.insert(1, f"({self.tag})")
        return " ".join(words).capitalize() + "."

    def tokens(self, n: int) -> list[str]:
        if self.claim:
            lead = ["As", f"({self.tag})" if self.tag else "we", "heard", "on", "the", "show,"]
            out = (lead + self.claim.split())[: max(n, len(lead) + 1)]
            out[-1] = out[-1].rstrip(".") + "."
            return [w if i == 0 else " " + w for i, w in enumerate(out)]
        out: list[str] = []
        while len(out) < n:
            out.extend(self.sentence(self.rng.randint(6, 11)).split())
        out = out[:n]
        out[-1] = out[-1].rstrip(".") + "."
        return [w if i == 0 else " " + w for i, w in enumerate(out)]


class FakeOpenAI:
    """The server. `start()` runs it on a thread of its own; `serve()` in an event loop."""

    def __init__(
        self,
        *,
        delay_s: float = 0.0,
        reply_tokens: int = 60,
        faults: FaultPlan | None = None,
        port: int = 0,
        model: str = "fake-panel",
        timings: bool = False,
        usage: bool = True,
        voice_claims: bool = False,
    ) -> None:
        self.delay_s = delay_s
        # voice_claims: a streamed reply to a claim-first prompt voices its claim, as a
        # model that follows the prompt would (drafts then pass the attribution check).
        self.voice_claims = voice_claims
        # Report token counts as llama.cpp's server does without usage: a `timings` object
        # ({"prompt_n", "predicted_n"}) in the last chunk, and no usage chunk.
        self.timings = timings
        # usage=False: no usage in a stream, asked or not, as llama-cpp-python's server;
        # its `/extras/tokenize/count` then counts a text's tokens (here: its words).
        self.usage = usage
        self.reply_tokens = reply_tokens
        self.plan = faults or FaultPlan()
        self.port = port
        self.model = model
        self.stats = Stats()
        self._rng = random.Random(self.plan.seed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    # -- running ------------------------------------------------------------------------------
    async def serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._connection, HOST, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        async with self._server:
            await self._server.serve_forever()

    def start(self) -> FakeOpenAI:
        def main() -> None:
            with contextlib.suppress(asyncio.CancelledError):
                asyncio.run(self.serve())

        self._thread = threading.Thread(target=main, name="fake-openai", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake server did not start")
        return self

    def stop(self) -> None:
        # One hand-off to the loop's own thread, which closes the server and cancels its tasks
        # there. Cancelling task by task from this thread raced the loop: once the server closed,
        # asyncio.run could finish and close the loop between two of those calls.
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended: nothing to stop
                self._loop.call_soon_threadsafe(self._shutdown)
        if self._thread:
            self._thread.join(5)

    def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in asyncio.all_tasks():
            task.cancel()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP ----------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                keep = await self._handle(method, path, body, writer)
                if not keep:
                    break
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.LimitOverrunError,
            asyncio.CancelledError,
        ):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        payload: Any,
        extra: dict[str, str] | None = None,
    ) -> bool:
        reason = {
            200: "OK",
            404: "Not Found",
            429: "Too Many Requests",
            500: "Internal Error",
            503: "Service Unavailable",
        }.get(status, "Error")
        data = json.dumps(payload).encode()
        head = [
            f"HTTP/1.1 {status} {reason}",
            "Content-Type: application/json",
            f"Content-Length: {len(data)}",
        ]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await writer.drain()
        return True

    def _fault(self, kind: str, number: int) -> str | None:
        planned = (self.plan.stream if kind == "stream" else self.plan.structured).get(number)
        if planned:
            return planned
        if self.plan.rate and self._rng.random() < self.plan.rate:
            kinds = [k for k in self.plan.kinds if kind == "structured" or k != "malformed"]
            return self._rng.choice(kinds) if kinds else None
        return None

    async def _handle(
        self, method: str, path: str, body: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        if method == "GET" and path.rstrip("/").endswith("/models"):
            return await self._send(
                writer, 200, {"object": "list", "data": [{"id": self.model, "object": "model"}]}
            )
        if method == "GET" and path.rstrip("/").endswith("/stats"):
            return await self._send(
                writer,
                200,
                {
                    "requests": dict(self.stats.requests),
                    "faults": dict(self.stats.faults),
                    "tokens": self.stats.tokens,
                },
            )
        if method == "POST" and path.rstrip("/") == "/extras/tokenize/count" and not self.usage:
            text = str(json.loads(body or b"{}").get("input", ""))
            return await self._send(writer, 200, {"count": len(text.split())})
        if not (method == "POST" and path.rstrip("/").endswith("/chat/completions")):
            return await self._send(writer, 404, {"error": {"message": f"no route {path}"}})
        request = json.loads(body or b"{}")
        streamed = bool(request.get("stream"))
        kind = "stream" if streamed else "structured"
        self.stats.requests[kind] += 1
        fault = self._fault(kind, self.stats.requests[kind])
        if fault:
            self.stats.faults[fault] += 1
        if fault == "429":
            return await self._send(
                writer,
                429,
                {"error": {"message": "rate limited", "type": "rate_limit"}},
                {"Retry-After": f"{self.plan.retry_after_s:g}"},
            )
        if fault in ("500", "503"):
            return await self._send(writer, int(fault), {"error": {"message": "server error"}})
        prompt = json.dumps(request.get("messages", []), ensure_ascii=False)
        tag = TAG.search(prompt)
        claim = None
        if self.voice_claims and streamed:
            said = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
            found = CLAIM.search(said)
            claim = found.group(1) if found else None
        words = Words(hashlib.sha256(body).hexdigest(), tag.group(0) if tag else None, claim)
        if not streamed:
            if fault == "stall":
                await asyncio.sleep(self.plan.stall_s)
            return await self._structured(request, words, writer, malformed=fault == "malformed")
        return await self._stream(request, words, writer, fault)

    async def _structured(
        self,
        request: dict[str, Any],
        words: Words,
        writer: asyncio.StreamWriter,
        *,
        malformed: bool,
    ) -> bool:
        fmt = request.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema")
        if malformed:
            content = '{"oops": [unterminated'
        elif schema:
            content = json.dumps(_schema_instance(schema, schema, words))
        else:
            content = " ".join(words.tokens(self.reply_tokens)).replace("  ", " ")
        await asyncio.sleep(self.delay_s * 10)
        return await self._send(
            writer,
            200,
            {
                "id": "cmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {
                    "prompt_tokens": len(json.dumps(request)) // 4,
                    "completion_tokens": len(content) // 4,
                    "total_tokens": len(json.dumps(request)) // 4 + len(content) // 4,
                },
            },
        )

    async def _stream(
        self, request: dict[str, Any], words: Words, writer: asyncio.StreamWriter, fault: str | None
    ) -> bool:
        limit = int(request.get("max_tokens") or self.reply_tokens)
        # A voiced claim is said whole (within the request's max_tokens): cut at the
        # server's reply length it would lose the end a draft check looks for.
        wanted = limit if words.claim else min(self.reply_tokens, limit)
        tokens = words.tokens(max(1, wanted))
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )

        async def event(payload: Any) -> None:
            data = f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n"
            raw = data.encode()
            writer.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
            await writer.drain()

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": "cmpl-fake",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        await event(chunk({"role": "assistant", "content": ""}))
        broken_at = len(tokens) // 2 if fault in ("stall", "cut", "malformed") else -1
        for i, token in enumerate(tokens):
            if i == broken_at:
                if fault == "stall":
                    await asyncio.sleep(self.plan.stall_s)
                    return False
                if fault == "cut":
                    await event(chunk({"content": " CUT-HERE"}))
                    return False  # the connection closes inside a chunked body
                await event('{"choices": [{"delta": {"content": "broken')
                return False
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            await event(chunk({"content": token}))
            self.stats.tokens += 1
        last = chunk({}, "stop" if len(tokens) < limit else "length")
        prompt_n = len(json.dumps(request)) // 4
        if self.timings:
            last["timings"] = {"prompt_n": prompt_n, "predicted_n": len(tokens)}
        await event(last)
        options = request.get("stream_options") or {}
        if options.get("include_usage") and self.usage and not self.timings:
            usage = {
                "prompt_tokens": prompt_n,
                "completion_tokens": len(tokens),
                "total_tokens": prompt_n + len(tokens),
            }
            await event(
                {
                    "id": "cmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": self.model,
                    "choices": [],
                    "usage": usage,
                }
            )
        await event("[DONE]")
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible server on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="delay per streamed token")
    parser.add_argument("--reply-tokens", type=int, default=60)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--stall-s", type=float, default=5.0)
    parser.add_argument("--retry-after-s", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--voice-claims", action="store_true", help="a claim-first turn voices its claim"
    )
    args = parser.parse_args()
    server = FakeOpenAI(
        delay_s=args.delay_ms / 1000,
        reply_tokens=args.reply_tokens,
        port=args.port,
        voice_claims=args.voice_claims,
        faults=FaultPlan(
            rate=args.fault_rate,
            seed=args.seed,
            stall_s=args.stall_s,
            retry_after_s=args.retry_after_s,
        ),
    )

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server._ready.is_set():
            await asyncio.sleep(0.01)
        print(f"READY {server.base_url}", flush=True)
        await task

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
