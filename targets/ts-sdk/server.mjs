// MCP Streamable HTTP target on @modelcontextprotocol/sdk, written the way the SDK's own
// examples/server/simpleStreamableHttp.js is: one McpServer and one StreamableHTTPServerTransport
// per session, a session map cleaned up when the transport closes, and the SDK's
// InMemoryEventStore for resumability.
//
// Environment:
//   PORT       port on 127.0.0.1 (default 3001)
//   STORE      "per-session" (default: a new InMemoryEventStore per session) or
//              "shared" (one InMemoryEventStore for every session); `--store=shared` also works
//   RETRY_MS   if set, the transport's retryInterval (sent as `retry:` in priming events)
//   IDLE_MS    close sessions idle this long (default 1800000, as in the SDK example)
//   DEBUG      if "1", log every request to stderr
import { randomUUID } from 'node:crypto';
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';

const HOST = '127.0.0.1';
const PORT = Number.parseInt(process.env.PORT ?? '3001', 10);
const storeArg = process.argv.find(a => a.startsWith('--store='))?.slice('--store='.length);
const STORE = storeArg ?? process.env.STORE ?? 'per-session';
const RETRY_MS = process.env.RETRY_MS ? Number.parseInt(process.env.RETRY_MS, 10) : undefined;
const IDLE_MS = process.env.IDLE_MS ? Number.parseInt(process.env.IDLE_MS, 10) : 30 * 60000;
const DEBUG = process.env.DEBUG === '1';

if (STORE !== 'per-session' && STORE !== 'shared') {
    console.error(`STORE must be "per-session" or "shared", not "${STORE}"`);
    process.exit(2);
}
if (!Number.isInteger(PORT) || PORT < 1 || PORT > 65535) {
    console.error(`PORT must be a port number, not "${process.env.PORT}"`);
    process.exit(2);
}

const log = DEBUG ? (...args) => console.error(...args) : () => {};
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

// STORE=shared: the shape of a deployment that makes one store at startup and hands it to
// every transport.
const sharedEventStore = STORE === 'shared' ? new InMemoryEventStore() : undefined;

// fetch_cached: the naive cache a user writes. A plain Map at module scope, shared by every
// session, never evicted.
const cache = new Map();

const getServer = subscriptions => {
    const server = new McpServer(
        { name: 'mcp-transport-fuzz-ts-sdk-target', version: '1.0.0' },
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
        'stream',
        {
            description:
                'Sends `count` notifications carrying `size` filler bytes, `delay_ms` apart, on the ' +
                'request stream (progress notifications if the request has a progressToken, else ' +
                'logging messages), then returns',
            inputSchema: {
                count: z.number().int().min(0).max(100000).default(5).describe('Number of notifications'),
                size: z.number().int().min(0).max(16 * 1024 * 1024).default(16).describe('Filler bytes per notification'),
                delay_ms: z.number().int().min(0).max(60000).default(0).describe('Delay between notifications')
            }
        },
        async ({ count, size, delay_ms }, extra) => {
            const filler = 'x'.repeat(size);
            const progressToken = extra._meta?.progressToken;
            for (let i = 1; i <= count; i++) {
                if (progressToken !== undefined) {
                    await extra.sendNotification({
                        method: 'notifications/progress',
                        params: { progressToken, progress: i, total: count, message: filler }
                    });
                } else {
                    await extra.sendNotification({
                        method: 'notifications/message',
                        params: { level: 'info', logger: 'stream', data: { seq: i, filler } }
                    });
                }
                if (delay_ms > 0 && i < count) {
                    await sleep(delay_ms);
                }
            }
            return { content: [{ type: 'text', text: `sent ${count} notifications of ${size} bytes` }] };
        }
    );

    server.registerTool(
        'fetch_cached',
        {
            description: 'Returns the value for `key`, fetching it on the first call and caching it',
            inputSchema: { key: z.string().describe('Cache key') }
        },
        async ({ key }) => {
            let hit = true;
            if (!cache.has(key)) {
                hit = false;
                // Stands in for a slow upstream fetch.
                await sleep(2);
                cache.set(key, { key, fetchedAt: new Date().toISOString(), body: 'v'.repeat(1024) });
            }
            const value = cache.get(key);
            return { content: [{ type: 'text', text: JSON.stringify({ hit, ...value }) }] };
        }
    );

    server.registerTool(
        'subscribe',
        {
            description:
                'Subscribes this session to `topic`: `count` updates, `interval_ms` apart, arrive as ' +
                'logging messages on the session\'s standalone GET stream',
            inputSchema: {
                topic: z.string().describe('Topic name'),
                count: z.number().int().min(0).max(10000).default(3).describe('Number of updates'),
                interval_ms: z.number().int().min(1).max(60000).default(100).describe('Delay between updates')
            }
        },
        async ({ topic, count, interval_ms }) => {
            let seq = 0;
            const timer = setInterval(() => {
                seq++;
                server
                    .sendLoggingMessage({ level: 'info', logger: 'subscribe', data: { topic, seq } })
                    .catch(error => log('subscribe update failed:', error));
                if (seq >= count) {
                    clearInterval(timer);
                    subscriptions.delete(timer);
                }
            }, interval_ms);
            if (count === 0) {
                clearInterval(timer);
            } else {
                subscriptions.add(timer);
            }
            return { content: [{ type: 'text', text: `subscribed to ${topic}` }] };
        }
    );

    return server;
};

// Session id -> { transport, subscriptions, open, lastActive }
const sessions = new Map();

const trackResponse = (session, res) => {
    if (!res.socket || res.destroyed) return;
    session.open++;
    res.on('close', () => {
        session.open--;
        session.lastActive = Date.now();
    });
};

setInterval(() => {
    const cutoff = Date.now() - IDLE_MS;
    for (const { transport, open, lastActive } of sessions.values()) {
        if (open === 0 && lastActive < cutoff) transport.close().catch(error => log('close failed:', error));
    }
}, Math.min(60000, IDLE_MS)).unref();

const sessionNotFound = res =>
    res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });

const app = createMcpExpressApp({ host: HOST });

app.post('/mcp', async (req, res) => {
    const sessionId = req.headers['mcp-session-id'];
    log('POST', sessionId ?? '-', JSON.stringify(req.body));
    try {
        const session = sessionId ? sessions.get(sessionId) : undefined;
        if (session) {
            trackResponse(session, res);
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
        const subscriptions = new Set();
        const transport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            eventStore: sharedEventStore ?? new InMemoryEventStore(),
            retryInterval: RETRY_MS,
            onsessioninitialized: sid => {
                log('session initialized', sid);
                sessions.set(sid, { transport, subscriptions, open: 0, lastActive: Date.now() });
            }
        });
        transport.onclose = () => {
            for (const timer of subscriptions) clearInterval(timer);
            subscriptions.clear();
            const sid = transport.sessionId;
            if (sid && sessions.has(sid)) {
                log('session closed', sid);
                sessions.delete(sid);
            }
        };
        const server = getServer(subscriptions);
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
    log('GET', sessionId ?? '-', req.headers['last-event-id'] ?? '');
    if (!sessionId) {
        res.status(400).send('Missing session ID');
        return;
    }
    const session = sessions.get(sessionId);
    if (!session) {
        sessionNotFound(res);
        return;
    }
    trackResponse(session, res);
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
        trackResponse(session, res);
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
