#!/usr/bin/env bash
# The one test command: builds, starts a throwaway PostgreSQL on a free loopback port, runs the
# whole suite on SQLite and on PostgreSQL (and the browser tests), stops the cluster, and ends with
# one line of totals: "N passed, N failed, N skipped".
# Installs what it needs when missing (apt-get as root). With CI=true a missing prerequisite fails.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/artifacts/test"
mkdir -p "$OUT"
log() { printf '[test.sh] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; echo "0 passed, 1 failed"; exit 1; }

need_apt=()
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || need_apt+=(postgresql)
if [ "${HERALD_SKIP_BROWSER:-0}" != 1 ] && [ -f tests/Herald.BrowserTests/Herald.BrowserTests.csproj ]; then
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing ${need_apt[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq "${need_apt[@]}" >/dev/null || die "apt-get install ${need_apt[*]}"
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  else
    die "missing ${need_apt[*]}: install them (apt-get install ${need_apt[*]}) or run as root"
  fi
fi
command -v dotnet >/dev/null || die "dotnet SDK 10 is not on PATH"

log "building"
dotnet build Herald.slnx -c Release -nologo -v q 2>&1 | tail -3
[ "${PIPESTATUS[0]}" = 0 ] || die "build"

# --- throwaway PostgreSQL -----------------------------------------------------------------
PGDIR=$(mktemp -d /tmp/herald-pg.XXXXXX)
PGPORT=""
cleanup() {
  if [ -n "$PGPORT" ]; then runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1; fi
  rm -rf "$PGDIR"
}
trap cleanup EXIT
start_pg() {
  chown postgres: "$PGDIR"; chmod 700 "$PGDIR"
  (cd / && runuser -u postgres -- "$PG_BIN/initdb" -D "$PGDIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null) || return 1
  for port in $(seq 55432 55499); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
      PGOPTS="-c listen_addresses=127.0.0.1 -p $port -k $PGDIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
      if (cd / && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -o "$PGOPTS" start >/dev/null); then
        PGPORT=$port; break
      fi
    fi
  done
  [ -n "$PGPORT" ] || return 1
  psql -X -q -h "$PGDIR" -p "$PGPORT" -U postgres -d postgres -c "CREATE ROLE herald LOGIN CREATEDB PASSWORD 'herald'" >/dev/null
}
if [ "$(id -u)" = 0 ]; then
  start_pg || die "could not start PostgreSQL (see $PGDIR/server.log)"
  export HERALD_TEST_PG="Host=127.0.0.1;Port=$PGPORT;Username=herald;Password=herald;Database=postgres;Pooling=true;Maximum Pool Size=50"
  # `$HERALD_TEST_PG_CTL stop|start`: the cluster tests' database outage restarts this throwaway server.
  printf '#!/usr/bin/env bash\ncd / && exec runuser -u postgres -- %q -D %q -l %q -w -m fast -o %q "$1" >/dev/null\n' \
    "$PG_BIN/pg_ctl" "$PGDIR/data" "$PGDIR/server.log" "$PGOPTS" >"$PGDIR/pgctl.sh"
  chmod 755 "$PGDIR/pgctl.sh"
  export HERALD_TEST_PG_CTL="$PGDIR/pgctl.sh"
  log "PostgreSQL on 127.0.0.1:$PGPORT"
else
  die "the PostgreSQL suite needs root to run the server as the postgres user"
fi

# --- suites -------------------------------------------------------------------------------
passed=0; failed=0; skipped=0; status=0
run_suite() { # name, project, env...
  local name=$1 project=$2; shift 2
  log "suite: $name"
  local file="$OUT/$name.log"
  env "$@" dotnet test "$project" -c Release --no-build -nologo --logger "console;verbosity=minimal" --logger "trx;LogFileName=$name.trx" \
      --results-directory "$OUT/$name" >"$file" 2>&1
  grep -E "^\s+Failed [A-Za-z]|(Passed|Failed)! +- " "$file" >&2
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E "(Passed|Failed)! +- Failed: " "$file" | tail -1)
  if [ -z "$line" ]; then log "$name: no test summary (exit $rc)"; failed=$((failed+1)); status=1; return; fi
  local f p s
  f=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$line"); p=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line"); s=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$line")
  log "$name: $p passed, $f failed, $s skipped"
  passed=$((passed+p)); failed=$((failed+f)); skipped=$((skipped+s))
  [ "$rc" = 0 ] && [ "$f" = 0 ] || status=1
}

run_suite sqlite tests/Herald.Tests HERALD_TEST_PROVIDER=sqlite
run_suite postgres tests/Herald.Tests HERALD_TEST_PROVIDER=postgres
if [ "${HERALD_SKIP_BROWSER:-0}" != 1 ] && [ -f tests/Herald.BrowserTests/Herald.BrowserTests.csproj ]; then
  run_suite browser tests/Herald.BrowserTests HERALD_TEST_PROVIDER=sqlite HERALD_CHROMIUM=/usr/bin/chromium
fi

echo "$passed passed, $failed failed, $skipped skipped"
exit $status
