"""The OpenAI backend: the `openai` SDK against OpenAI or any compatible server
(vLLM, Ollama, llama.cpp server). Structured output goes through
`response_format` json_schema; servers that only know llama.cpp's
`json_object` + `schema` form get that instead.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlparse

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from agents.llm.base import (
    FULL,
    Completion,
    LabelCheck,
    Message,
    Sampling,
    T,
    backoff_s,
    parse_structured,
)
from core.errors import ModelError, StructuredOutputError, TransientModelError, UserError

STRUCTURED_TRIES = 3  # a reply that does not parse is asked for again, with backoff


def _check_url(base_url: str) -> str:
    url = urlparse(base_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise UserError(f"{base_url!r}: expected http(s)://HOST[:PORT]/v1", setting="base_url")
    return base_url.rstrip("/")


def _transport_errors() -> tuple[type[Exception], ...]:
    """The HTTP client errors a stream may raise while it is read (the SDK is built on
    httpx, or on httpx2 in later releases)."""
    import httpx

    errors: list[type[Exception]] = [httpx.HTTPError]
    try:
        import httpx2  # type: ignore[import-not-found]

        errors.append(httpx2.HTTPError)
    except ImportError:
        pass
    return tuple(errors)


def _is_timeout(exc: BaseException) -> bool:
    return any(t.__name__ in ("TimeoutException", "APITimeoutError") for t in type(exc).__mro__)


DONE = "[DONE]"


def _count(usage: Any, name: str) -> int:
    """A token count of a stream's `usage` object, 0 where the server gave none."""
    value = usage.get(name) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and value >= 0 else 0


def sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The data of each server-sent event of a stream, in order: `data:` lines (with or
    without a space after the colon; several make one event, joined by newlines) up to a
    blank line or the end; comments and other fields skipped."""
    data: list[str] = []
    for line in lines:
        line = line.rstrip("\r")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def _retry_after(exc: Any) -> float | None:
    """The server's Retry-After in seconds, when it gave a usable one."""
    try:
        value = float(exc.response.headers.get("retry-after", ""))
    except (AttributeError, TypeError, ValueError):
        return None
    return value if 0 < value <= 60 else None


def _timed_tokens(timings: Any) -> tuple[int, int]:
    """(prompt, generated) tokens from llama.cpp server's `timings` ({"prompt_n",
    "predicted_n", ...}), which some of its versions send in place of `usage`; (0, 0)
    when absent. The prompt count covers what the server evaluated for this request."""
    if not timings:
        return 0, 0
    get = timings.get if isinstance(timings, dict) else lambda k, d=0: getattr(timings, k, d)
    try:
        return int(get("prompt_n", 0) or 0), int(get("predicted_n", 0) or 0)
    except (TypeError, ValueError):
        return 0, 0


class OpenAIModel:
    """A ChatModel over the OpenAI chat completions API. Its prompts take the large
    budget (`agents.speaker.PromptBudget`): whole passages and the last two turns."""

    prompt_budget = "large"
    capabilities = FULL

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
    ) -> None:
        import openai

        self.name = model
        self.base_url = _check_url(base_url) if base_url else None
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if self.base_url is None:
                raise UserError("the openai backend needs OPENAI_API_KEY (or a server URL)")
            key = "not-needed"  # local servers accept any key
        self._openai = openai
        self.timeout = timeout
        self.max_retries = max_retries
        self._client = openai.OpenAI(
            api_key=key, base_url=self.base_url, timeout=timeout, max_retries=max_retries
        )
        self._schema_style = "json_schema"
        self._schema_style_known = False
        self._counter: str | None = None  # the server's token-count endpoint, once found
        self._no_counter = base_url is None  # the OpenAI API always reports usage

    def preflight(self) -> None:
        """Fail fast, before any work, when the server cannot be reached, refuses the key,
        or the base URL is not where its API lives (a 404 here that `/v1` would fix)."""
        try:
            self._client.with_options(max_retries=0, timeout=10.0).models.list()
        except self._openai.NotFoundError as exc:
            if self._api_under_v1():
                raise self._lacks_v1() from exc
            return  # some compatible servers have no /models; the first call will tell
        except self._openai.PermissionDeniedError:
            return
        except self._openai.OpenAIError as exc:
            raise self._translate(exc) from exc

    def _api_under_v1(self) -> bool:
        """Whether the server, which answered 404 at the base URL, serves the API under
        `<base URL>/v1` (its model list answers there)."""
        if self.base_url is None or urlparse(self.base_url).path.rstrip("/").endswith("/v1"):
            return False
        try:
            self._client.with_options(
                base_url=self.base_url + "/v1", max_retries=0, timeout=10.0
            ).models.list()
        except self._openai.OpenAIError:
            return False
        return True

    def _lacks_v1(self) -> UserError:
        return UserError(
            f"{self.base_url}: the server answers 404 there, but its API answers under "
            f"{self.base_url}/v1; the base URL probably lacks /v1",
            setting="base_url",
            fix={"base_url": f"{self.base_url}/v1"},
        )

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIModel(model={self.name!r}, base_url={self.base_url!r})"

    def _where(self) -> str:
        return self.base_url or "the OpenAI API"

    def _translate(self, exc: Exception) -> Exception:
        o = self._openai
        if isinstance(exc, o.APIConnectionError | o.APITimeoutError):
            return UserError(
                f"{self._where()}: cannot reach the server ({type(exc).__name__})",
                setting="base_url",
            )
        if isinstance(exc, o.AuthenticationError):
            return UserError(f"{self._where()}: the API key was refused (check OPENAI_API_KEY)")
        if isinstance(exc, o.NotFoundError):
            return self._not_found(exc)
        if isinstance(exc, o.APIStatusError):
            return ModelError(
                f"{self._where()}: HTTP {exc.status_code} from the server "
                f"(after {self.max_retries} retries)"
            )
        return exc

    def _not_found(self, exc: Any) -> UserError:
        """A 404 from a chat call: the model when the server says so (OpenAI, vLLM and
        Ollama name it), else the path: a base URL that answers 404 for every model
        probably lacks `/v1`."""
        said = f"{getattr(exc, 'message', '')} {getattr(exc, 'body', '') or ''}".lower()
        if "model" in said or self.name.lower() in said:
            return UserError(
                f"{self._where()}: model '{self.name}' not found (check the model name)"
            )
        if self.base_url is not None and self._api_under_v1():
            return self._lacks_v1()
        path = urlparse(self.base_url or "").path.rstrip("/")
        hint = "" if path.endswith("/v1") else "; the base URL probably lacks /v1"
        return UserError(
            f"{self._where()}: HTTP 404 for the chat endpoint, whatever the "
            f"model{hint} (the API root, e.g. http://HOST:PORT/v1)",
            setting="base_url",
        )

    def stream(
        self, messages: list[Message], sampling: Sampling, *, slot: str | None = None
    ) -> Iterator[str | Completion]:
        """Stream a chat completion. The reply is complete when a choice gave a finish
        reason or the stream reached `data: [DONE]` (LocalAI and some proxies never set a
        finish reason); a stream that ends with neither, stalls, is cut, or sends a chunk
        that is not JSON raises TransientModelError."""
        began = time.perf_counter()
        pieces: list[str] = []
        usage: Any = None
        kwargs: dict[str, Any] = {
            "model": self.name,
            "messages": messages,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if sampling.seed is not None:
            kwargs["seed"] = sampling.seed
        if sampling.stop:
            kwargs["stop"] = list(sampling.stop)
        try:
            response = self._client.chat.completions.with_streaming_response.create(**kwargs)
            opened = response.__enter__()
        except self._openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        finished = cut = False
        timings: Any = None
        watch = LabelCheck(sampling.stop_label) if sampling.stop_label else None
        try:
            for data in sse_data(opened.iter_lines()):
                if data.strip() == DONE:
                    finished = True  # the server says the reply is over
                    break
                chunk = json.loads(data)
                if not isinstance(chunk, dict):
                    raise ValueError("a chunk that is not a JSON object")
                if chunk.get("error"):
                    raise ValueError(f"the server reported an error mid-reply: {chunk['error']}")
                usage = chunk.get("usage") or usage
                timings = chunk.get("timings") or timings  # llama.cpp's server, without usage
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    text = delta.get("content") if isinstance(delta, dict) else None
                    if text:
                        pieces.append(text)
                        yield text
                        cut = watch is not None and watch.feed(text)
                        if cut:
                            break  # another speaker's line began: the reply is over
                    if choice.get("finish_reason"):
                        finished = True
                if cut:
                    finished = True
                    break
        except (self._openai.OpenAIError, *_transport_errors(), ValueError, AttributeError) as exc:
            # Mid-reply: a stall past the timeout, a cut connection, a chunk that is not JSON.
            why = "no data within the timeout" if _is_timeout(exc) else type(exc).__name__
            raise TransientModelError(f"{self._where()}: the reply broke off ({why})") from exc
        finally:
            try:
                response.__exit__(None, None, None)
            except Exception:  # the connection is already gone
                pass
        if not finished:
            raise TransientModelError(f"{self._where()}: the reply ended before it was complete")
        text = "".join(pieces)
        prompt_n, predicted_n = _timed_tokens(timings)
        tokens_in = _count(usage, "prompt_tokens") or prompt_n
        if not tokens_in:
            tokens_in = self._count_prompt(messages)
        yield Completion(
            text=text,
            model=self.name,
            tokens_in=tokens_in,
            tokens_out=_count(usage, "completion_tokens") or predicted_n or len(pieces),
            latency_ms=(time.perf_counter() - began) * 1000,
        )

    def _count_prompt(self, messages: list[Message]) -> int:
        """Prompt tokens of a streamed reply whose server reported none (llama-cpp-python's
        server sends no usage when streaming, a stream cut at another voice's line ends
        before it): the server's own tokenizer counts the messages' text (llama-cpp-python's
        `/extras/tokenize/count`, llama.cpp's `/tokenize`; the chat template's own tokens
        are not in it). 0 where the server has neither."""
        if self._no_counter or self.base_url is None:
            return 0
        import httpx

        root = self.base_url.removesuffix("/v1")
        text = "\n".join(m["content"] for m in messages)
        endpoints = [self._counter] if self._counter else ["llama-cpp-python", "llama.cpp"]
        for kind in endpoints:
            try:
                if kind == "llama-cpp-python":
                    url = f"{root}/extras/tokenize/count"
                    reply = httpx.post(url, json={"input": text}, timeout=5.0)
                    count = int(reply.json()["count"]) if reply.status_code == 200 else 0
                else:
                    reply = httpx.post(f"{root}/tokenize", json={"content": text}, timeout=5.0)
                    count = len(reply.json()["tokens"]) if reply.status_code == 200 else 0
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                count = 0
            if count:
                self._counter = kind
                return count
        if self._counter is None:
            self._no_counter = True  # asked once; this server cannot count
        return 0

    def _response_format(self, schema: type[T]) -> dict[str, Any]:
        body = schema.model_json_schema()
        if self._schema_style == "json_object":
            return {"type": "json_object", "schema": body}
        return {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": body, "strict": False},
        }

    def _structured_call(self, schema: type[T], kwargs: dict[str, Any]) -> Any:
        """Try the standard json_schema form once without retries; a server that rejects
        it (llama.cpp's answers 422 or 500 naming response_format) gets json_object."""
        if self._schema_style_known:
            return self._client.chat.completions.create(
                response_format=self._response_format(schema), **kwargs
            )
        try:
            reply = self._client.with_options(max_retries=0).chat.completions.create(
                response_format=self._response_format(schema), **kwargs
            )
        except self._openai.APIStatusError as exc:
            if exc.status_code == 404:
                raise  # the model or the path: no other form helps
            if "response_format" in str(exc) or exc.status_code in (400, 422):
                self._schema_style = "json_object"
            else:  # busy or failing: wait as told, then the usual retries, same form
                time.sleep(_retry_after(exc) or backoff_s(0))
            reply = self._client.chat.completions.create(
                response_format=self._response_format(schema), **kwargs
            )
        self._schema_style_known = True
        return reply

    def structured(
        self, messages: list[Message], schema: type[T], sampling: Sampling
    ) -> tuple[T, Completion]:
        began = time.perf_counter()
        kwargs: dict[str, Any] = {
            "model": self.name,
            "messages": messages,
            "temperature": sampling.temperature,
            "max_tokens": sampling.max_tokens,
        }
        if sampling.seed is not None:
            kwargs["seed"] = sampling.seed

        def once() -> tuple[T, Completion]:
            try:
                reply = self._structured_call(schema, kwargs)
            except self._openai.OpenAIError as exc:
                raise self._translate(exc) from exc
            text = (reply.choices[0].message.content if reply.choices else "") or ""
            usage = reply.usage
            completion = Completion(
                text=text,
                model=self.name,
                tokens_in=getattr(usage, "prompt_tokens", 0) or 0,
                tokens_out=getattr(usage, "completion_tokens", 0) or 0,
                latency_ms=(time.perf_counter() - began) * 1000,
            )
            return parse_structured(text, schema), completion

        # A reply that does not parse is asked for again after a jittered backoff.
        retrying = Retrying(
            retry=retry_if_exception_type(StructuredOutputError),
            stop=stop_after_attempt(STRUCTURED_TRIES),
            wait=lambda state: backoff_s(state.attempt_number - 1),
            reraise=True,
        )
        try:
            return retrying(once)
        except StructuredOutputError as last:
            raise StructuredOutputError(
                f"{self._where()}: {last} ({STRUCTURED_TRIES} tries)"
            ) from last
