#!/bin/bash
# Start/stop the built gateway as the "external" server of ../shared/harness/bench-peer.sh (used by
# bench/peer-compare.ts): one account, alice, MD5 auth with the harness client's secret, its
# contacts datastore "addressbook" on the Radicale that bench-peer.sh has just started (DAV_ENV).
#
#   peer-gateway.sh start DIR | stop DIR | pids DIR        (PORT: gateway port [9011])
set -euo pipefail
cmd=$1 dir=$2
repo=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-9011}
case $cmd in
  start)
    # shellcheck disable=SC1090
    . "${DAV_ENV:?bench-peer.sh exports DAV_ENV}"
    rm -rf "$dir"; mkdir -p "$dir/mappings" "$dir/state"
    root=${RADICALE_CONTACTS%/"$DAV_USER"/contacts/}/
    cat > "$dir/mappings/alice.yaml" <<YAML
account: alice
auth: { md5: "\${BENCH_SYNCML_SECRET}" }
dav:
  url: $root
  username: $DAV_USER
  password: "\${BENCH_DAV_PASSWORD}"
datastores:
  contacts:
    uris: [addressbook]
    collection: $RADICALE_CONTACTS
YAML
    # The flags `npm start` uses, so the figures are those of the gateway as shipped.
    BENCH_SYNCML_SECRET=secret BENCH_DAV_PASSWORD=$DAV_PASS PORT=$port HOST=127.0.0.1 \
      MAPPINGS_DIR="$dir/mappings" STATE_DIR="$dir/state" LOG_LEVEL=${LOG_LEVEL:-warn} \
      nohup node --max-semi-space-size=2 --v8-pool-size=1 "$repo/bin/syncml-gateway.js" serve \
      >"$dir/gateway.log" 2>&1 &
    echo $! > "$dir/gateway.pid"
    for _ in $(seq 100); do
      curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && exit 0
      sleep 0.1
    done
    echo "gateway did not come up; see $dir/gateway.log" >&2; exit 1 ;;
  stop)
    pid=$(cat "$dir/gateway.pid" 2>/dev/null) || exit 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done ;;
  pids) cat "$dir/gateway.pid" ;;
  *) sed -n '2,7p' "$0"; exit 2 ;;
esac
