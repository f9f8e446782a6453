# What the benchmark scripts share (sourced, not run): training the SVM they
# serve, waiting for a `chatbot serve` started on --port 0 to listen, and
# the wrk script of /v1/parse requests.
# Expects $binary (the chatbot executable) to be set.

# train_svm MODELS_DIR LOGS_DIR: the CLINC150 SVM when ../shared has it, else
# the default domain's; sets $model_name. Exits with the trainer's errors.
train_svm() {
  local models="$1" logs="$2" clinc=../shared/datasets/clinc150 data=()
  if [ -f "$clinc/train.jsonl" ]; then
    model_name="CLINC150 SVM"
    data=(--data "$clinc/train.jsonl" --validation "$clinc/val.jsonl")
  else
    model_name="default-domain SVM (../shared absent)"
  fi
  "$binary" train --models "$models" "${data[@]}" --set paths.logs="$logs" --log-level warn \
    >/dev/null 2>"$logs.train.err" || { cat "$logs.train.err" >&2; exit 1; }
}

# wait_for_port SERVE_OUT SERVE_ERR: waits (up to 10 s) for the server's
# "listening on" line and prints its port; exits with its errors when none.
wait_for_port() {
  local out="$1" err="$2" port
  for _ in $(seq 200); do
    grep -q "listening on" "$out" 2>/dev/null && break
    sleep 0.05
  done
  port="$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$out")"
  [ -n "$port" ] || { cat "$err" >&2; exit 1; }
  echo "$port"
}

# write_parse_script FILE: a wrk script that POSTs /v1/parse bodies, cycling
# through eight texts of CLINC150's kind, or, with PARSE_DATA set to a JSON
# Lines file, through the "text" of each of its lines (a cascade then meets
# its share of texts the SVM is unsure of, as in real traffic).
write_parse_script() {
  {
    echo 'wrk.method = "POST"'
    echo 'wrk.headers["Content-Type"] = "application/json"'
    if [ -n "${PARSE_DATA:-}" ]; then
      cat <<'LUA'
local texts = {}
for line in io.lines(os.getenv("PARSE_DATA")) do
  local text = line:match('"text"%s*:%s*"(.-[^\\])"')
  if text then texts[#texts + 1] = text end
end
LUA
    else
      cat <<'LUA'
local texts = {"what is my bank balance", "book a flight to paris tomorrow",
  "how do i say thank you in french", "set an alarm for 7 am", "where is my package",
  "what's the weather like today", "can you recommend a good restaurant nearby",
  "please transfer 100 dollars to my savings account"}
LUA
    fi
    cat <<'LUA'
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, '{"text":"' .. texts[(i % #texts) + 1] .. '"}')
end
LUA
  } >"$1"
}

# start_work: a fresh temporary directory in $work, removed on exit after the
# server whose pid is in $server_pid (when set) is stopped.
start_work() {
  work="$(mktemp -d)"
  server_pid=""
  trap cleanup_work EXIT
}
cleanup_work() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}

# write_chat_lua FILE [SESSION_ID...]: a wrk script of POST /v1/chat turns
# cycling through six customer messages; each request continues one of the
# given sessions in turn, or, with none given, opens a new session.
write_chat_lua() {
  local file="$1"
  shift
  {
    echo 'local sessions = {'
    for s in "$@"; do echo "  \"$s\","; done
    echo '}'
    cat <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local texts = {"where is my order", "can i pay with paypal", "i want to return my boots",
  "what are your opening hours", "my parcel is late", "thanks a lot"}
local i = 0
request = function()
  i = i + 1
  local session = ""
  if #sessions > 0 then
    session = '"session_id":"' .. sessions[(i % #sessions) + 1] .. '",'
  end
  return wrk.format(nil, nil, nil, '{' .. session .. '"message":"' .. texts[(i % #texts) + 1] .. '"}')
end
LUA
  } >"$file"
}

# start_instance NAME [--set ...]: `chatbot serve` in $work/NAME on a free
# port (anonymous clients unlimited); sets port_NAME and pid_NAME and adds
# the pid to $pids.
start_instance() {
  local name="$1" dir="$work/$1"
  shift
  mkdir -p "$dir"
  "$binary" serve --models "$work/model" --port 0 --set server.host=127.0.0.1 \
    --set sessions.path="$dir/sessions.db" --set paths.logs="$dir/logs" \
    --set security.database="$dir/keys.db" --set security.admin_key_file="$dir/admin.key" \
    --set security.rate_limit_anonymous=0 "$@" --log-level warn \
    >"$dir/serve.out" 2>"$dir/serve.err" &
  pids="$pids $!"
  eval "pid_$name=$!"
  eval "port_$name=$(wait_for_port "$dir/serve.out" "$dir/serve.err")"
}

# start_nginx name instance...: nginx in $work/<name> in front of the
# instances (through the Unix-domain socket sock_<instance> where that is
# set, else its TCP port); sets port_<name> and pid_<name> (the master; its
# workers are its children).
start_nginx() {
  local name="$1" dir="$work/$1"
  shift
  mkdir -p "$dir/logs" "$dir/temp"
  : >"$dir/chatbot-upstreams.conf"
  local address
  for instance in "$@"; do
    address="$(eval echo "\${sock_$instance:-}")"
    address="${address:+unix:$address}"
    address="${address:-127.0.0.1:$(eval echo "\$port_$instance")}"
    sed -n "s|^server [^ ]*\(.*\)|server $address\1|p" \
      deploy/nginx/chatbot-upstreams.conf | head -1 >>"$dir/chatbot-upstreams.conf"
  done
  {
    [ "$(id -u)" -eq 0 ] && echo "user root;"  # workers must reach $work (0700)
    echo "worker_processes ${workers:-1};"
    echo "events { worker_connections 1024; }"
    echo "http {"
    for kind in client_body proxy fastcgi uwsgi scgi; do
      echo "  ${kind}_temp_path $dir/temp/$kind;"
    done
    echo "  include site.conf;"
    echo "}"
  } >"$dir/nginx.conf"
  local port
  for _ in $(seq 5); do
    port=$((20000 + RANDOM % 30000))
    sed -e "s|^\( *\)listen 8080;|\1listen 127.0.0.1:$port;|" \
      -e "s|/var/log/nginx/chatbot-access.log|$dir/logs/access.log|" \
      "${site:-deploy/nginx/chatbot.conf}" >"$dir/site.conf"
    /usr/sbin/nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log" \
      -g "daemon off; pid $dir/nginx.pid;" >"$dir/nginx.out" 2>&1 &
    local pid=$!
    for _ in $(seq 100); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
      pids="$pids $pid"
      eval "pid_$name=$pid port_$name=$port"
      return
    fi
    wait "$pid" 2>/dev/null || true  # the port was taken: another one
  done
  cat "$dir/nginx.out" "$dir/logs/error.log" >&2
  exit 1
}


# cpu_ticks PID...: user + system clock ticks used so far by the processes
# and their children (nginx's workers, PostgreSQL's backends); per_request
# TICKS REQUESTS: those ticks in µs per request. Children come and go
# (autovacuum workers, closed connections' backends): a live one is read
# from its own stat, one that ended is in its parent's (cutime, cstime), and
# one that ends between the listing and the reading counts 0 this time.
cpu_ticks() {
  local total=0 pid child
  for pid in "$@"; do
    total=$((total + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat")))
    for child in $(pgrep -P "$pid" || true); do
      total=$((total + $(awk '{print $14 + $15}' "/proc/$child/stat" 2>/dev/null || echo 0)))
    done
  done
  echo "$total"
}

per_request() {
  awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}'
}


# start_postgres: a throwaway PostgreSQL 15 cluster in $work/pg on a free
# 127.0.0.1 port (durable defaults; trust authentication); sets $pg_port,
# $pg_url (a libpq connection string) and $pg_started. As root the server
# runs as the system user chatbot-test (created when missing), as the
# tests' server does. stop_postgres stops it.
pg_bin=/usr/lib/postgresql/15/bin
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u chatbot-test -- "$@"; else "$@"; fi
}
start_postgres() {
  if [ "$(id -u)" = 0 ]; then
    id chatbot-test >/dev/null 2>&1 ||
      useradd --system --no-create-home --shell /usr/sbin/nologin chatbot-test
    mkdir -p "$work/pg" && chown chatbot-test: "$work" "$work/pg"
    chmod 0755 "$work"
  fi
  as_pg "$pg_bin/initdb" -D "$work/pg" -U postgres -A trust -E UTF8 --locale=C >"$work/initdb.log"
  while :; do
    pg_port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null || break
  done
  as_pg "$pg_bin/pg_ctl" start -w -D "$work/pg" -l "$work/pg.log" \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work/pg" >/dev/null
  pg_started=1
  pg_url="host=127.0.0.1 port=$pg_port user=postgres dbname=postgres"
}
stop_postgres() {
  [ -n "${pg_started:-}" ] && as_pg "$pg_bin/pg_ctl" stop -m fast -D "$work/pg" >/dev/null 2>&1
  pg_started=""
  return 0
}
