"""A scripted model: a real HTTP server on 127.0.0.1 speaking OpenAI's ``POST /v1/chat/completions`` (streamed SSE
chunks or one JSON answer), so the agent loop is tested through the official ``openai`` client over a socket.

The test queues replies (text, tool calls, reasoning, an error status, per-chunk delays, a gate that holds the
last chunk) and reads back every request the server got (body, ``Authorization`` header, whether the stream was
delivered to its end or the client went away). ``fixed_latency_model`` serves a benchmark: every request is
answered with the same text after a fixed latency."""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ids = itertools.count(1)


@dataclass(frozen=True)
class Call:
    """One tool call the model makes; ``arguments`` is sent as JSON text split into pieces (as real models do)."""

    name: str
    arguments: dict[str, Any] | str
    id: str = ""  # made up when empty
    send_id: bool = True  # False: the chunks carry no id (some local servers do that)

    def json_arguments(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass
class Reply:
    """What the model answers to one request. ``status`` other than 200 answers an OpenAI error body with
    ``error``. ``gate``: the last chunk waits until the test sets it (at most ``gate_timeout`` s), so a test can
    prove the earlier chunks reached its client while the model was still "thinking"."""

    text: str = ""
    calls: tuple[Call, ...] = ()
    reasoning: str = ""
    status: int = 200
    error: str = ""
    chunk_chars: int = 4
    chunk_delay: float = 0.0
    latency: float = 0.0  # before the first byte
    gate: threading.Event | None = None
    gate_timeout: float = 10.0


def text(content: str, **options: Any) -> Reply:
    return Reply(text=content, **options)


def calls(*tool_calls: Call, content: str = "", **options: Any) -> Reply:
    return Reply(text=content, calls=tool_calls, **options)


def call(name: str, arguments: dict[str, Any] | str, **options: Any) -> Reply:
    return Reply(calls=(Call(name, arguments),), **options)


def failure(status: int, message: str) -> Reply:
    return Reply(status=status, error=message)


@dataclass
class Seen:
    """One request as the server got it, and how its answer went."""

    body: dict[str, Any]
    authorization: str
    path: str
    completed: bool = False  # every chunk was written
    disconnected: bool = False  # the client went away before the end
    gate_opened: bool | None = None  # the gate was set before the last chunk (None: no gate)
    done: threading.Event = field(default_factory=threading.Event)
    received_at: float = field(default_factory=time.perf_counter)  # for a benchmark: when the request was read
    finished_at: float = 0.0  # and when its answer ended

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def system(self) -> str:
        return "\n".join(str(m.get("content") or "") for m in self.messages if m.get("role") == "system")

    @property
    def tool_names(self) -> list[str]:
        return [tool["function"]["name"] for tool in self.body.get("tools") or []]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client closing its kept-alive connection is no error worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeLLM:
    """Serves the queued replies in order; with the queue empty it answers ``default`` (or a 500 naming the
    problem, so a test that scripted too little fails loudly)."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default
        self.requests: list[Seen] = []
        self._replies: deque[Reply | Callable[[Seen], Reply]] = deque()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """What ``OPENAI_BASE_URL`` (or a provider's ``base_url``) is set to."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply | Callable[[Seen], Reply]) -> FakeLLM:
        """Queue replies; a callable one is made from the request it answers (a model reading the tool results it
        was sent, and quoting them)."""
        with self._lock:
            self._replies.extend(replies)
        return self

    def reset(self) -> FakeLLM:
        """Forget the script and the requests seen (a model shared by several tests)."""
        with self._lock:
            self._replies.clear()
            self.requests = []
        return self

    def start(self) -> FakeLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_finished(self, index: int, timeout: float = 10.0) -> Seen:
        """Request ``index`` once its answer ended (delivered, refused or cut off by the client)."""
        deadline = time.monotonic() + timeout
        while len(self.requests) <= index:
            if time.monotonic() > deadline:
                raise AssertionError(f"the model got {len(self.requests)} requests, expected request {index}")
            time.sleep(0.01)
        seen = self.requests[index]
        if not seen.done.wait(max(0.0, deadline - time.monotonic())):
            raise AssertionError(f"request {index} did not finish in {timeout} s")
        return seen

    def _next(self, seen: Seen) -> Reply | None:
        with self._lock:
            self.requests.append(seen)
            reply = self._replies.popleft() if self._replies else self.default
        return reply(seen) if callable(reply) else reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints: a turn's calls reuse one connection
            disable_nagle_algorithm = True  # each chunk goes out now (a small last write waits ~40 ms otherwise)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                seen = Seen(body, self.headers.get("Authorization", ""), self.path)
                reply = fake._next(seen)
                try:
                    self._answer(seen, body, reply)
                except (BrokenPipeError, ConnectionResetError):
                    seen.disconnected = True
                    self.close_connection = True
                finally:
                    seen.finished_at = time.perf_counter()
                    seen.done.set()

            def _answer(self, seen: Seen, body: dict[str, Any], reply: Reply | None) -> None:
                if not self.path.endswith("/chat/completions"):
                    reply = failure(404, f"fake LLM serves /v1/chat/completions, not {self.path}")
                elif reply is None:
                    reply = failure(500, "fake LLM: no scripted reply left")
                if reply.latency:
                    time.sleep(reply.latency)
                if reply.status != 200:
                    error = {"error": {"message": reply.error, "type": "fake_error", "code": reply.status}}
                    self._send_json(reply.status, error)
                    seen.completed = True
                    return
                model = str(body.get("model", ""))
                if body.get("stream"):
                    self._stream(seen, model, reply)
                else:
                    self._send_json(200, completion(model, reply))
                    seen.completed = True

            def _send_json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, seen: Seen, model: str, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunks = list(stream_chunks(model, reply))
                for number, chunk in enumerate(chunks):
                    last = number == len(chunks) - 1
                    if last and reply.gate is not None:
                        seen.gate_opened = reply.gate.wait(reply.gate_timeout)
                    self._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
                    if reply.chunk_delay and not last:
                        time.sleep(reply.chunk_delay)
                self._write_chunk(b"data: [DONE]\n\n")
                self._write_chunk(b"")  # the end of the chunked body
                seen.completed = True

            def _write_chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        return Handler


def _pieces(value: str, size: int) -> list[str]:
    return [value[i : i + size] for i in range(0, len(value), max(1, size))] or [""]


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def stream_chunks(model: str, reply: Reply) -> Iterator[dict[str, Any]]:
    """The chunks a streaming model sends: role, reasoning and text in pieces, each tool call's id and name
    then its arguments in pieces, and a last chunk with the finish reason."""
    yield _chunk(model, {"role": "assistant", "content": ""})
    if reply.reasoning:
        for piece in _pieces(reply.reasoning, reply.chunk_chars):
            yield _chunk(model, {"reasoning_content": piece})
    if reply.text:
        for piece in _pieces(reply.text, reply.chunk_chars):
            yield _chunk(model, {"content": piece})
    for index, tool_call in enumerate(reply.calls):
        call_id = tool_call.id or f"call_{next(_ids)}"
        head: dict[str, Any] = {
            "index": index,
            "type": "function",
            "function": {"name": tool_call.name, "arguments": ""},
        }
        if tool_call.send_id:
            head["id"] = call_id
        yield _chunk(model, {"tool_calls": [head]})
        for piece in _pieces(tool_call.json_arguments(), max(reply.chunk_chars, 8)):
            yield _chunk(model, {"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield _chunk(model, {}, "tool_calls" if reply.calls else "stop")


def completion(model: str, reply: Reply) -> dict[str, Any]:
    """The non-streaming answer."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.calls:
        message["tool_calls"] = [
            {
                "id": c.id or f"call_{next(_ids)}",
                "type": "function",
                "function": {"name": c.name, "arguments": c.json_arguments()},
            }
            for c in reply.calls
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if reply.calls else "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


@contextmanager
def fake_llm(*replies: Reply, default: Reply | None = None) -> Iterator[FakeLLM]:
    """A started scripted model, stopped when the block ends."""
    model = FakeLLM(default).script(*replies).start()
    try:
        yield model
    finally:
        model.stop()


@contextmanager
def fixed_latency_model(latency_seconds: float, answer: str = "done") -> Iterator[FakeLLM]:
    """For a benchmark: every request is answered ``answer`` (streamed in one chunk) after ``latency_seconds``,
    so a chat turn's time minus this latency is what the loop adds."""
    reply = Reply(text=answer, chunk_chars=len(answer) or 1, latency=latency_seconds)
    with fake_llm(default=reply) as model:
        yield model
