#!/usr/bin/env bash
# Shows, from outside, that every BUG of targets/leaky-node and targets/leaky-py is visible and
# that BUG=none is clean: each check starts the server on a free port on 127.0.0.1, measures the
# server process through /proc (VmRSS, utime+stime) around a dose of work, and stops the server.
#
# Usage: targets/leaky-check.sh [node] [py]        (default: both; install them first)
# Env:   ONLY=bug1,bug2   run only these checks (default: all seven)
#        DOSE=64          N for the leak checks (warm-up N reps, then doses N, 2N, 4N)
#        SETTLE=0.7       seconds to wait before each settled RSS reading
#
# Checks (each run twice, on a fresh server: BUG=<bug> and BUG=none):
#   unbounded-cache        RSS slope over reps of: new session, lookup {fresh query, size_kb 1024}, DELETE
#   listener-accumulation  same with 4 x watch {fresh topic} per session (4 x 256 KiB)
#   interval-leak          same with monitor {interval_ms 50}
#     A rep's leak is 1 MiB. The slope is the least-squares fit of RSS sampled every 16 reps and
#     after each dose (settled), over the 4N reps after the warm-up: V8 lets garbage pile up to its
#     heap limit before a full GC, so the Node server's RSS swings by +-20 MiB even when correct.
#   no-backpressure        peak RSS growth in the 3 s after a stream {count 2000, size 65536} call
#                          whose response is not read (raw socket with a 4 KiB receive buffer)
#   no-abort-cleanup       server CPU time in 1 s after the session's DELETE, sent 0.2 s after
#                          curl (--limit-rate 20k --max-time 1) gave up on a stream
#                          {count 20000, size 65536}
#     Both run with MAX_STREAM_BYTES=1 GiB, so the byte cap does not end the stream first.
#   no-byte-cap            bytes of a stream {count 200, size 65536} read in full (13 MiB of
#                          notifications), default MAX_STREAM_BYTES (8 MiB)
#   abort-handle-leak      open descriptors other than sockets, after 8 streams {count 20000,
#                          size 65536} that curl gave up on (--max-time 0.5), minus before them
# All traffic goes to 127.0.0.1; every wait and loop is bounded; the server is stopped (TERM, then
# KILL) after each check and on exit. Prints a table; exit status 0 if every check came out as
# expected (bug visible, BUG=none clean), 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")"

SERVERS=("$@")
[[ ${#SERVERS[@]} -gt 0 ]] || SERVERS=(node py)
ALL_BUGS=(unbounded-cache listener-accumulation interval-leak no-backpressure no-abort-cleanup no-byte-cap abort-handle-leak)
IFS=, read -r -a BUGS <<<"${ONLY:-$(IFS=,; echo "${ALL_BUGS[*]}")}"
export SETTLE="${SETTLE:-0.7}"
DOSE="${DOSE:-64}"

work=$(mktemp -d)
SERVER_PID=
stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 30); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
}
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# MCP client and /proc probes (python3 standard library only)
cat >"$work/client.py" <<'PY'
import http.client, json, os, socket, sys, time, uuid

PV = "2025-06-18"
TIMEOUT = 30

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")

def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])

def post(port, body, sid=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if sid:
        headers.update({"Mcp-Session-Id": sid, "MCP-Protocol-Version": PV})
    conn.request("POST", "/mcp", json.dumps(body), headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    if resp.status >= 300:
        raise RuntimeError(f"POST {body.get('method')}: HTTP {resp.status} {data[:200]!r}")
    return resp, data

def messages(data):
    out = []
    for line in data.decode().splitlines():
        if line.startswith("data:") and line[5:].strip():
            out.append(json.loads(line[5:]))
    return out

def init(port):
    resp, _ = post(port, {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                          "params": {"protocolVersion": PV, "capabilities": {},
                                     "clientInfo": {"name": "leaky-check", "version": "1"}}})
    sid = resp.getheader("mcp-session-id")
    post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
    return sid

def delete(port, sid):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.request("DELETE", "/mcp", headers={"Mcp-Session-Id": sid, "MCP-Protocol-Version": PV})
    resp = conn.getresponse(); resp.read(); conn.close()
    if resp.status != 200:
        raise RuntimeError(f"DELETE: HTTP {resp.status}")

def call(port, sid, name, args, rid=1):
    _, data = post(port, {"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                          "params": {"name": name, "arguments": args}}, sid)
    msgs = messages(data)
    result = [m for m in msgs if m.get("id") == rid]
    if not result or "result" not in result[0]:
        raise RuntimeError(f"tools/call {name}: no result in {data[:300]!r}")
    return result[0]["result"]

def fresh(template):
    token = uuid.uuid4().hex
    return {k: (v.replace("{u}", token) if isinstance(v, str) else v) for k, v in template.items()}

def rep(port, tool, template, calls):
    sid = init(port)
    for i in range(calls):
        res = call(port, sid, tool, fresh(template), rid=i + 1)
        if res.get("isError"):
            raise RuntimeError(f"{tool} failed: {res}")
    delete(port, sid)

def cmd_dose(port, pid, tool, template, calls, n):
    """Warm-up of N reps, then cumulative doses N, 2N, 4N; a rep is: new session, CALLS calls of
    TOOL with fresh arguments, DELETE. Prints the settled RSS (KiB) after the warm-up and after
    each dose, then the least-squares slope (KiB per rep) of RSS sampled every 16 reps."""
    port, pid, calls, n = int(port), int(pid), int(calls), int(n)
    template = json.loads(template)
    settle = float(os.environ["SETTLE"])
    for _ in range(n):
        rep(port, tool, template, calls)
    time.sleep(settle)
    settled = [rss_kib(pid)]
    samples = [(0, settled[0])]
    for i in range(1, 4 * n + 1):
        rep(port, tool, template, calls)
        if i in (n, 2 * n, 4 * n):
            time.sleep(settle)
            settled.append(rss_kib(pid))
            samples.append((i, settled[-1]))
        elif i % 16 == 0:
            samples.append((i, rss_kib(pid)))
    mx = sum(x for x, _ in samples) / len(samples)
    my = sum(y for _, y in samples) / len(samples)
    slope = sum((x - mx) * (y - my) for x, y in samples) / sum((x - mx) ** 2 for x, _ in samples)
    print(" ".join(str(r) for r in settled), f"{slope:.0f}")

def cmd_unread(port, pid, count, size, hold):
    """Peak RSS growth (KiB) while a stream response is left unread."""
    port, pid, hold = int(port), int(pid), float(hold)
    sid = init(port)
    time.sleep(float(os.environ["SETTLE"]))
    before = rss_kib(pid)
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                       "params": {"name": "stream", "arguments": {"count": int(count), "size": int(size)}}})
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(TIMEOUT)
    s.connect(("127.0.0.1", port))
    s.sendall((f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
               f"Accept: application/json, text/event-stream\r\nMcp-Session-Id: {sid}\r\n"
               f"MCP-Protocol-Version: {PV}\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
    head = s.recv(4096)  # the status line and headers; the rest stays unread
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"stream: {head[:200]!r}")
    peak = before
    deadline = time.monotonic() + hold
    while time.monotonic() < deadline:
        time.sleep(0.2)
        peak = max(peak, rss_kib(pid))
    s.close()
    print(before, peak, peak - before)

def cmd_init(port):
    print(init(int(port)))

def cmd_delete(port, sid):
    delete(int(port), sid)

def cmd_cpu_window(pid, seconds):
    """CPU time (ms) the process uses in the next SECONDS of wall time."""
    pid, hz = int(pid), os.sysconf("SC_CLK_TCK")
    t0, w0 = cpu_ticks(pid), time.monotonic()
    time.sleep(float(seconds))
    t1, w1 = cpu_ticks(pid), time.monotonic()
    print((t1 - t0) * 1000 // hz, round((w1 - w0) * 1000))

def cmd_files(pid):
    # Open descriptors of the process that are not sockets.
    fds = os.listdir(f"/proc/{pid}/fd")
    print(sum(1 for fd in fds if not os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")))

def cmd_stream_summary(path):
    """Summarises a stream response body saved by curl: notifications, bytes, isError."""
    data = open(path, "rb").read()
    msgs = messages(data)
    notes = [m for m in msgs if "method" in m]
    result = [m for m in msgs if "id" in m]
    is_error = bool(result and result[0].get("result", {}).get("isError"))
    print(len(data), len(notes), "true" if is_error else ("false" if result else "none"))

cmd = sys.argv[1].replace("-", "_")
globals()["cmd_" + cmd](*sys.argv[2:])
PY
client() { python3 "$work/client.py" "$@"; }

# ---------------------------------------------------------------------------------------------
# Servers

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server SERVER BUG [VAR=VALUE...]: sets SERVER_PID and PORT
start_server() {
    local server=$1 bug=$2; shift 2
    PORT=$(free_port)
    : >"$work/out"; : >"$work/err"
    env PORT="$PORT" BUG="$bug" "$@" "leaky-$server/start.sh" >"$work/out" 2>"$work/err" &
    SERVER_PID=$!
    for _ in $(seq 200); do
        grep -q "^listening on http://127.0.0.1:$PORT/mcp" "$work/out" && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "leaky-$server BUG=$bug did not start:" >&2
    cat "$work/err" >&2
    stop_server
    return 1
}

# ---------------------------------------------------------------------------------------------
# Checks: each prints "MEASURE|FIGURE|DETAIL" for one server run

check_dose() { # tool template calls-per-rep
    local r n=$DOSE
    r=$(client dose "$PORT" "$SERVER_PID" "$1" "$2" "$3" "$n") || return 1
    read -r base r1 r2 r4 per <<<"$r"
    echo "KiB RSS per rep|$per|RSS MiB after warm-up $((base/1024)), +$n: $((r1/1024)), +$((2*n)): $((r2/1024)), +$((4*n)): $((r4/1024))"
}

check_unread() {
    local r
    r=$(client unread "$PORT" "$SERVER_PID" 2000 65536 3) || return 1
    read -r before peak growth <<<"$r"
    echo "KiB peak RSS growth, unread stream|$growth|RSS MiB $((before/1024)) -> peak $((peak/1024)) in 3 s"
}

check_abort() {
    local sid got r cpu wall
    sid=$(client init "$PORT") || return 1
    got=$(curl -s -N -o /dev/null -w '%{size_download}' --limit-rate 20k --max-time 1 \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-06-18' \
        -d '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"stream","arguments":{"count":20000,"size":65536}}}' \
        "http://127.0.0.1:$PORT/mcp" || true)
    sleep 0.2
    client delete "$PORT" "$sid" || return 1
    r=$(client cpu-window "$SERVER_PID" 1) || return 1
    read -r cpu wall <<<"$r"
    echo "CPU ms in 1 s after the session's DELETE|$cpu|curl read ${got} B before --max-time; window $wall ms"
}

check_bytes() {
    local sid r
    sid=$(client init "$PORT") || return 1
    curl -s -N -o "$work/body" --max-time 60 \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-06-18' \
        -d '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"stream","arguments":{"count":200,"size":65536}}}' \
        "http://127.0.0.1:$PORT/mcp" || return 1
    r=$(client stream-summary "$work/body") || return 1
    read -r bytes notes iserr <<<"$r"
    client delete "$PORT" "$sid" || return 1
    echo "KiB of stream body|$((bytes/1024))|$notes notifications, isError $iserr"
}

check_handles() {
    local sid before after
    sid=$(client init "$PORT") || return 1
    sleep 0.3
    before=$(client files "$SERVER_PID") || return 1
    for _ in $(seq 8); do
        curl -s -N -o /dev/null --limit-rate 20k --max-time 0.5 \
            -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
            -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-06-18' \
            -d '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"stream","arguments":{"count":20000,"size":65536}}}' \
            "http://127.0.0.1:$PORT/mcp" || true
    done
    sleep 1
    after=$(client files "$SERVER_PID") || return 1
    client delete "$PORT" "$sid" || return 1
    echo "descriptors (not sockets) gained over 8 aborted streams|$((after - before))|$before before, $after after"
}

run_check() { # server bug-mode check-name
    local server=$1 mode=$2 check=$3 env=()
    case $check in
        no-backpressure | no-abort-cleanup | abort-handle-leak) env=(MAX_STREAM_BYTES=1073741824) ;;
    esac
    start_server "$server" "$mode" "${env[@]}" || { echo "?|NA|server did not start"; return; }
    case $check in
        unbounded-cache) check_dose lookup '{"query":"q-{u}","size_kb":1024}' 1 ;;
        listener-accumulation) check_dose watch '{"topic":"t-{u}"}' 4 ;;
        interval-leak) check_dose monitor '{"interval_ms":50}' 1 ;;
        no-backpressure) check_unread ;;
        no-abort-cleanup) check_abort ;;
        no-byte-cap) check_bytes ;;
        abort-handle-leak) check_handles ;;
    esac || echo "?|NA|check failed; server stderr: $(tail -n 1 "$work/err")"
    stop_server
}

# expected BUG-FIGURE NONE-FIGURE CHECK: is the bug visible and the correct server clean?
expected() {
    local bug=$1 none=$2 check=$3
    [[ $bug =~ ^-?[0-9]+$ && $none =~ ^-?[0-9]+$ ]] || return 1
    case $check in
        unbounded-cache | interval-leak | listener-accumulation)
            ((bug >= 700 && none <= 300)) ;; # the bug holds 1024 KiB per rep
        no-backpressure) ((bug >= 4 * none && bug - none >= 32768)) ;;    # 125 MiB written vs ~1 MiB
        no-abort-cleanup) ((bug >= 300 && none <= 50)) ;;                # busy vs idle
        no-byte-cap) ((bug > 8192 && none <= 8192)) ;;                    # 8 MiB cap
        abort-handle-leak) ((bug >= 8 && none <= 0)) ;;                   # one handle per abort
    esac
}

rows=()
status=0
for server in "${SERVERS[@]}"; do
    [[ -d "leaky-$server" ]] || { echo "no server leaky-$server" >&2; exit 2; }
    for bug in "${BUGS[@]}"; do
        echo "leaky-$server: $bug ..." >&2
        run_check "$server" "$bug" "$bug" >"$work/line"
        with=$(cat "$work/line")
        run_check "$server" none "$bug" >"$work/line"
        without=$(cat "$work/line")
        IFS='|' read -r measure fbug dbug <<<"$with"
        IFS='|' read -r _ fnone dnone <<<"$without"
        if expected "$fbug" "$fnone" "$bug"; then verdict=ok; else verdict=UNEXPECTED; status=1; fi
        rows+=("leaky-$server|$bug|$measure|$fbug|$fnone|$verdict|bug: $dbug; none: $dnone")
    done
done

echo
{
    echo "server|BUG|measure|BUG=bug|BUG=none|verdict|detail"
    printf '%s\n' "${rows[@]}"
} | column -t -s '|'
exit $status
