#!/usr/bin/env bash
# Makes PostgreSQL and Redis reachable for the tests, then prints the
# environment for them (`eval "$(.ci/services.sh)"`). It uses DATABASE_URL and
# REDIS_URL when set, else the default local ports; when nothing answers there
# it installs the servers from Debian's packages if they are missing and starts
# throwaway instances under ${GW_SERVICES_DIR:-/tmp/leadlex-gw-services}.
# Everything it says goes to stderr; stdout carries only the export lines.
# `.ci/services.sh install PKG...` only installs Debian packages (the
# loopback-only check uses it for strace and iproute2, and for prometheus,
# which it installs the way install_prometheus does).
set -euo pipefail

log() { echo "services: $*" >&2; }
dir=${GW_SERVICES_DIR:-/tmp/leadlex-gw-services}

# reachable HOST PORT: true when something accepts TCP connections there.
reachable() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# hostport URL DEFAULT_PORT: prints "host port" of a URL.
hostport() {
  local rest=${1#*://}
  rest=${rest#*@}
  rest=${rest%%/*}
  rest=${rest%%\?*}
  local host=${rest%:*} port=${rest##*:}
  [ "$host" = "$rest" ] && port=$2
  [ -n "$host" ] || host=127.0.0.1
  echo "$host $port"
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  log "installing $* from Debian's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# install_prometheus: Debian's prometheus package, for /usr/bin/promtool (the
# alert rules' unit tests) and /usr/bin/prometheus (tests start their own on a
# free loopback port, see internal/testprometheus). The package would start a
# daemon on :9090 scraping this machine, so nothing may start during the
# install (a policy-rc.d answering 101, "action forbidden", unless the machine
# already has its own), no recommended exporters come along, and a daemon that
# started anyway (a machine whose init ignores policy-rc.d) is stopped again.
install_prometheus() {
  local policy=/usr/sbin/policy-rc.d placed=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# services.sh: no daemon starts while it installs prometheus\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    placed=1
  fi
  local status=0
  apt_install --no-install-recommends prometheus || status=$?
  [ -z "$placed" ] || as_root rm -f "$policy"
  [ "$status" = 0 ] || return "$status"
  # The package's daemon runs as its own account, prometheus; ours run as the
  # tests' user, so this finds only the package's.
  if pgrep -u prometheus -x prometheus >/dev/null 2>&1; then
    log "stopping the prometheus daemon the package started"
    if [ -d /run/systemd/system ]; then as_root systemctl disable --now prometheus >&2 || true
    else as_root service prometheus stop >&2 || true; fi
    for _ in $(seq 1 50); do pgrep -u prometheus -x prometheus >/dev/null 2>&1 || break; sleep 0.1; done
    if pgrep -u prometheus -x prometheus >/dev/null 2>&1; then
      log "the package's prometheus daemon is still running; stop it (the tests start their own)"; return 1
    fi
  fi
  [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] || { log "prometheus installed, but /usr/bin/prometheus or /usr/bin/promtool is missing"; return 1; }
}

if [ "${1:-}" = install ]; then
  shift
  others=()
  for pkg in "$@"; do
    if [ "$pkg" = prometheus ]; then install_prometheus; else others+=("$pkg"); fi
  done
  [ ${#others[@]} -eq 0 ] || apt_install "${others[@]}"
  exit 0
fi

wait_for() {
  for _ in $(seq 1 100); do reachable "$1" "$2" && return 0; sleep 0.1; done
  log "$3 did not start on $1:$2"; return 1
}

start_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$bin" ]; then apt_install postgresql; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1); fi
  local data=$dir/pg run=""
  # PostgreSQL refuses to run as root; use the postgres account then.
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$dir" postgres
    run="runuser -u postgres --"
  fi
  mkdir -p "$dir"; chmod 755 "$dir"
  if [ ! -s "$data/PG_VERSION" ]; then
    mkdir -p "$data"; [ -z "$run" ] || chown postgres "$data"
    $run "$bin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
  fi
  [ -z "$run" ] || chown postgres "$dir"
  $run "$bin/pg_ctl" -D "$data" -l "$dir/pg.log" -w -o "-p 5432 -k $dir -c listen_addresses=127.0.0.1" start >&2
}

start_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$dir"
  redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
    --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" >&2
}

pg_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
redis_url=${REDIS_URL:-redis://127.0.0.1:6379/0}

# ensure NAME VAR URL DEFAULT_PORT START: makes the service of URL (from
# environment variable VAR, when set) reachable, starting a throwaway one
# with START when nothing answers on the default local port.
ensure() {
  local name=$1 var=$2 host port
  read -r host port < <(hostport "$3" "$4")
  if ! reachable "$host" "$port"; then
    if [ -n "${!var:-}" ]; then log "$var is set but $host:$port does not answer"; exit 1; fi
    log "no $name on 127.0.0.1:$4; starting a throwaway one in $dir"
    "$5"
    wait_for 127.0.0.1 "$4" "$name"
  fi
}

# The portal's browser tests (gateway/e2e, TestPortal*) drive Debian's
# chromium; a machine without it gets it here, as it gets the servers.
[ -x /usr/bin/chromium ] || apt_install chromium
# The alert rules' tests (deploy) run promtool, and the scrape tests
# (internal/testprometheus, gateway/e2e) a real Prometheus.
{ [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; } || install_prometheus

ensure PostgreSQL DATABASE_URL "$pg_url" 5432 start_postgres
ensure Redis REDIS_URL "$redis_url" 6379 start_redis
read -r pg_host pg_port < <(hostport "$pg_url" 5432)
read -r redis_host redis_port < <(hostport "$redis_url" 6379)

log "PostgreSQL at $pg_host:$pg_port, Redis at $redis_host:$redis_port"
printf 'export DATABASE_URL=%q\nexport REDIS_URL=%q\n' "$pg_url" "$redis_url"
