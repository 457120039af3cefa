'use strict';
// Preload (node --require ./fence.cjs) that keeps server-everything on loopback:
//  - every net/http server listens on 127.0.0.1, whatever host it asked for;
//  - every outbound TCP/TLS connection to anything but a loopback address is refused, as are
//    IPC/pipe connections: net.connect, net.createConnection, tls.connect, http(s).request and
//    undici all end in net.Socket#connect, which is wrapped; fetch is also checked up front so
//    a refused URL is never even resolved;
//  - when the server is listening it prints `listening on http://127.0.0.1:PORT/mcp`;
//  - QUIET=1 silences the server's console.log/info/warn/error (one line per request).
const net = require('node:net');

const LOOPBACK_HOST = '127.0.0.1';

function isLoopback(host) {
    if (typeof host !== 'string') return false;
    const h = host.replace(/^\[|\]$/g, '').toLowerCase();
    if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
    return net.isIPv4(v4) && v4.startsWith('127.');
}

function refused(what) {
    const err = new Error(`fence.cjs: refused non-loopback connection to ${what}`);
    err.code = 'ECONNREFUSED';
    return err;
}

// --- listen: force 127.0.0.1 -------------------------------------------------------------
const origListen = net.Server.prototype.listen;
net.Server.prototype.listen = function fencedListen(...args) {
    const first = args[0];
    if (first !== null && typeof first === 'object' && !(first instanceof net.Server)) {
        if (first.path || first.handle != null || first.fd != null) {
            throw new Error('fence.cjs: only TCP listening on 127.0.0.1 is allowed');
        }
        args[0] = { ...first, host: LOOPBACK_HOST, ipv6Only: false };
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first)) || first === undefined || typeof first === 'function') {
        const port = typeof first === 'function' || first === undefined ? 0 : Number(first);
        const rest = typeof first === 'function' || first === undefined ? args : args.slice(1);
        // Drop a host argument the caller gave, keep backlog and callback.
        if (typeof rest[0] === 'string' || rest[0] === null) rest.shift();
        args = [port, LOOPBACK_HOST, ...rest];
    } else {
        throw new Error('fence.cjs: only TCP listening on 127.0.0.1 is allowed');
    }
    this.once('listening', () => {
        const addr = this.address();
        if (addr && typeof addr === 'object') {
            process.stdout.write(`listening on http://${addr.address}:${addr.port}/mcp\n`);
        }
    });
    return origListen.apply(this, args);
};

// --- outbound connections: loopback only -------------------------------------------------
const origConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function fencedConnect(...args) {
    let opts = args[0];
    if (Array.isArray(opts)) opts = opts[0]; // internal normalized form [options, cb]
    let host;
    let isPath = false;
    if (opts !== null && typeof opts === 'object') {
        if (opts.path) isPath = true; // same test as Node: `const pipe = !!path`
        host = opts.host ?? 'localhost';
    } else if (typeof opts === 'string' && !/^\d+$/.test(opts)) {
        isPath = true;
    } else {
        host = typeof args[1] === 'string' ? args[1] : 'localhost';
    }
    if (isPath || !isLoopback(host)) {
        const err = refused(isPath ? 'an IPC path' : host);
        process.nextTick(() => this.destroy(err));
        return this;
    }
    return origConnect.apply(this, args);
};

// --- fetch: loopback and data: URLs only -------------------------------------------------
if (typeof globalThis.fetch === 'function') {
    const origFetch = globalThis.fetch;
    globalThis.fetch = async function fencedFetch(input, init) {
        const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input?.url;
        let url;
        try {
            url = new URL(href);
        } catch {
            return origFetch(input, init); // let fetch report the bad URL itself
        }
        if (url.protocol !== 'data:' && !isLoopback(url.hostname)) {
            throw new TypeError('fetch failed', { cause: refused(url.host) });
        }
        return origFetch(input, init);
    };
}

// --- QUIET=1: no per-request logging -----------------------------------------------------
if (process.env.QUIET === '1') {
    const noop = () => {};
    console.log = noop;
    console.info = noop;
    console.warn = noop;
    console.error = noop;
}
