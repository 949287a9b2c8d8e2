# Sourced by .ci/run after `npm ci`: makes sure a PostgreSQL server accepts connections for the
# tests and exports its URL as TRENT_TEST_POSTGRES_URL (test/helpers/postgres.ts reads it).
#
# 1. TRENT_TEST_POSTGRES_URL if set — it must work; CI never swaps in another server behind a URL
#    that was asked for. Otherwise the machine's own, postgres://postgres@127.0.0.1:5432/test.
# 2. Installed but stopped (Debian's cluster under /etc/postgresql): start it with pg_ctlcluster.
# 3. Otherwise: a private cluster — initdb in a temporary directory, trust auth, a free port on
#    127.0.0.1, database `test` — stopped and removed when CI exits.
# No PostgreSQL at all is an error: the PostgreSQL tests fail rather than skip.
#
# TRENT_CI_POSTGRES=private forces step 3 (to test this script, or to keep CI off a shared server).

trent_pg_default_url='postgres://postgres@127.0.0.1:5432/test'

# Whether $1 accepts a connection and a query (pg_isready alone says yes before auth or when the
# database is missing). Uses the project's own pg, installed by `npm ci`.
trent_pg_ready() {
  TRENT_PG_PROBE_URL="$1" node -e '
    const pg = require("pg");
    const c = new pg.Client({ connectionString: process.env.TRENT_PG_PROBE_URL, connectionTimeoutMillis: 3000 });
    c.connect().then(() => c.query("SELECT 1")).then(() => c.end()).then(
      () => process.exit(0),
      () => process.exit(1),
    );' >/dev/null 2>&1
}

trent_pg_wait() {
  local url="$1" seconds="$2"
  for _ in $(seq 1 "$seconds"); do
    trent_pg_ready "$url" && return 0
    sleep 1
  done
  return 1
}

# The directory holding initdb, pg_ctl and createdb together: Debian's newest version, else
# wherever initdb on the PATH really lives (links resolved).
trent_pg_bindir() {
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1) || true
  if [ -n "$newest" ] && [ -x "$newest/initdb" ]; then
    echo "$newest"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
  fi
}

trent_pg_private_cluster() {
  local bindir dir port run=()
  bindir=$(trent_pg_bindir) || true
  if [ -z "$bindir" ]; then
    echo "CI needs PostgreSQL: none accepts connections at $trent_pg_default_url and no initdb is installed" \
      "(Debian: apt-get install postgresql)." >&2
    return 1
  fi
  dir=$(mktemp -d "${TMPDIR:-/tmp}/trent-ci-pg.XXXXXX")
  chmod 755 "$dir"
  port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
  # initdb and postgres refuse to run as root: run them as the postgres system user.
  if [ "$(id -u)" = 0 ]; then
    if ! id -u postgres >/dev/null 2>&1; then
      echo "CI runs as root and there is no 'postgres' user to run a private PostgreSQL cluster." >&2
      return 1
    fi
    chown postgres "$dir"
    run=(runuser -u postgres --)
  fi
  echo "Starting a private PostgreSQL cluster in $dir on 127.0.0.1:$port"
  "${run[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    return 1
  }
  "${run[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null || {
    cat "$dir/server.log" >&2
    return 1
  }
  TRENT_CI_PG_DIR="$dir"
  TRENT_CI_PG_RUN="${run[*]}"
  TRENT_CI_PG_BINDIR="$bindir"
  trap trent_pg_stop_private EXIT
  "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres test
  TRENT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/test"
  trent_pg_wait "$TRENT_TEST_POSTGRES_URL" 30
}

trent_pg_stop_private() {
  if [ -n "${TRENT_CI_PG_DIR:-}" ]; then
    # shellcheck disable=SC2086 # TRENT_CI_PG_RUN is a command prefix, split on purpose
    $TRENT_CI_PG_RUN "$TRENT_CI_PG_BINDIR/pg_ctl" -D "$TRENT_CI_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$TRENT_CI_PG_DIR"
  fi
}

trent_pg_setup() {
  if [ -n "${TRENT_TEST_POSTGRES_URL:-}" ]; then
    if trent_pg_ready "$TRENT_TEST_POSTGRES_URL"; then
      echo "PostgreSQL: using TRENT_TEST_POSTGRES_URL"
      return 0
    fi
    echo "TRENT_TEST_POSTGRES_URL is set but accepts no connection: $TRENT_TEST_POSTGRES_URL" >&2
    return 1
  fi
  if [ "${TRENT_CI_POSTGRES:-}" != private ]; then
    if trent_pg_ready "$trent_pg_default_url"; then
      echo "PostgreSQL: using the running server at $trent_pg_default_url"
      TRENT_TEST_POSTGRES_URL="$trent_pg_default_url"
      return 0
    fi
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1) || true
    if [ -n "$version" ] && [ -d "/etc/postgresql/$version/main" ] && command -v pg_ctlcluster >/dev/null 2>&1; then
      echo "PostgreSQL $version is installed but not accepting connections: starting it"
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
      if trent_pg_wait "$trent_pg_default_url" 30; then
        TRENT_TEST_POSTGRES_URL="$trent_pg_default_url"
        return 0
      fi
      echo "PostgreSQL $version did not come up at $trent_pg_default_url; trying a private cluster" >&2
    fi
  fi
  trent_pg_private_cluster
}

trent_pg_setup
export TRENT_TEST_POSTGRES_URL
