"""MCP Streamable HTTP target on the Python SDK (PyPI `mcp`) with classic resource bugs that can be
switched on one at a time, for proving mcp-transport-fuzz's black-box resource oracles.

Written the way the SDK's examples are: an `MCPServer` with decorated tools, served by the SDK's
streamable-http app (the same app `MCPServer.run("streamable-http", ...)` builds) under uvicorn.
There is no event store: a store would keep every streamed event and hide the bugs below behind
its own growth.

Environment:
  PORT              port on 127.0.0.1 (default 3005)
  BUG               "none" (default: the correct server) or exactly one of
                      unbounded-cache        lookup caches every document forever (no LRU bound)
                      listener-accumulation  watch callbacks are never removed from the bus
                      interval-leak          monitor tasks outlive their session
                      no-backpressure        stream produces regardless of whether the client reads
                      no-abort-cleanup       stream's work goes on after the client went away,
                                             and after its session ended
                      no-byte-cap            stream ignores MAX_STREAM_BYTES
                      abort-handle-leak      stream leaves its audit log handle open when it
                                             stops early (the client gone, the byte cap)
                      no-stream-cap          a session may hold any number of concurrent
                                             POST response streams (no 429 past 16)
                      no-body-limit          a POST body is read (and inflated) whole, then
                                             measured against the 4 MiB limit
                      inflate-unbounded      a gzip or deflate body is inflated whole, then
                                             measured against the 4 MiB limit
  MAX_STREAM_BYTES  cap on the serialized notification bytes of one stream call (default 8 MiB)
  LOG_LEVEL         server and uvicorn log level (default WARNING)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import time
import warnings
import zlib
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Annotated, Any, Literal, cast

import uvicorn
from pydantic import Field

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPDeprecationWarning

# Logging notifications are deprecated from protocol 2026-07-28 on; this target still sends them.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

HOST = "127.0.0.1"
PATH = "/mcp"
BUGS = (
    "none",
    "unbounded-cache",
    "listener-accumulation",
    "interval-leak",
    "no-backpressure",
    "no-abort-cleanup",
    "no-byte-cap",
    "abort-handle-leak",
    "no-stream-cap",
    "no-body-limit",
    "inflate-unbounded",
)

KIB = 1024
MIB = 1024 * KIB
CACHE_ENTRIES = 8  # lookup: LRU capacity
WATCH_CONTEXT_BYTES = 256 * KIB  # watch: per-call context pinned by the callback
MONITOR_BUFFER_BYTES = MIB  # monitor: buffer held by each periodic job
MAX_BODY_BYTES = 4 * MIB  # POST bodies, inflated or not (the TypeScript SDK's limit)
MAX_STREAMS_PER_SESSION = 16  # concurrent POST response streams of one session


def fail_config(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
    sys.exit(2)


BUG = os.environ.get("BUG") or "none"
if BUG not in BUGS:
    fail_config(f"BUG must be one of {', '.join(BUGS)}; not {BUG!r}")
try:
    MAX_STREAM_BYTES = int(os.environ.get("MAX_STREAM_BYTES", str(8 * MIB)))
except ValueError:
    MAX_STREAM_BYTES = 0
if MAX_STREAM_BYTES < 1:
    fail_config(f"MAX_STREAM_BYTES must be a positive integer, not {os.environ.get('MAX_STREAM_BYTES')!r}")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING").upper()

mcp = MCPServer(
    "mcp-transport-fuzz-leaky-py-target",
    log_level=cast(Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], LOG_LEVEL),
)

# ---------------------------------------------------------------------------------------------
# Process-wide state

# lookup: documents by (query, size_kb), least recently used first.
document_cache: OrderedDict[tuple[str, int], str] = OrderedDict()

# watch: the process-wide update bus, a plain list of callbacks.
update_listeners: list[Callable[[dict[str, Any]], None]] = []

# monitor: the running jobs; a reference is kept so they are not garbage-collected.
monitor_tasks: set[asyncio.Task[None]] = set()

# stream (BUG=no-backpressure): notifications handed off without waiting for them.
pending_sends: set[asyncio.Task[None]] = set()
# BUG=no-abort-cleanup: work whose client went away, kept running (and referenced) here.
pending_work: set[asyncio.Task[None]] = set()


def session_teardown(ctx: Context) -> AsyncExitStack:
    """The exit stack the SDK unwinds when this request's session ends (DELETE, idle timeout or
    crash). `MCPServer`'s `Context` does not expose the `Connection` in mcp 2.3.0, so this reaches
    through the request's `ServerSession`; `Connection.exit_stack` is documented for exactly this
    ("push cleanup from handlers or middleware")."""
    return ctx.session._connection.exit_stack  # pyright: ignore[reportPrivateUsage]


# ---------------------------------------------------------------------------------------------
# Tools


@mcp.tool()
async def echo(text: Annotated[str, Field(description="Text to return")]) -> str:
    """Returns its text argument."""
    return text


async def fetch_document(query: str, size_kb: int) -> str:
    """Stands in for a slow fetch: a document of `size_kb` KiB derived from the query."""
    await asyncio.sleep(0.002)
    unit = hashlib.sha256(query.encode()).hexdigest()
    size = size_kb * KIB
    return (unit * (size // len(unit) + 1))[:size]


@mcp.tool(structured_output=False)
async def lookup(
    query: Annotated[str, Field(description="What to look up; each distinct query is a different document")],
    size_kb: Annotated[int, Field(ge=1, le=1024, description="Document size in KiB")] = 64,
) -> list[str]:
    """Fetches the document for `query`, `size_kb` KiB long, and returns it. Documents are cached
    (the 8 most recently used)."""
    key = (query, size_kb)
    document = document_cache.get(key)
    hit = document is not None
    if document is not None:
        if BUG != "unbounded-cache":
            document_cache.move_to_end(key)
    else:
        document = await fetch_document(query, size_kb)
        document_cache[key] = document
        if BUG != "unbounded-cache":
            while len(document_cache) > CACHE_ENTRIES:
                document_cache.popitem(last=False)
    return [f"{'hit' if hit else 'miss'}: {size_kb} KiB for {json.dumps(query)}", document]


@mcp.tool()
async def watch(ctx: Context, topic: Annotated[str, Field(description="Topic to watch")]) -> str:
    """Watches `topic` on the server-wide update bus for as long as this session lasts, and
    returns "watching TOPIC"."""
    # Per-watch context: the callback below keeps it alive.
    context: dict[str, Any] = {"topic": topic, "updates": 0, "scratch": bytearray(b"w") * WATCH_CONTEXT_BYTES}

    def on_update(update: dict[str, Any]) -> None:
        if update["topic"] != context["topic"]:
            return
        context["updates"] += 1
        scratch = context["scratch"]
        scratch[context["updates"] % len(scratch)] ^= 1

    update_listeners.append(on_update)
    if BUG != "listener-accumulation":
        session_teardown(ctx).callback(update_listeners.remove, on_update)
    update = {"topic": topic, "at": time.time()}
    for listener in list(update_listeners):
        listener(update)
    return f"watching {topic}"


@mcp.tool()
async def monitor(
    ctx: Context,
    interval_ms: Annotated[int, Field(ge=10, le=60_000, description="Period of the job")] = 1000,
) -> str:
    """Starts a periodic job for this session that samples a 1 MiB buffer every `interval_ms`, and
    returns at once."""

    async def job() -> None:
        samples = bytearray(b"m") * MONITOR_BUFFER_BYTES
        ticks = 0
        while True:
            await asyncio.sleep(interval_ms / 1000)
            ticks += 1
            samples[(ticks * 4096) % len(samples)] ^= 0xFF

    task = asyncio.get_running_loop().create_task(job())
    monitor_tasks.add(task)
    task.add_done_callback(monitor_tasks.discard)
    if BUG != "interval-leak":
        session_teardown(ctx).callback(task.cancel)
    return f"monitoring every {interval_ms} ms"


async def finish_anyway(start: int, count: int, size: int) -> None:
    """BUG=no-abort-cleanup: builds and hashes the notifications `start..=count` that nobody
    will receive."""
    for _ in range(start, count + 1):
        hashlib.sha256(("x" * size).encode()).hexdigest()
        await asyncio.sleep(0)


@mcp.tool()
async def stream(
    ctx: Context,
    count: Annotated[int, Field(ge=0, le=100_000, description="Number of notifications")] = 5,
    size: Annotated[int, Field(ge=0, le=16 * MIB, description="Filler bytes per notification")] = 16,
    delay_ms: Annotated[int, Field(ge=0, le=60_000, description="Delay between notifications")] = 0,
) -> str:
    """Sends `count` notifications carrying `size` filler bytes, `delay_ms` apart, on the request
    stream (progress notifications if the request has a progressToken, else logging messages),
    then returns. A stream stops with isError once it would pass MAX_STREAM_BYTES (default 8 MiB)
    of notifications."""
    meta = ctx.request_context.meta or {}
    progress_token = meta.get("progress_token", meta.get("progressToken"))
    # The starlette Request of this POST; its receive channel reports the client's disconnect.
    request = ctx.request_context.request
    check_abort = BUG != "no-abort-cleanup" and request is not None

    async def client_gone() -> bool:
        return check_abort and await request.is_disconnected()

    async def pause(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))
            if await client_gone():
                return

    sends: list[asyncio.Task[None]] = []
    sent_bytes = 0
    next_notification = 1
    # Every stream appends to an audit log, a descriptor held for the call (a raw one, which
    # nothing closes for us).
    audit = os.open(os.devnull, os.O_WRONLY | os.O_APPEND)
    try:
        for i in range(1, count + 1):
            if await client_gone():
                raise ToolError(f"client went away after {i - 1} of {count} notifications")

            filler = "x" * size
            sha256 = hashlib.sha256(filler.encode()).hexdigest()
            if progress_token is not None:
                method = "notifications/progress"
                params: dict[str, Any] = {
                    "progressToken": progress_token,
                    "progress": i,
                    "total": count,
                    "message": filler,
                }
            else:
                method = "notifications/message"
                params = {"level": "info", "logger": "stream", "data": {"seq": i, "sha256": sha256, "filler": filler}}
            size_bytes = len(json.dumps({"jsonrpc": "2.0", "method": method, "params": params}, separators=(",", ":")))
            if BUG != "no-byte-cap" and sent_bytes + size_bytes > MAX_STREAM_BYTES:
                raise ToolError(
                    f"stream capped at MAX_STREAM_BYTES={MAX_STREAM_BYTES}: sent {i - 1} of {count} "
                    f"notifications ({sent_bytes} bytes); the next one is {size_bytes} bytes"
                )

            if BUG == "no-abort-cleanup" and request is not None and await request.is_disconnected():
                # Nobody to send to: the rest of the work is finished anyway (its result "might
                # be asked for again"), in the background, whatever happens to the session.
                work = asyncio.get_running_loop().create_task(finish_anyway(i, count, size))
                pending_work.add(work)
                work.add_done_callback(pending_work.discard)
                raise ToolError(f"client went away after {i - 1} of {count} notifications")

            if progress_token is not None:
                send = ctx.report_progress(i, count, filler)
            else:
                send = ctx.log("info", params["data"], logger_name="stream")
            if BUG == "no-backpressure":
                # Hand the notification off and go on producing: nothing waits for the client.
                task = asyncio.get_running_loop().create_task(send)
                pending_sends.add(task)
                task.add_done_callback(pending_sends.discard)
                sends.append(task)
            else:
                # The SDK's send waits while the request's stream is full, so this loop goes only
                # as fast as the client reads.
                await send
            sent_bytes += size_bytes
            next_notification = i + 1
            os.write(audit, b"%d\n" % i)

            if delay_ms > 0 and i < count:
                await pause(delay_ms / 1000)
    except BaseException as stopped:
        # A call that stops early (the byte cap, the client gone, a failed send) closes its
        # handle here; the bug closes it only on success.
        if BUG != "abort-handle-leak":
            os.close(audit)
        if BUG == "no-abort-cleanup" and isinstance(stopped, asyncio.CancelledError):
            # The SDK cancelled the call (a 2026-07-28 client closed its stream, which cancels
            # the request): the rest of the work is finished anyway, as above.
            work = asyncio.get_running_loop().create_task(finish_anyway(next_notification, count, size))
            pending_work.add(work)
            work.add_done_callback(pending_work.discard)
        raise
    finally:
        if sends:
            await asyncio.gather(*sends, return_exceptions=True)
    os.close(audit)
    return f"sent {count} notifications of {size} bytes"


# ---------------------------------------------------------------------------------------------
# HTTP guards: the SDK's app reads a POST body whole (`await request.body()`) and lets a session
# hold any number of streams, so these ASGI middlewares bound both, as a careful deployment does.

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]


async def refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"jsonrpc": "2.0", "error": {"code": -32000, "message": message}, "id": None}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class TooLarge(Exception):
    pass


class BodyLimit:
    """Reads a POST body before the app does: refused with 413 when its Content-Length passes
    MAX_BODY_BYTES (before a byte is read), or as soon as the bytes read or inflated pass it; a
    gzip or deflate body is inflated with its output bounded, and any other coding gets 415.
    BUG=no-body-limit reads and inflates the whole body first and measures it then;
    BUG=inflate-unbounded bounds the bytes read but inflates the whole body first."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        coding = headers.get(b"content-encoding", b"identity").decode("latin-1").strip().lower()
        wbits = {"gzip": 31, "deflate": 15, "identity": None}
        if coding not in wbits:
            await refuse(send, 415, "Content-Encoding must be gzip, deflate or identity")
            return
        wire_limit = None if BUG == "no-body-limit" else MAX_BODY_BYTES
        inflate_limit = None if BUG in ("no-body-limit", "inflate-unbounded") else MAX_BODY_BYTES
        announced = headers.get(b"content-length", b"").decode("latin-1")
        if wire_limit is not None and announced.isdigit() and int(announced) > wire_limit:
            await refuse(send, 413, "Request body too large")
            return
        inflater = zlib.decompressobj(wbits[coding]) if wbits[coding] else None
        body = bytearray()
        wire = 0
        try:
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return
                chunk = message.get("body", b"")
                more = message.get("more_body", False)
                wire += len(chunk)
                if wire_limit is not None and wire > wire_limit:
                    raise TooLarge
                if inflater is None:
                    body += chunk
                elif inflate_limit is None:
                    body += inflater.decompress(chunk)
                else:
                    body += inflater.decompress(chunk, inflate_limit + 1 - len(body))
                    if len(body) > inflate_limit or inflater.unconsumed_tail:
                        raise TooLarge
            if len(body) > MAX_BODY_BYTES:
                raise TooLarge
        except TooLarge:
            await refuse(send, 413, "Request body too large")
            return
        except zlib.error:
            await refuse(send, 400, "The body is not valid in its Content-Encoding")
            return
        scope = dict(scope)
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")]
        scope["headers"].append((b"content-length", str(len(body)).encode()))
        whole = bytes(body)
        del body
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": whole, "more_body": False}

        await self.app(scope, replay, send)


class StreamCap:
    """Answers 429 to a POST of a session that already holds MAX_STREAMS_PER_SESSION requests in
    flight (each is a response stream until its response ends); BUG=no-stream-cap lets a
    session hold any number."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.open: dict[bytes, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = dict(scope.get("headers", [])).get(b"mcp-session-id") if scope["type"] == "http" else None
        if session is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        held = self.open.get(session, 0)
        if BUG != "no-stream-cap" and held >= MAX_STREAMS_PER_SESSION:
            await refuse(send, 429, f"At most {MAX_STREAMS_PER_SESSION} concurrent streams per session")
            return
        self.open[session] = held + 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open[session] -= 1
            if self.open[session] == 0:
                del self.open[session]


# ---------------------------------------------------------------------------------------------
# Serving


class ReadyServer(uvicorn.Server):
    """uvicorn.Server that prints the ready line once its socket is bound."""

    async def startup(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
        await super().startup(sockets=sockets)
        if self.started:
            for server in self.servers:
                for sock in server.sockets:
                    host, port = sock.getsockname()[:2]
                    print(f"listening on http://{host}:{port}{PATH}", flush=True)


def main() -> None:
    port = int(os.environ.get("PORT", "3005"))
    # What mcp.run("streamable-http", host=HOST, port=port) does, with a uvicorn.Server that
    # reports when it is listening, behind the guards above.
    app = StreamCap(BodyLimit(mcp.streamable_http_app(streamable_http_path=PATH, host=HOST)))
    config = uvicorn.Config(app, host=HOST, port=port, log_level=LOG_LEVEL.lower())
    server = ReadyServer(config)
    asyncio.run(server.serve())
    if not server.started:
        sys.exit(1)


if __name__ == "__main__":
    main()
