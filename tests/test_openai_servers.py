"""OpenAI-compatible servers as they are in the field, on 127.0.0.1: streams that never
set a finish reason, `data:[DONE]` without a space, a base URL that lacks `/v1`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agents.llm.base import Sampling, complete
from agents.llm.openai_backend import OpenAIModel, sse_data
from core.errors import TransientModelError, UserError

WORDS = ["Grids ", "price ", "compute."]


def _chunk(delta: dict, finish=None, *, with_finish: bool = True, choices=None) -> str:
    choice = {"index": 0, "delta": delta}
    if with_finish:
        choice["finish_reason"] = finish
    body = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    body["choices"] = [choice] if choices is None else choices
    return json.dumps(body)


def stream_body(mode: str) -> str:
    """SSE bodies: `nofinish` (no finish_reason key at all, then [DONE]); `blank` (finish
    reason "" on every chunk, a final "stop", a usage-only chunk, `data:[DONE]`);
    `cut` (neither a finish reason nor [DONE]: the reply is not complete)."""
    events: list[str] = []
    for word in WORDS:
        if mode == "nofinish":
            events.append("data: " + _chunk({"content": word}, with_finish=False))
        else:
            events.append("data: " + _chunk({"content": word}, ""))
    if mode == "blank":
        events.append("data: " + _chunk({}, "stop"))
        usage = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}
        events.append("data:" + json.dumps({"choices": [], "usage": usage}))
        events.append(": keep-alive comment")
        events.append("data:[DONE]")
    elif mode == "nofinish":
        events.append("data: [DONE]")
    return "".join(e + "\n\n" for e in events)


class Server(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "nofinish"
    prefix = "/v1"  # where the API lives; everything else is a plain-text 404
    model_404 = False

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, code: int, body: str, kind: str = "application/json") -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == f"{self.prefix}/models":
            self._send(200, json.dumps({"object": "list", "data": [{"id": "m"}]}))
        else:
            self._send(404, "404 page not found", "text/plain")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != f"{self.prefix}/chat/completions":
            return self._send(404, "404 page not found", "text/plain")
        if self.model_404:
            error = {"message": "The model `m` does not exist.", "code": "model_not_found"}
            return self._send(404, json.dumps({"error": error}))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()  # no length, no chunks: the body ends when the connection does
        self.wfile.write(stream_body(self.mode).encode())
        self.wfile.flush()
        self.close_connection = True


@contextmanager
def serve(**attrs) -> Iterator[str]:
    handler = type("Handler", (Server,), attrs)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def ask(base_url: str) -> str:
    model = OpenAIModel("m", base_url=base_url, timeout=5.0, max_retries=0)
    model.preflight()
    return complete(model, [{"role": "user", "content": "hi"}], Sampling()).text


@pytest.mark.parametrize("mode", ["nofinish", "blank"])
def test_a_stream_that_reached_done_is_complete(mode: str):
    with serve(mode=mode) as root:
        assert ask(root + "/v1") == "Grids price compute."


def test_a_stream_that_ends_without_done_or_finish_reason_broke_off():
    with serve(mode="cut") as root:
        with pytest.raises(TransientModelError, match="ended before it was complete"):
            ask(root + "/v1")


@pytest.mark.parametrize("suffix", ["", "/"])
def test_a_base_url_without_v1_is_named_before_any_work(suffix: str):
    with serve() as root:
        with pytest.raises(UserError) as err:
            ask(root + suffix)
    message = str(err.value)
    assert "the base URL probably lacks /v1" in message
    assert f"the server URL: {root}/v1" in message and "check --model" not in message


def test_a_wrong_api_path_is_not_blamed_on_the_model():
    """A server with no model list at all, at a path that is not its API: every chat call
    answers 404, whatever the model."""
    with serve(prefix="/api/v9") as root:
        model = OpenAIModel("m", base_url=root + "/v2", timeout=5.0, max_retries=0)
        model.preflight()  # no /models there: nothing to tell yet
        with pytest.raises(UserError) as err:
            complete(model, [{"role": "user", "content": "hi"}], Sampling())
    assert "HTTP 404 for the chat endpoint, whatever the model" in str(err.value)
    assert "lacks /v1" in str(err.value) and "check --model" not in str(err.value)


def test_a_model_the_server_does_not_have_is_still_the_model():
    with serve(model_404=True) as root:
        with pytest.raises(UserError, match=r"model 'm' not found \(check the model name\)"):
            ask(root + "/v1")


def test_server_sent_event_data():
    lines = ["data: a", "", "data:b", "data: c", "", ": note", "event: x", "data: [DONE]"]
    assert list(sse_data(lines)) == ["a", "b\nc", "[DONE]"]
