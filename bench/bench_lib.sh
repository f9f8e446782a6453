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
# through eight texts of CLINC150's kind.
write_parse_script() {
  cat >"$1" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local texts = {"what is my bank balance", "book a flight to paris tomorrow",
  "how do i say thank you in french", "set an alarm for 7 am", "where is my package",
  "what's the weather like today", "can you recommend a good restaurant nearby",
  "please transfer 100 dollars to my savings account"}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, '{"text":"' .. texts[(i % #texts) + 1] .. '"}')
end
LUA
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
