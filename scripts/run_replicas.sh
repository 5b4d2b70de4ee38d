#!/usr/bin/env bash
# Several app servers, one shared record, on this machine: a throw-away PostgreSQL cluster, two
# app servers (`python -m piggyback.ui.server`, each with its own reference DuckDB file) and nginx
# in front with sticky sessions (deploy/nginx.conf), all on 127.0.0.1. Ctrl-C stops everything and
# removes the cluster (KEEP=1 keeps its folder, with the logs).
#
#   scripts/run_replicas.sh            # then open http://127.0.0.1:8080
#   scripts/run_replicas.sh --check    # start, check every part answers, stop (exit 0 when all did)
#
# Ports: LB_PORT (8080), APP_PORTS ("8501 8502": one server per port, as many as listed),
# PG_PORT (a free one). Needs Debian's postgresql and nginx packages
# (apt-get install postgresql nginx). Other PIGGYBACK_* settings (roles, login) pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

LB_PORT=${LB_PORT:-8080}
read -r -a APP_PORTS <<<"${APP_PORTS:-8501 8502}"
PYTHON=${PYTHON:-python}
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1

die() { echo "run_replicas: $*" >&2; exit 2; }

# initdb on PATH may be a lone symlink: use the folder it points into (createdb, pg_ctl beside it).
PG_BIN=$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null || echo /nonexistent)")")
if [ ! -x "$PG_BIN/createdb" ]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
[ -x "$PG_BIN/createdb" ] || die "PostgreSQL is not installed (apt-get install postgresql)."
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || die "nginx is not installed (apt-get install nginx)."
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT=${PG_PORT:-$(free_port)}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/piggyback-replicas-XXXXXX")
AS_PG=()
if [ "$(id -u)" = 0 ]; then  # PostgreSQL refuses to run as root
  id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (Debian's postgresql creates it)."
  chown postgres: "$WORK"
  AS_PG=(runuser -u postgres --)
fi

PIDS=()
cleanup() {
  trap - INT TERM EXIT
  echo "run_replicas: stopping" >&2
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -f "$WORK/pg/PG_VERSION" ]; then
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "run_replicas: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "run_replicas: PostgreSQL on 127.0.0.1:$PG_PORT (folder $WORK/pg)" >&2
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$WORK/pg" -U piggyback --auth=trust -E UTF8 --locale=C >"$WORK/initdb.log" 2>&1 \
  || die "initdb failed: see $WORK/initdb.log"
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/postgresql.log" -w \
  -o "-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1" start >/dev/null \
  || die "PostgreSQL did not start: see $WORK/postgresql.log"
"${AS_PG[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U piggyback piggyback
export PIGGYBACK_DATABASE_URL="postgresql://piggyback@127.0.0.1:$PG_PORT/piggyback"

"$PYTHON" -m piggyback migrate
# Each server has its own reference file (read-only data from data/): build one, copy it.
"$PYTHON" -m piggyback --db "$WORK/reference.duckdb" build --quiet >/dev/null

# Every replica shares the cookie secret (and, with PIGGYBACK_AUTH=oidc, .streamlit/secrets.toml
# from this checkout), so a cookie set by one is valid on the others.
export STREAMLIT_SERVER_COOKIE_SECRET=${STREAMLIT_SERVER_COOKIE_SECRET:-$("$PYTHON" -c 'import secrets; print(secrets.token_hex(32))')}
upstreams=""
for port in "${APP_PORTS[@]}"; do
  cp "$WORK/reference.duckdb" "$WORK/server-$port.duckdb"
  PIGGYBACK_DB="$WORK/server-$port.duckdb" "$PYTHON" -m piggyback.ui.server \
    --server.headless true --server.address 127.0.0.1 --server.port "$port" \
    --browser.gatherUsageStats false --server.fileWatcherType none >"$WORK/server-$port.log" 2>&1 &
  PIDS+=($!)
  upstreams+="        server 127.0.0.1:$port max_fails=1 fail_timeout=10s;\n"
done

# deploy/nginx.conf with this run's ports (the upstream lines replaced by one per server).
mkdir -p "$WORK/nginx/logs"
sed -e "/server 127\.0\.0\.1:850[0-9]/d" \
    -e "s|hash \$piggyback_route consistent;|&\n$upstreams|" \
    -e "s|listen 127\.0\.0\.1:8080;|listen 127.0.0.1:$LB_PORT;|" \
    deploy/nginx.conf >"$WORK/nginx/nginx.conf"
"$NGINX" -p "$WORK/nginx/" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" \
  -g "daemon off; pid $WORK/nginx/nginx.pid;" &
PIDS+=($!)

healthy() { "$PYTHON" - "$1" <<'EOF'
import sys, time, urllib.request
deadline = time.time() + 90
while time.time() < deadline:
    try:
        with urllib.request.urlopen(sys.argv[1] + "/_stcore/health", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        time.sleep(0.5)
sys.exit(1)
EOF
}
for port in "${APP_PORTS[@]}"; do
  healthy "http://127.0.0.1:$port" || die "the app server on port $port did not start: see $WORK/server-$port.log"
  echo "run_replicas: app server http://127.0.0.1:$port" >&2
done
healthy "http://127.0.0.1:$LB_PORT" || die "nginx did not answer on port $LB_PORT: see $WORK/nginx/error.log"

echo "run_replicas: ready: http://127.0.0.1:$LB_PORT (nginx, sticky sessions over ${#APP_PORTS[@]} servers;" \
     "shared record $PIGGYBACK_DATABASE_URL). Ctrl-C stops everything." >&2
if [ "$CHECK" = 1 ]; then
  # Through nginx: the first answer sets the route cookie, and Streamlit's websocket (sent with
  # that cookie) is upgraded: 101.
  "$PYTHON" - "$LB_PORT" <<'EOF'
import base64, os, socket, sys, urllib.request
port = int(sys.argv[1])
with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
    cookies = r.headers.get_all("Set-Cookie") or []
cookie = next((c for c in cookies if c.startswith("piggyback_route=")), "")
if not cookie:
    sys.exit(f"run_replicas: nginx set no route cookie (got {cookies!r})")
key = base64.b64encode(os.urandom(16)).decode()
with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
    s.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Protocol: streamlit\r\nCookie: {cookie.split(';')[0]}\r\n\r\n").encode())
    status = s.recv(200).decode(errors="replace").split("\r\n")[0]
if " 101 " not in status + " ":
    sys.exit(f"run_replicas: the websocket was not upgraded through nginx ({status!r})")
print("run_replicas: check passed: route cookie set, websocket upgraded through nginx", file=sys.stderr)
EOF
  exit $?
fi
wait -n "${PIDS[@]}" || true
echo "run_replicas: a process stopped on its own; see the logs in $WORK" >&2
exit 1
