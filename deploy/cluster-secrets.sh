#!/usr/bin/env bash
# Makes the secret files docker-compose.cluster.yml gives its containers,
# in secrets/ at the repository's root (or the directory given), each only
# when it is missing, so that running it again changes nothing:
#   postgres-password       PostgreSQL's password for the user chatbot
#   chatbot-postgres-url    the replicas' connection string, with it
#   redis-password          Redis' password
#   chatbot-operator.key    empty: Prometheus' operator key, to be filled
#                           once the cluster runs (docs/scaling.md)
# Passwords are 48 hex digits from /dev/urandom: nothing in them needs
# escaping in a URL. The directory is the operator's alone (0700); the
# files in it are 0644 because each container reads its own with a user of
# its own (compose gives secrets the files' host permissions).
#
#   deploy/cluster-secrets.sh [DIR]
set -euo pipefail
dir="${1:-$(dirname "$0")/../secrets}"
mkdir -p "$dir"
chmod 0700 "$dir"

password() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }

make_file() {  # NAME CONTENTS: writes DIR/NAME unless it exists
  local path="$dir/$1"
  if [ -e "$path" ]; then
    echo "kept    $path"
    return
  fi
  (umask 022 && printf '%s' "$2" >"$path.tmp" && mv "$path.tmp" "$path")
  echo "made    $path"
}

make_file postgres-password "$(password)"
make_file chatbot-postgres-url \
  "postgresql://chatbot:$(cat "$dir/postgres-password")@postgres:5432/chatbot"
make_file redis-password "$(password)"
make_file chatbot-operator.key ""
