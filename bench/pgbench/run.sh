#!/usr/bin/env bash
# OLTP next to PostgreSQL: pgbench drives single-row INSERTs plus a read of
# an aggregate (a materialized view in StreamSQL, a summary table in
# PostgreSQL) from 50 and 200 clients against streamsqld and a throwaway
# PostgreSQL 15 on the same machine, in the same run. It writes the TPS and
# latency percentiles to $OUT (default bench/results/pgbench.md), keeping
# the file's "## Log" section.
#
#   bench/pgbench/run.sh [seconds per run, default 20]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS="${1:-20}"
OUT="${OUT:-bench/results/pgbench.md}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
PGBENCH="$PGBIN/pgbench"
[ -x "$PGBENCH" ] || { echo "pgbench not found in $PGBIN" >&2; exit 1; }

WORK="$(mktemp -d /tmp/pgbench-run.XXXXXX)"
. bench/lib.sh
# The workload: one single-row INSERT and one read of the aggregate.
SCRIPT="$PWD/bench/pgbench/script.sql"
trap bench_cleanup EXIT

# run NAME HOST PORT USER DB CLIENTS: one pgbench run; prints a table row.
run() {
  local name=$1 port=$2 user=$3 db=$4 clients=$5
  local dir="$WORK/log-$name-$clients"
  mkdir -p "$dir"
  (cd "$dir" && "$PGBENCH" -h 127.0.0.1 -p "$port" -U "$user" -n -M prepared -f "$SCRIPT" \
    -c "$clients" -j 2 -T "$SECS" -l --log-prefix=tx "$db" >"$dir/out.txt" 2>&1) || { cat "$dir/out.txt" >&2; return 1; }
  local tps p50 p99 pmax
  tps=$(awk '/^tps = /{printf "%.0f", $3}' "$dir/out.txt")
  # Column 3 of pgbench's transaction log is the latency in microseconds.
  cat "$dir"/tx.* | awk '{print $3}' | sort -n >"$dir/lat"
  local n; n=$(wc -l <"$dir/lat")
  p50=$(awk -v n="$n" 'NR==int(n*0.50)+1{printf "%.1f", $1/1000}' "$dir/lat")
  p99=$(awk -v n="$n" 'NR==int(n*0.99)+1{printf "%.1f", $1/1000}' "$dir/lat")
  pmax=$(tail -n1 "$dir/lat" | awk '{printf "%.1f", $1/1000}')
  echo "| $name | $clients | $tps | $p50 | $p99 | $pmax |"
}

echo "== building streamsqld"
go build -o "$WORK/streamsqld" ./cmd/streamsqld
SSPORT=$(free_port 56100)
"$WORK/streamsqld" -listen "127.0.0.1:$SSPORT" -data "$WORK/ss" -http off -max-connections 400 >"$WORK/ss.log" 2>&1 &
SSPID=$!
for _ in $(seq 100); do psql -h 127.0.0.1 -p "$SSPORT" -U streamsql -d dev -Atc "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
psql -q -h 127.0.0.1 -p "$SSPORT" -U streamsql -d dev -v ON_ERROR_STOP=1 \
  -c "CREATE TABLE bench_events (id bigint PRIMARY KEY, k int NOT NULL, v int)" \
  -c "CREATE MATERIALIZED VIEW bench_counts AS SELECT k, count(*) AS n FROM bench_events GROUP BY k"

echo "== starting PostgreSQL 15"
PGPORT=$(free_port 56400)
start_pg "$PGPORT" -c max_connections=400
psql -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
  -c "CREATE TABLE bench_events (id bigint PRIMARY KEY, k int NOT NULL, v int)" \
  -c "CREATE TABLE bench_counts (k int PRIMARY KEY, n bigint)" \
  -c "INSERT INTO bench_counts SELECT g, 0 FROM generate_series(0, 99) g"

{
  echo "# pgbench: single-row INSERT plus a read of an aggregate"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${SECS}s per run, pgbench -M prepared -j 2."
  echo "StreamSQL reads a materialized view (count per key); PostgreSQL a summary table. Latencies in ms per transaction."
  echo
  echo "| server | clients | TPS | p50 | p99 | max |"
  echo "|---|---|---|---|---|---|"
  for c in 50 200; do
    run streamsql "$SSPORT" streamsql dev "$c"
    run postgresql "$PGPORT" postgres postgres "$c"
  done
} | tee "$OUT.tmp"
mkdir -p "$(dirname "$OUT")"
# The hand-kept log of figures per change (a "## Log" section) stays.
if [ -f "$OUT" ] && grep -q '^## Log' "$OUT"; then
  { echo; sed -n '/^## Log/,$p' "$OUT"; } >>"$OUT.tmp"
fi
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT"
