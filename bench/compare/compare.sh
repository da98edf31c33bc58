#!/usr/bin/env bash
# Runs the Nexmark queries with two builds of the harness (each embeds its
# engine), alternating query by query so both see the same machine, and
# prints one table: events per CPU-second and peak RSS side by side.
#
#   bench/compare/compare.sh OLD_NEXMARK NEW_NEXMARK [harness options...]
#   e.g. bench/compare/compare.sh /tmp/nexmark-main bin/nexmark -events 2000000
set -euo pipefail
OLD=$(realpath "$1"); NEW=$(realpath "$2"); shift 2
cd "$(dirname "$0")/.."
QUERIES="${QUERIES:-q0,q1,q2,q3,q4,q5,q6,q7,q8,q9,q10,q11,q12,q13,q14,q15,q16,q17,q18,q19,q20,q21,q22}"
WORK=$(mktemp -d /tmp/nexmark-compare.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# Both binaries run from fresh copies: a file's page-cache state (how it was
# written and read before) changes how much of it a process maps, and a
# freshly linked binary measured against an old one showed 20 MB more
# file-backed RSS at idle that a copy of each does not.
cp "$OLD" "$WORK/nexmark-old"; cp "$NEW" "$WORK/nexmark-new"
OLD="$WORK/nexmark-old"; NEW="$WORK/nexmark-new"
for q in ${QUERIES//,/ }; do
  "$OLD" -queries "$q" -duckdb=false -latency=false -out "$WORK/old-$q" "$@" >/dev/null 2>&1 || echo "$q: old run failed" >&2
  "$NEW" -queries "$q" -duckdb=false -latency=false -out "$WORK/new-$q" "$@" >/dev/null 2>&1 || echo "$q: new run failed" >&2
done
python3 - "$WORK" "$QUERIES" <<'PY'
import json, os, sys
work, queries = sys.argv[1], sys.argv[2].split(",")
def load(side, q):
    p = os.path.join(work, f"{side}-{q}", "latest.json")
    if not os.path.exists(p):
        return None
    d = json.load(open(p))
    return d, next((r for r in d["queries"] if r["query"] == q), None)
hdr = None
print("| query | old events/CPU-s | new events/CPU-s | new/old | old peak RSS MB | new peak RSS MB | new/old |")
print("|---|---:|---:|---:|---:|---:|---:|")
for q in queries:
    o, n = load("old", q), load("new", q)
    if hdr is None and o:
        d = o[0]
        hdr = f"{d['date']}, {d['go_version']}, {d['cores']} cores ({d['cpu']}), {d['options']}"
    if not o or not n or not o[1] or not n[1] or o[1].get("status") != "ok" or n[1].get("status") != "ok":
        print(f"| {q} | {o and o[1] and o[1].get('status')} | {n and n[1] and n[1].get('status')} | | | | |")
        continue
    oe, ne = o[1]["events_per_cpu_sec"], n[1]["events_per_cpu_sec"]
    om, nm = o[1]["streamsql"]["max_rss_bytes"] / 2**20, n[1]["streamsql"]["max_rss_bytes"] / 2**20
    print(f"| {q} | {oe:,.0f} | {ne:,.0f} | {ne/oe:.2f} | {om:,.0f} | {nm:,.0f} | {nm/om:.2f} |")
print()
print(hdr or "")
PY
