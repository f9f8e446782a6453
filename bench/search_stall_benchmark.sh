#!/usr/bin/env bash
# Whether a session search built to be slow stalls other clients
# (docs/security.md, "Session search"): the attack of the black-box review.
# Sessions owned by anonymous loopback clients hold TURNS turns of 2,000 'a'
# (bench/fill_sessions); four clients search them in a loop for 'a's
# followed by 'b' (GET /v1/sessions?limit=1000&q=...), while one client
# sends GET /health and another (with a key) POST /v1/chat one after the
# other. Prints the searches' own latency and the health and chat latency
# p50 / p99 / max without the attack, with the review's q of 2,000
# characters, and with q of 256 (the longest [sessions] search_max_chars
# allows by default, so that the search itself runs).
# Rate limits are off, so that only the search's own bounds count.
#
#   bench/search_stall_benchmark.sh [DURATION_SECONDS] [TURNS] [BINARY]
#   (defaults: 10, 800, build/release/apps/chatbot; fill_sessions is taken
#   from the same build directory)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
turns="${2:-800}"
binary="${3:-build/release/apps/chatbot}"
fill="$(dirname "$(dirname "$binary")")/bench/fill_sessions"
[ -x "$binary" ] || { echo "build first: ninja -C build/release chatbot ($binary)" >&2; exit 1; }
[ -x "$fill" ] || { echo "build first: ninja -C build/release fill_sessions ($fill)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 missing" >&2; exit 1; }
. bench/bench_lib.sh

start_work

train_svm "$work/model" "$work/logs"
sessions=$(( (turns + 19) / 20 ))
"$fill" "$work/sessions.db" "$sessions" 20 2000 >/dev/null
common=(--set paths.logs="$work/logs" --set security.database="$work/keys.db"
        --set security.admin_key_file="$work/admin.key" --set sessions.path="$work/sessions.db")
key="$("$binary" keys create --name bench --role client "${common[@]}" 2>/dev/null)"
"$binary" serve --port 0 --models "$work/model" --log-level warn "${common[@]}" \
  --set server.host=127.0.0.1 --set security.rate_limit_client=0 \
  --set security.rate_limit_anonymous=0 >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
port="$(wait_for_port "$work/serve.out" "$work/serve.err")"

echo "model: $model_name; $((sessions * 20)) turns of 2,000 'a'; 4 searching clients; \
${duration}s per phase; $(nproc) cores"
python3 - "$port" "$key" "$duration" <<'PY'
import http.client, json, sys, threading, time

port, key, duration = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])

def timed(conn, method, target, body=None, headers={}):
    start = time.perf_counter()
    conn.request(method, target, body=body, headers=headers)
    r = conn.getresponse()
    r.read()
    return (time.perf_counter() - start) * 1000, r.status

def row(name, samples, statuses):
    s = sorted(samples)
    if not s:
        print(f"| {name:<22} | {'-':>6} | {'-':>9} | {'-':>9} | {'-':>9} |")
        return
    pick = lambda p: s[min(len(s) - 1, max(0, int(-(-p * len(s) // 100)) - 1))]
    codes = ",".join(f"{c}x{n}" for c, n in sorted(statuses.items()))
    print(f"| {name:<22} | {len(s):>6} | {pick(50):>9.1f} | {pick(99):>9.1f} | {s[-1]:>9.1f} | {codes}")

def victims(results, stop):
    def health():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while not stop.is_set():
            ms, status = timed(conn, "GET", "/health")
            results["health"][0].append(ms)
            results["health"][1][status] = results["health"][1].get(status, 0) + 1
            time.sleep(0.01)
    def chat():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        session = None
        while not stop.is_set():
            body = json.dumps({"message": "where is my order", "session_id": session})
            start = time.perf_counter()
            conn.request("POST", "/v1/chat", body=body, headers={
                "Content-Type": "application/json", "Authorization": "Bearer " + key})
            r = conn.getresponse()
            data = r.read()
            results["chat"][0].append((time.perf_counter() - start) * 1000)
            results["chat"][1][r.status] = results["chat"][1].get(r.status, 0) + 1
            if r.status == 200:
                session = json.loads(data)["session_id"]
            time.sleep(0.01)
    return [threading.Thread(target=health), threading.Thread(target=chat)]

def phase(q_chars):
    attack = q_chars > 0
    search = "/v1/sessions?limit=1000&q=" + "a" * (q_chars - 1) + "b"
    results = {"health": ([], {}), "chat": ([], {}), "search": ([], {})}
    stop = threading.Event()
    threads = victims(results, stop)
    if attack:
        def attacker():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            while not stop.is_set():
                ms, status = timed(conn, "GET", search)
                results["search"][0].append(ms)
                results["search"][1][status] = results["search"][1].get(status, 0) + 1
        threads += [threading.Thread(target=attacker) for _ in range(4)]
    for t in threads: t.start()
    time.sleep(duration)
    stop.set()
    for t in threads: t.join()
    label = f"q={q_chars}" if attack else "quiet"
    for name in ("health", "chat") + (("search",) if attack else ()):
        row(f"{name} ({label})", *results[name])

print(f"| {'requests':<22} | {'count':>6} | {'p50 ms':>9} | {'p99 ms':>9} | {'max ms':>9} | statuses")
print(f"|{'-' * 24}|{'-' * 8}|{'-' * 11}|{'-' * 11}|{'-' * 11}|---------")
phase(0)
phase(2000)
phase(256)
PY
