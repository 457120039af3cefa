"""MCP Streamable HTTP target on the Python SDK (PyPI `mcp`), for mcp-transport-fuzz.

Written the way the SDK's examples are: an `MCPServer` with decorated tools, served by the SDK's
streamable-http app (the same app `MCPServer.run("streamable-http", ...)` builds), with an
in-memory `EventStore` modelled on the SDK repository's example store
(examples/servers/sse-polling-demo/mcp_sse_polling_demo/event_store.py).

The SDK hands one event store to every session's transport, so this target is always the
"shared store" shape.

Environment:
  PORT                   port on 127.0.0.1 (default 3003)
  MAX_EVENTS_PER_STREAM  events kept per stream by the store (default 100, as in the example)
  RETRY_MS               if set, the transport's retry_interval (sent as `retry:` in priming events)
  LOG_LEVEL              server log level (default WARNING; INFO logs every request)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import warnings
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Literal, cast
from uuid import uuid4

import uvicorn
from pydantic import Field

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import JSONRPCMessage

# Logging notifications are deprecated from protocol 2026-07-28 on; this target still sends them.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

HOST = "127.0.0.1"
PATH = "/mcp"


@dataclass
class EventEntry:
    event_id: EventId
    stream_id: StreamId
    message: JSONRPCMessage | None  # None for priming events


class InMemoryEventStore(EventStore):
    """Keeps the last `max_events_per_stream` events of every stream in memory.

    Same shape as the SDK repository's example store: a deque per stream id plus an index from
    event id to entry. Nothing is ever dropped when a session ends.
    """

    def __init__(self, max_events_per_stream: int = 100) -> None:
        self.max_events_per_stream = max_events_per_stream
        self.streams: dict[StreamId, deque[EventEntry]] = {}
        self.event_index: dict[EventId, EventEntry] = {}

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        event_id = str(uuid4())
        entry = EventEntry(event_id=event_id, stream_id=stream_id, message=message)
        if stream_id not in self.streams:
            self.streams[stream_id] = deque(maxlen=self.max_events_per_stream)
        stream = self.streams[stream_id]
        if len(stream) == self.max_events_per_stream:
            self.event_index.pop(stream[0].event_id, None)
        stream.append(entry)
        self.event_index[event_id] = entry
        return event_id

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        last = self.event_index.get(last_event_id)
        if last is None:
            return None
        found_last = False
        for entry in self.streams.get(last.stream_id, deque()):
            if found_last:
                if entry.message is not None:  # priming events are not replayed
                    await send_callback(EventMessage(entry.message, entry.event_id))
            elif entry.event_id == last_event_id:
                found_last = True
        return last.stream_id


LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING").upper()

mcp = MCPServer(
    "mcp-transport-fuzz-py-sdk-target",
    log_level=cast(Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], LOG_LEVEL),
)

# fetch_cached: the naive cache a user writes. A plain dict at module scope, shared by every
# session, never evicted.
cache: dict[str, dict[str, str]] = {}

# Background subscription tasks; a reference is kept so they are not garbage-collected.
subscription_tasks: set[asyncio.Task[None]] = set()


@mcp.tool()
async def echo(text: str) -> str:
    """Returns its text argument."""
    return text


@mcp.tool()
async def stream(
    ctx: Context,
    count: Annotated[int, Field(ge=0, le=100_000, description="Number of notifications")] = 5,
    size: Annotated[int, Field(ge=0, le=16 * 1024 * 1024, description="Filler bytes per notification")] = 16,
    delay_ms: Annotated[int, Field(ge=0, le=60_000, description="Delay between notifications")] = 0,
) -> str:
    """Sends `count` notifications carrying `size` filler bytes, `delay_ms` apart, on the request
    stream (progress notifications if the request has a progressToken, else logging messages),
    then returns."""
    filler = "x" * size
    meta = ctx.request_context.meta or {}
    has_token = meta.get("progress_token", meta.get("progressToken")) is not None
    for i in range(1, count + 1):
        if has_token:
            await ctx.report_progress(i, count, filler)
        else:
            await ctx.log("info", {"seq": i, "filler": filler}, logger_name="stream")
        if delay_ms > 0 and i < count:
            await asyncio.sleep(delay_ms / 1000)
    return f"sent {count} notifications of {size} bytes"


@mcp.tool()
async def fetch_cached(key: str) -> str:
    """Returns the value for `key`, fetching it on the first call and caching it."""
    hit = True
    if key not in cache:
        hit = False
        await asyncio.sleep(0.002)  # stands in for a slow upstream fetch
        cache[key] = {"key": key, "fetchedAt": datetime.now(timezone.utc).isoformat(), "body": "v" * 1024}
    return json.dumps({"hit": hit, **cache[key]})


@mcp.tool()
async def subscribe(
    ctx: Context,
    topic: str,
    count: Annotated[int, Field(ge=0, le=10_000, description="Number of updates")] = 3,
    interval_ms: Annotated[int, Field(ge=1, le=60_000, description="Delay between updates")] = 100,
) -> str:
    """Subscribes this session to `topic`: `count` updates, `interval_ms` apart, arrive as logging
    messages on the session's standalone GET stream."""
    session = ctx.session

    async def publish() -> None:
        try:
            for seq in range(1, count + 1):
                await asyncio.sleep(interval_ms / 1000)
                # No related_request_id: the message goes on the standalone GET stream.
                await session.send_log_message(level="info", data={"topic": topic, "seq": seq}, logger="subscribe")
        except Exception:  # the session went away
            pass

    if count > 0:
        task = asyncio.get_running_loop().create_task(publish())
        subscription_tasks.add(task)
        task.add_done_callback(subscription_tasks.discard)
    return f"subscribed to {topic}"


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
    port = int(os.environ.get("PORT", "3003"))
    retry_ms = os.environ.get("RETRY_MS")
    event_store = InMemoryEventStore(int(os.environ.get("MAX_EVENTS_PER_STREAM", "100")))
    # What mcp.run("streamable-http", host=HOST, port=port, event_store=event_store) does, with a
    # uvicorn.Server that reports when it is listening.
    app = mcp.streamable_http_app(
        streamable_http_path=PATH,
        event_store=event_store,
        retry_interval=int(retry_ms) if retry_ms else None,
        host=HOST,
    )
    config = uvicorn.Config(app, host=HOST, port=port, log_level=LOG_LEVEL.lower())
    server = ReadyServer(config)
    asyncio.run(server.serve())
    if not server.started:
        sys.exit(1)


if __name__ == "__main__":
    main()
