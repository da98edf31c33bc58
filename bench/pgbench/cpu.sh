#!/usr/bin/env bash
# Server CPU per transaction of the bench/pgbench workload: on a shared
# machine latency is noise, but the CPU seconds streamsqld spends per
# transaction (utime+stime from /proc/PID/stat over a pgbench run, divided
# by the transactions) is not. Prints one line per client count; with
# PROFILE=dir it also saves a CPU and an allocs profile of each run there.
#
#   bench/pgbench/cpu.sh [seconds per run, default 15] [clients..., default 50 200]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS="${1:-15}"
shift || true
CLIENTS="${*:-50 200}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
PGBENCH="$PGBIN/pgbench"
WORK="$(mktemp -d /tmp/pgbench-cpu.XXXXXX)"
. bench/lib.sh
# The workload: one single-row INSERT and one read of the aggregate.
SCRIPT="$PWD/bench/pgbench/script.sql"
trap bench_cleanup EXIT

go build -o "$WORK/streamsqld" ./cmd/streamsqld
SSPORT=$(free_port 56300)
HTTP=""
if [ -n "${PROFILE:-}" ]; then
  HTTPPORT=$(free_port 56800)
  HTTP="127.0.0.1:$HTTPPORT"
  mkdir -p "$PROFILE"
fi
"$WORK/streamsqld" -listen "127.0.0.1:$SSPORT" -data "$WORK/ss" -http "${HTTP:-off}" -max-connections 400 >"$WORK/ss.log" 2>&1 &
SSPID=$!
for _ in $(seq 300); do psql -h 127.0.0.1 -p "$SSPORT" -U streamsql -d dev -Atc "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
psql -q -h 127.0.0.1 -p "$SSPORT" -U streamsql -d dev -v ON_ERROR_STOP=1 \
  -c "CREATE TABLE bench_events (id bigint PRIMARY KEY, k int NOT NULL, v int)" \
  -c "CREATE MATERIALIZED VIEW bench_counts AS SELECT k, count(*) AS n FROM bench_events GROUP BY k"

ticks() { awk '{print $14 + $15}' "/proc/$SSPID/stat"; }
HZ=$(getconf CLK_TCK)
for c in $CLIENTS; do
  CURLPID=""
  if [ -n "${PROFILE:-}" ]; then
    curl -s -o "$PROFILE/cpu-$c.pprof" "http://$HTTP/debug/pprof/profile?seconds=$((SECS - 2))" &
    CURLPID=$!
  fi
  t0=$(ticks)
  "$PGBENCH" -h 127.0.0.1 -p "$SSPORT" -U streamsql -n -M prepared -f "$SCRIPT" -c "$c" -j 2 -T "$SECS" dev >"$WORK/out-$c.txt" 2>&1
  t1=$(ticks)
  [ -n "$CURLPID" ] && wait "$CURLPID"
  [ -n "${PROFILE:-}" ] && curl -s -o "$PROFILE/allocs-$c.pprof" "http://$HTTP/debug/pprof/allocs"
  tx=$(awk '/number of transactions actually processed/{print $NF}' "$WORK/out-$c.txt" | cut -d/ -f1)
  tps=$(awk '/^tps = /{printf "%.0f", $3}' "$WORK/out-$c.txt")
  awk -v c="$c" -v t="$((t1 - t0))" -v hz="$HZ" -v tx="$tx" -v tps="$tps" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" \
    'BEGIN{printf "clients %d: %d tx, %s TPS, server CPU %.2f s, %.1f CPU-us/tx, load %s\n", c, tx, tps, t/hz, t/hz/tx*1e6, load}'
done
