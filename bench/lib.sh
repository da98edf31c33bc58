# Shell pieces the benchmark scripts that compare with PostgreSQL share.
# Source it after setting WORK (a scratch directory) and PGBIN.

# SSPID is the streamsqld the script started, if any.
SSPID=""

# bench_cleanup stops what the script started and removes WORK.
bench_cleanup() {
  [ -n "$SSPID" ] && kill "$SSPID" 2>/dev/null && wait "$SSPID" 2>/dev/null || true
  if [ -d "$WORK/pg" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}

# free_port prints the first port from $1 on (200 tried) that nothing
# listens on.
free_port() {
  for p in $(seq "$1" $(($1 + 200))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  return 1
}

# start_pg PORT [server options]: a throwaway PostgreSQL cluster in
# $WORK/pg on PORT, trusting loopback.
start_pg() {
  local port=$1
  shift
  mkdir -p "$WORK/pg" && chown postgres "$WORK" "$WORK/pg"
  runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg" --locale=C -E UTF8 -A trust >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 $*" \
    -l "$WORK/pg.log" -w start >/dev/null
}
