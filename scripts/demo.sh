#!/usr/bin/env bash
# Starts (or stops) the jwt-gate demo on 127.0.0.1: auth-api :8082, backend :8081, and a
# real Envoy :8080 (admin :9901) with the filter, from envoy.yaml. `make demo` builds
# everything first; this script only runs what is built.
#
# Usage: scripts/demo.sh start | stop | status
# State (pids, logs, the SQLite database, the signing key) lives in .demo/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=$root/.demo
pids=$state/pids
venv=${VENV:-$root/.venv}

stop() {
    [[ -f $pids ]] || return 0
    while read -r name pid; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
            echo "stopped $name (pid $pid)"
        fi
    done <"$pids"
    rm -f "$pids"
}

launch() { # name, command...
    local name=$1; shift
    setsid "$@" >"$state/$name.log" 2>&1 </dev/null &
    echo "$name $!" >>"$pids"
}

wait_http() { # name, url
    for _ in $(seq 300); do
        if curl -fsS -o /dev/null --max-time 1 "$2" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "demo: $1 did not become ready ($2); last log lines:" >&2
    tail -n 30 "$state/$1.log" >&2 || true
    stop
    exit 1
}

start() {
    stop
    mkdir -p "$state"
    for port in 8080 8081 8082 9901; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "demo: port $port on 127.0.0.1 is in use; stop what uses it (or make demo-stop)" >&2
            exit 1
        fi
    done
    cd "$root"
    DEMO_DB=${DEMO_DB:-$state/users.db} launch auth-api target/debug/auth-api --listen 127.0.0.1:8082
    launch backend target/debug/backend --listen 127.0.0.1:8081
    wait_http auth-api http://127.0.0.1:8082/healthz
    wait_http backend http://127.0.0.1:8081/healthz
    launch envoy "$venv/bin/envoy" -c envoy.yaml --concurrency 1 --disable-hot-restart --log-level info
    wait_http envoy http://127.0.0.1:9901/ready
    cat <<'TXT'

jwt-gate demo is running (logs and pids in .demo/; stop it with: make demo-stop)

  gateway   http://127.0.0.1:8080      (Envoy + jwt-gate)
  admin     http://127.0.0.1:9901/stats/prometheus   (jwt_gate_* metrics)
  users     alice / alice-password (admin), bob / bob-password (reader)

Walkthrough (copy-paste):

  # 1. log in as bob: an ES256 token signed by auth-api, verified with its remote JWKS
  TOKEN=$(curl -s -X POST http://127.0.0.1:8080/api/auth/login -H 'content-type: application/json' \
          -d '{"username":"bob","password":"bob-password"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')

  # 2. the backend sees who you are (claim headers), never your token
  curl -s http://127.0.0.1:8080/api/me -H "authorization: Bearer $TOKEN"

  # 3. no token: 401 with a Bearer challenge; a spoofed identity header never passes
  curl -si http://127.0.0.1:8080/api/me -H 'x-user-id: 1'

  # 4. an admin route as a non-admin: 403 insufficient_scope
  curl -si http://127.0.0.1:8080/api/admin/users -H "authorization: Bearer $TOKEN"

  # 5. a public route needs no token
  curl -s http://127.0.0.1:8080/api/public/hello

  # 6. a browser navigation without a session is redirected to the login page
  curl -si http://127.0.0.1:8080/app/ -H 'accept: text/html'     # or open it in a browser

  # 7. delete bob in the user database: his token gets 401 once the 5 s cache expires
  curl -s -X DELETE http://127.0.0.1:8082/internal/users/2; sleep 6
  curl -si http://127.0.0.1:8080/api/me -H "authorization: Bearer $TOKEN"
TXT
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) [[ -f $pids ]] && cat "$pids" || echo "not running" ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
