#!/usr/bin/env bash
# A throwaway PostgreSQL cluster with pgAudit, for the live tests (and by hand, or CI).
#
#   scripts/pg_cluster.sh check              exit 0 if a server with pgAudit can be run here,
#                                            else print why and exit 3
#   scripts/pg_cluster.sh start [-c 'k = v']...
#                                            initdb + start a cluster in a new temp dir; prints
#                                            KEY=VALUE lines (PG_CLUSTER_DIR, PGHOST, PGPORT,
#                                            PGUSER, PGBIN, PGDATA, PG_LOGDIR); each -c line is
#                                            appended to postgresql.conf (value quoted as the
#                                            conf file wants it)
#   scripts/pg_cluster.sh stop DIR           stop it (fast, then immediate); the files stay
#   scripts/pg_cluster.sh destroy DIR        stop it and remove DIR
#
# The server listens on 127.0.0.1 on a free port only (its socket is in DIR/run), trusts
# local connections (a throwaway: never put data that matters in it), runs as the OS user
# postgres when started by root (initdb refuses root), logs csvlog *and* stderr into
# DIR/log through the logging collector, in time zone Asia/Shanghai (so PostgreSQL writes
# "CST"), with pgAudit: pgaudit.log = 'write, ddl, role', log_relation, log_parameter and
# log_rows on, and object auditing through the role 'auditor' (pgaudit.role).
# Binaries: $PG_BINDIR, else the newest /usr/lib/postgresql/*/bin with pgaudit.so beside it,
# else pg_config's. Debian: apt-get install postgresql postgresql-15-pgaudit
# (scripts/bootstrap.sh --with-postgres).
set -euo pipefail

die() { echo "pg_cluster: $1" >&2; exit "${2:-1}"; }

find_bindir() {
  local cands=() d
  if [ -n "${PG_BINDIR:-}" ]; then cands+=("$PG_BINDIR"); fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do cands+=("$d"); done
  if command -v pg_config >/dev/null 2>&1; then cands+=("$(pg_config --bindir)"); fi
  for d in "${cands[@]}"; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && [ -x "$d/psql" ]; then
      echo "$d"; return 0
    fi
  done
  return 1
}

pkglibdir() {  # the server's extension library dir
  local bin=$1
  if [ -x "$bin/pg_config" ]; then "$bin/pg_config" --pkglibdir; else echo "$(dirname "$bin")/lib"; fi
}

as_pg() {  # run a command as the cluster's OS user
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

check() {
  local bin lib
  bin=$(find_bindir) || die "no PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) found; on Debian: apt-get install postgresql postgresql-15-pgaudit" 3
  lib=$(pkglibdir "$bin")
  [ -f "$lib/pgaudit.so" ] || die "pgAudit is not installed for the server in $bin ($lib/pgaudit.so missing); on Debian: apt-get install postgresql-$("$bin/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')-pgaudit" 3
  if [ "$(id -u)" = 0 ]; then
    getent passwd postgres >/dev/null || die "running as root but there is no OS user 'postgres' to run the server as" 3
    command -v runuser >/dev/null 2>&1 || die "running as root but runuser is missing" 3
  fi
  echo "$bin"
}

free_port() {
  "${PYTHON:-python3}" - <<'EOF' 2>/dev/null || echo $((20000 + RANDOM % 30000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

stop() {
  local dir=$1 bin pid
  [ -d "$dir" ] || return 0
  bin=$(cat "$dir/bindir" 2>/dev/null || find_bindir || true)
  if [ -f "$dir/data/postmaster.pid" ]; then
    if [ -n "$bin" ]; then
      as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 20 stop >/dev/null 2>&1 \
        || as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
    fi
    if [ -f "$dir/data/postmaster.pid" ]; then  # still there: end our own postmaster by its pid
      pid=$(head -1 "$dir/data/postmaster.pid" 2>/dev/null || true)
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    fi
  fi
}

start() {
  local extra=()
  while [ $# -gt 0 ]; do
    case "$1" in
      -c) [ $# -ge 2 ] || die "-c needs 'name = value'" 2; extra+=("$2"); shift 2 ;;
      *) die "start: unknown argument $1" 2 ;;
    esac
  done
  local bin dir port try ok=0
  bin=$(check)
  dir=$(mktemp -d "${PG_CLUSTER_TMP:-/tmp}/auditlib-pg.XXXXXX")
  # from here on, a failure removes what was made
  trap 'stop "$dir"; rm -rf "$dir"' EXIT
  mkdir -p "$dir/log" "$dir/run"
  echo "$bin" >"$dir/bindir"
  if [ "$(id -u)" = 0 ]; then chown -R postgres: "$dir"; fi
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C -N \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  for try in 1 2 3; do
    port=$(free_port)
    {
      echo "# --- scripts/pg_cluster.sh"
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $port"
      echo "unix_socket_directories = '$dir/run'"
      echo "max_connections = 20"
      echo "shared_buffers = 16MB"
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
      echo "timezone = 'Asia/Shanghai'"
      echo "log_timezone = 'Asia/Shanghai'"
      echo "lc_messages = 'C'"
      echo "logging_collector = on"
      echo "log_destination = 'csvlog,stderr'"
      echo "log_directory = '$dir/log'"
      echo "log_filename = 'postgresql-%Y-%m-%d_%H%M%S.log'"
      echo "log_rotation_age = 0"
      echo "log_rotation_size = 0"
      echo "log_line_prefix = '%m [%p] %q%u@%d '"
      echo "log_connections = on"
      echo "log_disconnections = on"
      echo "shared_preload_libraries = 'pgaudit'"
      echo "pgaudit.log = 'write, ddl, role'"
      echo "pgaudit.log_relation = on"
      echo "pgaudit.log_parameter = on"
      echo "pgaudit.log_rows = on"
      echo "pgaudit.log_catalog = off"
      echo "pgaudit.role = 'auditor'"
      for line in "${extra[@]+"${extra[@]}"}"; do echo "$line"; done
    } >"$dir/data/conf.auditlib"
    grep -q "^include = 'conf.auditlib'" "$dir/data/postgresql.conf" \
      || echo "include = 'conf.auditlib'" >>"$dir/data/postgresql.conf"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir/data/conf.auditlib"; fi
    if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/startup.log" -w -t 30 start >/dev/null 2>&1; then
      ok=1; break
    fi
    stop "$dir"
    grep -qiE "could not (bind|create listen)|address already in use" "$dir/startup.log" "$dir"/log/* 2>/dev/null \
      || break  # not a port clash: no point in retrying
  done
  if [ "$ok" != 1 ]; then
    { echo "--- startup.log"; tail -20 "$dir/startup.log" 2>/dev/null
      for f in "$dir"/log/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; } >&2
    die "the server did not start"
  fi
  trap - EXIT
  echo "PG_CLUSTER_DIR=$dir"
  echo "PGHOST=127.0.0.1"
  echo "PGPORT=$port"
  echo "PGUSER=postgres"
  echo "PGBIN=$bin"
  echo "PGDATA=$dir/data"
  echo "PG_LOGDIR=$dir/log"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  check) check >/dev/null; echo "pg_cluster: ok ($(find_bindir))" ;;
  start) start "$@" ;;
  stop) [ $# = 1 ] || die "usage: stop DIR" 2; stop "$1" ;;
  destroy)
    [ $# = 1 ] || die "usage: destroy DIR" 2
    case "$1" in */auditlib-pg.*) ;; *) die "refusing to remove $1 (not a pg_cluster.sh dir)" 2 ;; esac
    stop "$1"; rm -rf "$1" ;;
  *) die "usage: $0 check | start [-c 'name = value']... | stop DIR | destroy DIR" 2 ;;
esac
