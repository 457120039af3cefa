// MCP Streamable HTTP target on @modelcontextprotocol/sdk with classic resource bugs that can be
// switched on one at a time, for proving mcp-transport-fuzz's black-box resource oracles.
// Written the way the SDK's examples/server/simpleStreamableHttp.js is: one McpServer and one
// StreamableHTTPServerTransport per session, a session map cleaned up when the transport closes.
// There is no event store (no resumability): a store would keep every streamed event and hide
// the bugs below behind its own growth.
//
// Environment:
//   PORT              port on 127.0.0.1 (default 3004)
//   BUG               "none" (default: the correct server) or exactly one of
//                       unbounded-cache        lookup caches every document forever (no LRU bound)
//                       listener-accumulation  watch listeners are never removed from the bus
//                       interval-leak          monitor intervals outlive their session
//                       no-backpressure        stream produces regardless of whether the client reads
//                       no-abort-cleanup       stream's work goes on after the client went away,
//                                              and after its session ended
//                       no-byte-cap            stream ignores MAX_STREAM_BYTES
//                       abort-handle-leak      stream leaves its audit log handle open when it
//                                              stops early (the client gone, the byte cap)
//                       no-stream-cap          a session may hold any number of concurrent
//                                              POST response streams (no 429 past 16)
//                       no-body-limit          a POST body is read (and inflated) whole, then
//                                              measured against the 4 MiB limit
//                       inflate-unbounded      a gzip or deflate body is inflated whole, then
//                                              measured against the 4 MiB limit
//   MAX_STREAM_BYTES  cap on the serialized notification bytes of one stream call (default 8 MiB)
//   DEBUG             if "1", log every request to stderr
import { createHash, randomUUID } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { devNull } from 'node:os';
import { EventEmitter } from 'node:events';
import { createGunzip, createInflate } from 'node:zlib';
import express from 'express';
import getRawBody from 'raw-body';
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { localhostHostValidation } from '@modelcontextprotocol/sdk/server/middleware/hostHeaderValidation.js';
import { isInitializeRequest, isJSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';

const HOST = '127.0.0.1';
const BUGS = [
    'none',
    'unbounded-cache',
    'listener-accumulation',
    'interval-leak',
    'no-backpressure',
    'no-abort-cleanup',
    'no-byte-cap',
    'abort-handle-leak',
    'no-stream-cap',
    'no-body-limit',
    'inflate-unbounded'
];
const BUG = process.env.BUG || 'none';
const PORT = Number(process.env.PORT ?? '3004');
const MAX_STREAM_BYTES = Number(process.env.MAX_STREAM_BYTES ?? 8 * 1024 * 1024);
const DEBUG = process.env.DEBUG === '1';

if (!BUGS.includes(BUG)) {
    console.error(`BUG must be one of ${BUGS.join(', ')}; not "${BUG}"`);
    process.exit(2);
}
if (!Number.isInteger(PORT) || PORT < 1 || PORT > 65535) {
    console.error(`PORT must be a port number, not "${process.env.PORT}"`);
    process.exit(2);
}
if (!Number.isSafeInteger(MAX_STREAM_BYTES) || MAX_STREAM_BYTES < 1) {
    console.error(`MAX_STREAM_BYTES must be a positive integer, not "${process.env.MAX_STREAM_BYTES}"`);
    process.exit(2);
}

const log = DEBUG ? (...args) => console.error(...args) : () => {};
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

const KIB = 1024;
const MIB = 1024 * KIB;
const CACHE_ENTRIES = 8; // lookup: LRU capacity
const WATCH_CONTEXT_BYTES = 256 * KIB; // watch: per-call context pinned by the listener
const MONITOR_BUFFER_BYTES = MIB; // monitor: buffer held by each periodic job
const STREAM_BACKLOG_BYTES = MIB; // stream: most bytes left unsent to a client that does not read
const MAX_BODY_BYTES = 4 * MIB; // POST bodies, inflated or not: the SDK transport's own limit
const MAX_STREAMS_PER_SESSION = 16; // concurrent POST response streams of one session

// ---------------------------------------------------------------------------------------------
// Process-wide state

// lookup: documents by [query, size_kb]. Insertion order is recency order (a hit re-inserts).
const documentCache = new Map();

// watch: the process-wide event bus. Unlimited listeners, so Node prints no
// MaxListenersExceededWarning however many accumulate.
const bus = new EventEmitter();
bus.setMaxListeners(0);

// stream: the express response of every POSTed JSON-RPC request in flight, keyed by session id
// and request id, so a tool can see whether its client reads (backpressure) and whether it is
// still there (abort). An entry lives until its response closes.
const responses = new Map();
const responseKey = (sessionId, requestId) => `${sessionId ?? ''}\u0000${JSON.stringify(requestId)}`;

// ---------------------------------------------------------------------------------------------
// Tools

// Stands in for a slow fetch: a document of sizeKb KiB derived from the query.
const fetchDocument = async (query, sizeKb) => {
    await sleep(2);
    const unit = createHash('sha256').update(query).digest('hex');
    return Buffer.alloc(sizeKb * KIB, unit).toString('latin1');
};

// Bytes the socket under `res` has handed to the kernel so far.
const deliveredBytes = res => {
    const socket = res.socket;
    return socket ? socket.bytesWritten - socket.writableLength : 0;
};

// Waits until `res` drains, closes, or `ms` pass, whichever comes first.
const nextWriteEvent = (res, ms) =>
    new Promise(resolve => {
        const done = () => {
            clearTimeout(timer);
            res.off('drain', done);
            res.off('close', done);
            resolve();
        };
        const timer = setTimeout(done, ms);
        res.once('drain', done);
        res.once('close', done);
    });

const getServer = session => {
    const server = new McpServer(
        { name: 'mcp-transport-fuzz-leaky-node-target', version: '1.0.0' },
        { capabilities: { logging: {} } }
    );

    server.registerTool(
        'echo',
        {
            description: 'Returns its text argument',
            inputSchema: { text: z.string().describe('Text to return') }
        },
        async ({ text }) => ({ content: [{ type: 'text', text }] })
    );

    server.registerTool(
        'lookup',
        {
            description:
                'Fetches the document for `query`, `size_kb` KiB long, and returns it. Documents are ' +
                `cached (the ${CACHE_ENTRIES} most recently used)`,
            inputSchema: {
                query: z.string().describe('What to look up; each distinct query is a different document'),
                size_kb: z.number().int().min(1).max(1024).default(64).describe('Document size in KiB')
            }
        },
        async ({ query, size_kb }) => {
            const key = JSON.stringify([query, size_kb]);
            let document = documentCache.get(key);
            const hit = document !== undefined;
            if (hit) {
                if (BUG !== 'unbounded-cache') {
                    // Most recently used goes last.
                    documentCache.delete(key);
                    documentCache.set(key, document);
                }
            } else {
                document = await fetchDocument(query, size_kb);
                documentCache.set(key, document);
                if (BUG !== 'unbounded-cache') {
                    while (documentCache.size > CACHE_ENTRIES) {
                        documentCache.delete(documentCache.keys().next().value);
                    }
                }
            }
            return {
                content: [
                    { type: 'text', text: `${hit ? 'hit' : 'miss'}: ${size_kb} KiB for ${JSON.stringify(query)}` },
                    { type: 'text', text: document }
                ]
            };
        }
    );

    server.registerTool(
        'watch',
        {
            description:
                'Watches `topic` on the server-wide update bus for as long as this session lasts, ' +
                'and returns "watching TOPIC"',
            inputSchema: { topic: z.string().describe('Topic to watch') }
        },
        async ({ topic }) => {
            // Per-watch context: the listener below keeps it alive.
            const context = { topic, updates: 0, scratch: Buffer.alloc(WATCH_CONTEXT_BYTES, 0x77) };
            const listener = update => {
                if (update.topic !== context.topic) return;
                context.updates++;
                context.scratch[context.updates % context.scratch.length] ^= 1;
            };
            bus.on('update', listener);
            if (BUG !== 'listener-accumulation') session.listeners.add(listener);
            bus.emit('update', { topic, at: Date.now() });
            return { content: [{ type: 'text', text: `watching ${topic}` }] };
        }
    );

    server.registerTool(
        'monitor',
        {
            description:
                'Starts a periodic job for this session that samples a 1 MiB buffer every `interval_ms`, ' +
                'and returns at once',
            inputSchema: {
                interval_ms: z.number().int().min(10).max(60000).default(1000).describe('Period of the job')
            }
        },
        async ({ interval_ms }) => {
            const job = { ticks: 0, samples: Buffer.alloc(MONITOR_BUFFER_BYTES, 0x6d) };
            const timer = setInterval(() => {
                job.ticks++;
                job.samples[(job.ticks * 4096) % job.samples.length] ^= 0xff;
            }, interval_ms);
            if (BUG !== 'interval-leak') session.timers.add(timer);
            return { content: [{ type: 'text', text: `monitoring every ${interval_ms} ms` }] };
        }
    );

    server.registerTool(
        'stream',
        {
            description:
                'Sends `count` notifications carrying `size` filler bytes, `delay_ms` apart, on the ' +
                'request stream (progress notifications if the request has a progressToken, else ' +
                `logging messages), then returns. A stream stops with isError once it would pass ` +
                `${MAX_STREAM_BYTES} bytes of notifications`,
            inputSchema: {
                count: z.number().int().min(0).max(100000).default(5).describe('Number of notifications'),
                size: z.number().int().min(0).max(16 * MIB).default(16).describe('Filler bytes per notification'),
                delay_ms: z.number().int().min(0).max(60000).default(0).describe('Delay between notifications')
            }
        },
        async ({ count, size, delay_ms }, extra) => {
            const progressToken = extra._meta?.progressToken;
            const entry = responses.get(responseKey(extra.sessionId, extra.requestId));
            const res = entry?.res;
            const start = res ? deliveredBytes(res) : 0;
            const clientGone = () => extra.signal.aborted || (entry !== undefined && entry.closed);
            // Every stream appends to an audit log, a file handle held for the call.
            const audit = openSync(devNull, 'a');
            const closeAudit = () => closeSync(audit);
            const stopped = i => {
                if (BUG !== 'abort-handle-leak') closeAudit();
                log('stream', extra.requestId, `stopped after ${i} of ${count}: signal aborted`, extra.signal.aborted, 'response closed', entry?.closed);
                return {
                    isError: true,
                    content: [{ type: 'text', text: `client went away after ${i} of ${count} notifications` }]
                };
            };
            let sentBytes = 0;
            for (let i = 1; i <= count; i++) {
                if (BUG !== 'no-abort-cleanup' && clientGone()) return stopped(i - 1);

                const filler = 'x'.repeat(size);
                const sha256 = createHash('sha256').update(filler).digest('hex');
                const notification =
                    progressToken !== undefined
                        ? {
                              method: 'notifications/progress',
                              params: { progressToken, progress: i, total: count, message: filler }
                          }
                        : {
                              method: 'notifications/message',
                              params: { level: 'info', logger: 'stream', data: { seq: i, sha256, filler } }
                          };
                const bytes = Buffer.byteLength(JSON.stringify({ jsonrpc: '2.0', ...notification }));
                if (BUG !== 'no-byte-cap' && sentBytes + bytes > MAX_STREAM_BYTES) {
                    if (BUG !== 'abort-handle-leak') closeAudit();
                    return {
                        isError: true,
                        content: [
                            {
                                type: 'text',
                                text:
                                    `stream capped at MAX_STREAM_BYTES=${MAX_STREAM_BYTES}: sent ${i - 1} of ` +
                                    `${count} notifications (${sentBytes} bytes); the next one is ${bytes} bytes`
                            }
                        ]
                    };
                }

                if (BUG !== 'no-backpressure' && res) {
                    // Wait while more than STREAM_BACKLOG_BYTES of this stream have not reached the
                    // kernel: the SDK queues every event in an unbounded ReadableStream, which
                    // @hono/node-server drains into `res` only as fast as the socket takes it.
                    let waits = 0;
                    while (!entry.closed && sentBytes - (deliveredBytes(res) - start) > STREAM_BACKLOG_BYTES) {
                        if (waits++ === 0) log('stream', extra.requestId, `backlog at ${i} of ${count}: ${sentBytes} produced, ${deliveredBytes(res) - start} delivered`);
                        await nextWriteEvent(res, 100);
                    }
                    if (BUG !== 'no-abort-cleanup' && clientGone()) return stopped(i - 1);
                }

                if (BUG === 'no-abort-cleanup' && clientGone()) {
                    // Nobody to send to: the work is finished anyway (its result "might be asked
                    // for again"), whatever happens to the stream or the session.
                    await new Promise(resolve => setImmediate(resolve));
                    continue;
                }
                await extra.sendNotification(notification);
                writeSync(audit, `${i}\n`);
                sentBytes += bytes;

                if (delay_ms > 0 && i < count) {
                    if (BUG !== 'no-abort-cleanup' && res) {
                        await Promise.race([sleep(delay_ms), entry.closedPromise]);
                    } else {
                        await sleep(delay_ms);
                    }
                }
            }
            log('stream', extra.requestId, `sent ${count}: signal aborted`, extra.signal.aborted, 'response closed', entry?.closed);
            closeAudit();
            return { content: [{ type: 'text', text: `sent ${count} notifications of ${size} bytes` }] };
        }
    );

    return server;
};

// ---------------------------------------------------------------------------------------------
// HTTP

// Session id -> { transport, openStreams, listeners, timers }
const sessions = new Map();

const sessionNotFound = res =>
    res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });

// Remembers `res` under every request id in `body` until `res` closes.
const trackResponses = (sessionId, body, res) => {
    const requests = (Array.isArray(body) ? body : [body]).filter(m => isJSONRPCRequest(m));
    if (requests.length === 0) return;
    let markClosed;
    const entry = { res, closed: false, closedPromise: new Promise(resolve => (markClosed = resolve)) };
    const keys = requests.map(m => responseKey(sessionId, m.id));
    for (const key of keys) responses.set(key, entry);
    res.on('close', () => {
        entry.closed = true;
        markClosed();
        for (const key of keys) {
            if (responses.get(key) === entry) responses.delete(key);
        }
    });
};

const tooLarge = res =>
    res.status(413).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Request body too large' }, id: null });

// BUG=inflate-unbounded: a gzip or deflate body is inflated into memory whole, and measured only
// then. Other bodies go on to the JSON parser.
const inflateWhole = (req, res, next) => {
    const coding = String(req.headers['content-encoding'] ?? '').toLowerCase();
    if (coding !== 'gzip' && coding !== 'deflate') return next();
    const inflater = coding === 'gzip' ? createGunzip() : createInflate();
    const chunks = [];
    let length = 0;
    inflater.on('data', chunk => {
        chunks.push(chunk);
        length += chunk.length;
    });
    inflater.on('error', () => {
        if (!res.headersSent) res.status(400).json({ jsonrpc: '2.0', error: { code: -32700, message: 'Bad body' }, id: null });
    });
    inflater.on('end', () => {
        if (length > MAX_BODY_BYTES) return tooLarge(res);
        try {
            req.body = JSON.parse(Buffer.concat(chunks, length).toString('utf8'));
        } catch {
            return res.status(400).json({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
        }
        req._body = true; // the JSON parser skips a body already read
        next();
    });
    req.pipe(inflater);
};

// BUG=no-body-limit: the parser takes any size; the body is measured once it is all in memory.
const measureAfterReading = (req, res, buffer) => {
    if (buffer.length > MAX_BODY_BYTES) {
        throw Object.assign(new Error('request entity too large'), { status: 413 });
    }
};

// Refuses a POST body with `status` and closes the connection once the answer is out, so that
// no more of the body is read (express.json would read a refused body to its end first).
const refuseBody = (req, res, status, message) => {
    res.set('Connection', 'close');
    res.on('finish', () => req.socket.destroy());
    res.status(status).json({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
};

// Reads a POST body as JSON into req.body, at most MAX_BODY_BYTES: a Content-Length past it is
// refused before a byte is read, a longer body as soon as it passes it, and a gzip or deflate
// body as soon as its inflated bytes do; any other coding gets 415.
const boundedJson = async (req, res, next) => {
    if (req.method !== 'POST' || req._body) return next();
    const coding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (!['identity', 'gzip', 'deflate'].includes(coding)) {
        return refuseBody(req, res, 415, 'Content-Encoding must be gzip, deflate or identity');
    }
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
        return refuseBody(req, res, 413, 'Request body too large');
    }
    const source = coding === 'identity' ? req : req.pipe(coding === 'gzip' ? createGunzip() : createInflate());
    let raw;
    try {
        raw = await getRawBody(source, { limit: MAX_BODY_BYTES });
    } catch (error) {
        const tooLarge = error.type === 'entity.too.large';
        return refuseBody(req, res, tooLarge ? 413 : 400, tooLarge ? 'Request body too large' : 'Unreadable body');
    }
    try {
        req.body = JSON.parse(raw.toString('utf8'));
    } catch {
        return res.status(400).json({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
    }
    req._body = true;
    next();
};

// What createMcpExpressApp({ host }) builds (the Host check, then a JSON body), with a body
// reader of its own: 4 MiB (the transport's own limit, where express.json allows 100 KB), and a
// refused body is not read to its end.
const app = express();
app.use(localhostHostValidation());
if (BUG === 'no-body-limit') {
    app.use(express.json({ limit: '1gb', verify: measureAfterReading }));
} else {
    if (BUG === 'inflate-unbounded') app.use(inflateWhole);
    app.use(boundedJson);
}
// The spec: servers MUST validate the Origin header and answer an invalid one with 403 (a
// browser page must not reach a local server). createMcpExpressApp guards the Host header only.
const ALLOWED_ORIGINS = new Set([`http://${HOST}:${PORT}`, `http://localhost:${PORT}`]);
app.use((req, res, next) => {
    const origin = req.headers.origin;
    if (origin !== undefined && !ALLOWED_ORIGINS.has(origin)) {
        res.status(403).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Forbidden: Origin' }, id: null });
        return;
    }
    next();
});

app.post('/mcp', async (req, res) => {
    const sessionId = req.headers['mcp-session-id'];
    log('POST', sessionId ?? '-', JSON.stringify(req.body).slice(0, 500));
    try {
        const session = sessionId ? sessions.get(sessionId) : undefined;
        if (session) {
            const streams = (Array.isArray(req.body) ? req.body : [req.body]).some(m => isJSONRPCRequest(m));
            if (streams) {
                if (BUG !== 'no-stream-cap' && session.openStreams >= MAX_STREAMS_PER_SESSION) {
                    res.status(429).json({
                        jsonrpc: '2.0',
                        error: { code: -32000, message: `At most ${MAX_STREAMS_PER_SESSION} concurrent streams per session` },
                        id: null
                    });
                    return;
                }
                session.openStreams += 1;
                res.on('close', () => (session.openStreams -= 1));
            }
            trackResponses(sessionId, req.body, res);
            await session.transport.handleRequest(req, res, req.body);
            return;
        }
        if (sessionId) {
            sessionNotFound(res);
            return;
        }
        if (!isInitializeRequest(req.body)) {
            res.status(400).json({
                jsonrpc: '2.0',
                error: { code: -32000, message: 'Bad Request: No valid session ID provided' },
                id: null
            });
            return;
        }
        const state = { listeners: new Set(), timers: new Set() };
        const transport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: sid => {
                log('session initialized', sid);
                sessions.set(sid, { transport, openStreams: 0, ...state });
            }
        });
        transport.onclose = () => {
            for (const listener of state.listeners) bus.off('update', listener);
            state.listeners.clear();
            for (const timer of state.timers) clearInterval(timer);
            state.timers.clear();
            const sid = transport.sessionId;
            if (sid && sessions.has(sid)) {
                log('session closed', sid);
                sessions.delete(sid);
            }
        };
        const server = getServer(state);
        await server.connect(transport);
        await transport.handleRequest(req, res, req.body);
    } catch (error) {
        log('error handling POST:', error);
        if (!res.headersSent) {
            res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
        }
    }
});

app.get('/mcp', async (req, res) => {
    const sessionId = req.headers['mcp-session-id'];
    log('GET', sessionId ?? '-');
    if (!sessionId) {
        res.status(400).send('Missing session ID');
        return;
    }
    const session = sessions.get(sessionId);
    if (!session) {
        sessionNotFound(res);
        return;
    }
    await session.transport.handleRequest(req, res);
});

app.delete('/mcp', async (req, res) => {
    const sessionId = req.headers['mcp-session-id'];
    log('DELETE', sessionId ?? '-');
    if (!sessionId) {
        res.status(400).send('Missing session ID');
        return;
    }
    const session = sessions.get(sessionId);
    if (!session) {
        sessionNotFound(res);
        return;
    }
    try {
        await session.transport.handleRequest(req, res);
    } catch (error) {
        log('error handling DELETE:', error);
        if (!res.headersSent) res.status(500).send('Error processing session termination');
    }
});

const httpServer = app.listen(PORT, HOST, error => {
    if (error) {
        console.error(`failed to listen on ${HOST}:${PORT}: ${error.message}`);
        process.exit(1);
    }
    console.log(`listening on http://${HOST}:${PORT}/mcp`);
});

const shutdown = async () => {
    for (const [sid, { transport }] of sessions) {
        await transport.close().catch(() => {});
        sessions.delete(sid);
    }
    httpServer.close();
    process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
