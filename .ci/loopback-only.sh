#!/usr/bin/env bash
# Runs `make test` where nothing can leave the machine, and proves that
# nothing tried: in a network namespace with only loopback up (unshare -n),
# with every connect(2) of make, go, the test binaries and the gateway
# processes they start traced (strace -f --seccomp-bpf -e trace=connect,
# which stops only at connect and so costs little), throwaway PostgreSQL and
# Redis started inside by .ci/services.sh, and Go modules taken from the
# module cache (GOPROXY=file://…/cache/download: no network). It fails when the tests fail, and when any
# connect went to an address outside 127.0.0.0/8 and ::1, DNS included
# (AF_UNIX sockets are local and fine). Needs root, which CI has; on a
# laptop `make test` alone needs none.
#
#   .ci/loopback-only.sh            # make test
#   .ci/loopback-only.sh make lint  # any command instead
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "loopback-only: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "needs root (unshare -n, and PostgreSQL under its own account); run make test instead"
  exit 1
fi
missing=()
command -v strace >/dev/null || missing+=(strace)
command -v ip >/dev/null || missing+=(iproute2)
command -v unshare >/dev/null || missing+=(util-linux)
command -v curl >/dev/null || missing+=(curl) # the e2e test runs make run's printed curl lines
# The throwaway servers start inside the namespace, where no package can be
# fetched: install them here when this machine has none.
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium) # the portal's browser tests (gateway/e2e)
# promtool (deploy's rule tests) and a real Prometheus (the scrape tests);
# services.sh installs it without starting the package's daemon.
{ [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; } || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] || .ci/services.sh install "${missing[@]}"

# Everything the run needs from the network comes before the namespace.
log "downloading Go modules (outside the namespace)"
go mod download
go run honnef.co/go/tools/cmd/staticcheck@"$(sed -n 's/^STATICCHECK_VERSION := //p' Makefile)" -version >/dev/null

work=$(mktemp -d /tmp/leadlex-loopback-XXXXXX)
chmod 755 "$work"
trace=${LOOPBACK_TRACE:-$work/connect.trace}
cmd=("$@")
[ ${#cmd[@]} -gt 0 ] || cmd=(make test)

# traced_run TRACEFILE: the command in the namespace, every connect traced
# to TRACEFILE; what it prints on stderr is also kept in $work/stderr.
traced_run() {
  rm -rf "$work/services"
  # stdout goes straight out (fd 3); stderr also through tee into the file.
  { unshare --net -- env GW_SERVICES_DIR="$work/services" TRACE="$1" \
    GOPROXY="file://$(go env GOMODCACHE)/cache/download" GOFLAGS=-mod=mod GOSUMDB=off GOTOOLCHAIN=local DATABASE_URL= REDIS_URL= \
    bash -euo pipefail -c '
      ip link set lo up
      stop() {
        [ ! -s "$GW_SERVICES_DIR/redis.pid" ] || kill "$(cat "$GW_SERVICES_DIR/redis.pid")" 2>/dev/null || true
        if [ -s "$GW_SERVICES_DIR/pg/postmaster.pid" ]; then
          bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
          runuser -u postgres -- "$bin/pg_ctl" -D "$GW_SERVICES_DIR/pg" -m fast stop >/dev/null 2>&1 || true
        fi
      }
      trap stop EXIT
      # The services start untraced (they are not our code, and strace -f
      # would wait for the daemons); make test finds them already running.
      eval "$(.ci/services.sh)"
      strace -f -qq --seccomp-bpf -e trace=connect,socket -o "$TRACE" "$@"
    ' loopback-only "${cmd[@]}" 2>&1 1>&3 3>&- | tee "$work/stderr" >&2 3>&-; } 3>&1
  return "${PIPESTATUS[0]}"
}

set +e
traced_run "$trace"
status=$?
# strace itself can fail (seen once: "strace: ptrace(PTRACE_LISTEN,…):
# Input/output error" after a few connects), and then it ends the traced
# command, whatever the tests were doing. That run proves nothing either
# way, so it is run once more; the connects of both runs are checked.
if [ "$status" != 0 ] && grep -q '^strace: ptrace(' "$work/stderr"; then
  log "strace itself failed ($(grep -m1 '^strace: ptrace(' "$work/stderr")); running the command once more"
  traced_run "$trace.again"
  status=$?
  cat "$trace.again" >> "$trace" 2>/dev/null
  rm -f "$trace.again"
fi
set -e

# Every connect destination must be loopback: AF_INET in 127.0.0.0/8,
# AF_INET6 ::1 (or ::ffff:127.x.y.z). AF_UNIX, AF_UNSPEC (a UDP socket's
# disconnect) and AF_NETLINK never leave the machine.
#
# One exception, as narrow as it can be: Chromium (the portal's browser
# tests) checks whether IPv6 is globally reachable by connect(2)ing a
# datagram socket to 2001:4860:4860::8888 port 443 and reading the source
# address the kernel picked; it sends nothing (connect on a datagram socket
# transmits no packet), and no flag turns the check off. Such a connect is
# accepted only when the same thread made that socket as SOCK_DGRAM, so a
# TCP connection or anything else to that address still fails the run.
bad=$(awk '
  function dest_ok(line) {
    if (line ~ /sa_family=AF_(UNIX|UNSPEC|NETLINK)/) return 1
    if (line ~ /sa_family=AF_INET,/ && line ~ /inet_addr\("127\./) return 1
    if (line ~ /sa_family=AF_INET6,/ && line ~ /"(::1|::ffff:127\.[0-9.]+)"/) return 1
    return 0
  }
  # socket(2): remember each thread'\''s socket types by fd; a call split by
  # another thread'\''s ("<unfinished ...>" then "<... socket resumed>") is
  # joined first.
  / socket\(/ && /<unfinished \.\.\.>/ { pending[$1] = $0; next }
  /<\.\.\. socket resumed>/ { line = pending[$1] $0; delete pending[$1]; sock(line); next }
  / socket\(/ { sock($0); next }
  / connect\(/ {
    if (!match($0, /connect\([0-9]+, \{sa_family=[^}]*\}/)) next
    call = substr($0, RSTART, RLENGTH)
    if (dest_ok(call)) next
    fd = call; sub(/^connect\(/, "", fd); sub(/,.*/, "", fd)
    if (call ~ /"2001:4860:4860::8888"/ && call ~ /htons\(443\)/ && type[$1 " " fd] == "dgram") { probes++; next }
    print call
  }
  function sock(line,   fd) {
    if (!match(line, /= [0-9]+$/)) return
    fd = substr(line, RSTART + 2)
    type[$1 " " fd] = (line ~ /SOCK_DGRAM/) ? "dgram" : "other"
  }
  END { if (probes) printf "%d IPv6 reachability probes (datagram connects, nothing sent)\n", probes > "/dev/stderr" }
  ' "$trace" | sort | uniq -c || true)
connects=$(grep -c 'connect(' "$trace" || true)
rm -rf "$work/services"
if [ -n "$bad" ]; then
  log "connects outside loopback (count, call):"
  echo "$bad" >&2
  log "full trace: $trace"
  exit 1
fi
log "$connects connects traced, every one to loopback or a local socket"
rm -rf "$work" # a clean run keeps only a trace LOOPBACK_TRACE asked for
exit "$status"
