#!/usr/bin/env bash
# tests/helpers/swift.sh — an OpenStack Swift all-in-one (proxy + s3api + tempauth, one
# account/container/object server, one replica, memcached) on 127.0.0.1 for the tests.
# Used by tests/helpers/swift.ts, which also stops it (by the PIDs in DATADIR/run/*.pid).
#
#   swift.sh start  PORT DATADIR     # proxy on PORT; object/container/account/memcached on PORT+1..4
#   swift.sh public PORT BUCKET...   # make BUCKET and BUCKET+segments anonymously readable at
#                                    # /v1/AUTH_test/BUCKET/KEY (+segments holds multipart parts)
# Credentials: test:tester / testing (S3 access key / secret too). Signatures are checked.
# Debian packages: swift swift-proxy swift-object swift-account swift-container
#                  python3-swift memcached (scripts/install-system-deps).
set -euo pipefail
KIND="${1:?usage: swift.sh start PORT DATADIR | public PORT BUCKET...}"
PORT="${2:?port}"

wait_http() { # url timeout_s
  local i; for ((i = 0; i < $2 * 5; i++)); do
    curl -s -o /dev/null -m 2 "$1" && return 0; sleep 0.2; done
  echo "swift.sh: timeout waiting for $1" >&2; return 1
}

if [[ "$KIND" == public ]]; then
  shift 2
  TOK=$(curl -sf -D - -o /dev/null -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' \
        "http://127.0.0.1:$PORT/auth/v1.0" | awk -F': ' 'tolower($1)=="x-auth-token"{print $2}' | tr -d '\r')
  for b in "$@"; do for c in "$b" "$b+segments"; do
    curl -sf -o /dev/null -X PUT -H "X-Auth-Token: $TOK" -H 'X-Container-Read: .r:*,.rlistings' \
      "http://127.0.0.1:$PORT/v1/AUTH_test/$c"; done; done
  exit 0
fi
[[ "$KIND" == start ]] || { echo "swift.sh: unknown command $KIND" >&2; exit 2; }

D="$(realpath -m "${3:?datadir}")"; E="$D/etc"; N="$D/node"
mkdir -p "$D/run" "$D/log" "$E" "$N/d1"
OBJ=$((PORT + 1)) CON=$((PORT + 2)) ACC=$((PORT + 3)) MC=$((PORT + 4))
cat > "$E/swift.conf" <<CONF
[swift-hash]
swift_hash_path_suffix = local-suffix
swift_hash_path_prefix = local-prefix
[storage-policy:0]
name = Policy-0
default = yes
CONF
common() { cat <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
swift_dir = $E
devices = $N
mount_check = false
user = root
workers = $2
log_level = WARNING
log_name = $3
CONF
}
{ common "$ACC" 1 account; printf '[pipeline:main]\npipeline = account-server\n[app:account-server]\nuse = egg:swift#account\n'; } > "$E/account-server.conf"
{ common "$CON" 1 container; printf '[pipeline:main]\npipeline = container-server\n[app:container-server]\nuse = egg:swift#container\n'; } > "$E/container-server.conf"
{ common "$OBJ" 2 object; printf '[pipeline:main]\npipeline = object-server\n[app:object-server]\nuse = egg:swift#object\n'; } > "$E/object-server.conf"
{ common "$PORT" 2 proxy; cat <<CONF
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth staticweb copy slo dlo versioned_writes symlink proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true
[filter:tempauth]
use = egg:swift#tempauth
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = false
[filter:staticweb]
use = egg:swift#staticweb
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MC
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_versioned_writes = true
[filter:symlink]
use = egg:swift#symlink
CONF
} > "$E/proxy-server.conf"
for r in "account $ACC" "container $CON" "object $OBJ"; do set -- $r # 1 replica, 2^8 partitions
  ( cd "$E" && swift-ring-builder "$1.builder" create 8 1 1 >/dev/null &&
    swift-ring-builder "$1.builder" add "r1z1-127.0.0.1:$2/d1" 1 >/dev/null &&
    swift-ring-builder "$1.builder" rebalance >/dev/null )
done
# setsid: a Swift server that gets SIGTERM kills its whole process group (os.killpg(0)),
# which must be its own group, never the test runner's.
setsid memcached -l 127.0.0.1 -p "$MC" -U 0 -m 64 -u root > "$D/log/memcached.log" 2>&1 < /dev/null &
echo $! > "$D/run/memcached.pid"
for s in account container object proxy; do
  setsid "swift-$s-server" "$E/$s-server.conf" > "$D/log/$s.log" 2>&1 < /dev/null &
  echo $! > "$D/run/$s.pid"
done
wait_http "http://127.0.0.1:$PORT/healthcheck" 30
for p in $OBJ $CON $ACC; do wait_http "http://127.0.0.1:$p/" 30; done
echo "READY swift http://127.0.0.1:$PORT"
