#!/usr/bin/env bash
# Tables next to PostgreSQL: COPY (batched and large), multi-row INSERT and
# the freshness of a single-row change, into a table that a per-symbol
# aggregate view reads, on streamsqld and on a throwaway PostgreSQL 15 on the
# same machine in the same run (bench/cmd/tables does the measuring). Writes
# bench/results/tables.md (or $OUT).
#
#   bench/tables/run.sh [rows for batched COPY, default 200000]
#   WINDOW_GROUPS=0 skips the windowed view (default 300000 groups)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS="${1:-200000}"
OUT="${OUT:-bench/results/tables.md}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"

WORK="$(mktemp -d /tmp/tables-run.XXXXXX)"
. bench/lib.sh
trap bench_cleanup EXIT

echo "== building streamsqld and the measuring client"
go build -o "$WORK/streamsqld" ./cmd/streamsqld
(cd bench && go build -o "$WORK/tables" ./cmd/tables)
ARGS=(-rows "$ROWS" -big "$ROWS" -insert-rows $((ROWS / 4)) -fresh 300 -window-groups "${WINDOW_GROUPS:-300000}" -window-fresh 100)

SSPORT=$(free_port 56600)
"$WORK/streamsqld" -listen "127.0.0.1:$SSPORT" -data "$WORK/ss" -http off >"$WORK/ss.log" 2>&1 &
SSPID=$!
for _ in $(seq 100); do psql -h 127.0.0.1 -p "$SSPORT" -U streamsql -d dev -Atc "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
echo "== streamsql"
"$WORK/tables" -kind streamsql -pid "$SSPID" -url "postgres://streamsql@127.0.0.1:$SSPORT/dev" "${ARGS[@]}" >"$WORK/ss.json"
kill "$SSPID"; wait "$SSPID" 2>/dev/null || true; SSPID=""

echo "== PostgreSQL 15"
PGPORT=$(free_port 56800)
start_pg "$PGPORT"
"$WORK/tables" -kind postgres -pid "$(head -1 "$WORK/pg/postmaster.pid")" -url "postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable" "${ARGS[@]}" >"$WORK/pg.json"

python3 - "$WORK/ss.json" "$WORK/pg.json" "$ROWS" >"$OUT.tmp" <<'PY'
import json, sys, datetime, os
ss, pg = (json.load(open(p)) for p in sys.argv[1:3])
rows = int(sys.argv[3])
def f(v): return f"{v:,.0f}"
print("# Tables: COPY, INSERT and single-row freshness next to PostgreSQL 15")
print()
print(f"{datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%dT%H:%MZ')}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end.")
print(f"trades(id bigint primary key, sym text, px double precision, qty int), a view counting and summing per symbol (500 symbols).")
print("StreamSQL keeps the view itself; PostgreSQL's is a materialized view refreshed after each load (and after each single-row insert).")
print("Rows per server CPU-second divide by the CPU time of the server's processes only (the client runs on the same cores).")
print()
print("| measure | StreamSQL | PostgreSQL 15 |")
print("|---|---|---|")
print(f"| COPY of {rows:,} rows in COPYs of 1,000, rows/s | {f(ss['copy_rows_per_sec'])} | {f(pg['copy_rows_per_sec'])} |")
print(f"| same, rows per server CPU-second | {f(ss.get('copy_rows_per_server_cpu_sec',0))} | {f(pg.get('copy_rows_per_server_cpu_sec',0))} |")
print(f"| one COPY, p50 / p99 ms | {ss['copy_batch_p50_ms']:.1f} / {ss['copy_batch_p99_ms']:.1f} | {pg['copy_batch_p50_ms']:.1f} / {pg['copy_batch_p99_ms']:.1f} |")
print(f"| one COPY of {rows:,} rows, rows/s | {f(ss['big_copy_rows_per_sec'])} | {f(pg['big_copy_rows_per_sec'])} |")
print(f"| same, rows per server CPU-second | {f(ss.get('big_copy_rows_per_server_cpu_sec',0))} | {f(pg.get('big_copy_rows_per_server_cpu_sec',0))} |")
print(f"| INSERT of 1,000 rows per statement, rows/s | {f(ss['insert_rows_per_sec'])} | {f(pg['insert_rows_per_sec'])} |")
print(f"| same, rows per server CPU-second | {f(ss.get('insert_rows_per_server_cpu_sec',0))} | {f(pg.get('insert_rows_per_server_cpu_sec',0))} |")
print(f"| single-row INSERT visible in the view, p50 / p99 ms | {ss['fresh_p50_ms']:.1f} / {ss['fresh_p99_ms']:.1f} | {pg['fresh_p50_ms']:.1f} / {pg['fresh_p99_ms']:.1f} (refresh) |")
if ss.get('window_groups'):
    g = ss['window_groups']
    print(f"| same, windowed view of {g:,} groups (one-minute TUMBLE per symbol; PostgreSQL: date_trunc, indexed), p50 / p99 ms | {ss['window_fresh_p50_ms']:.1f} / {ss['window_fresh_p99_ms']:.1f} | {pg.get('window_fresh_p50_ms',0):.1f} / {pg.get('window_fresh_p99_ms',0):.1f} (refresh) |")
PY
mkdir -p "$(dirname "$OUT")"
if [ -f "$OUT" ] && grep -q '^## Log' "$OUT"; then
  { echo; sed -n '/^## Log/,$p' "$OUT"; } >>"$OUT.tmp"
fi
mv "$OUT.tmp" "$OUT"
cat "$OUT"
