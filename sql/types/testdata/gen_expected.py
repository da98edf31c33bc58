#!/usr/bin/python3
"""Regenerates text_io.jsonl and casts.jsonl from a PostgreSQL 15 server.

Usage: gen_expected.py PORT   (psql on /tmp socket, user postgres)

Each case line is TYPE<TAB>INPUT[<TAB>TIMEZONE] (text_cases.txt) or
FROM<TAB>TO<TAB>INPUT[<TAB>TIMEZONE] (cast_cases.txt). The server's output
(format('%s', value), i.e. the type's output function) or its SQLSTATE and
message is recorded; the Go tests compare against these files without a
server.
"""
import json, subprocess, sys

port = sys.argv[1]
FN = r"""
create or replace function pg_temp.t(q text, tz text) returns text as $f$
declare r text;
begin
  perform set_config('timezone', tz, true);
  execute q into r;
  return r;
exception when others then
  return 'ERROR ' || sqlstate || ' ' || sqlerrm;
end $f$ language plpgsql;
"""

def lit(s):
    return "'" + s.replace("'", "''") + "'"

def run(queries):
    vals = ",\n".join("(%d, %s, %s)" % (i, lit(q), lit(tz)) for i, (q, tz) in enumerate(queries))
    sql = FN + "select string_agg(pg_temp.t(q, tz), E'\\x1e' order by n) from (values %s) v(n, q, tz);\n" % vals
    out = subprocess.run(["psql", "-h", "/tmp", "-p", port, "-U", "postgres", "-X", "-q", "-A", "-t",
                          "-v", "ON_ERROR_STOP=1"], input=sql.encode(),
                         capture_output=True, check=True).stdout.decode()
    rows = out[:-1].split("\x1e")
    assert len(rows) == len(queries), (len(rows), len(queries))
    return rows

def result(r):
    if r.startswith("ERROR "):
        return {"err": r[6:11], "msg": r[12:]}
    return {"out": r}

def cases(path):
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        yield line.split("\t")

text = list(cases("text_cases.txt"))
qs = [("select format('%%s', %s::%s)" % (lit(c[1]), c[0]), c[2] if len(c) > 2 else "UTC") for c in text]
with open("text_io.jsonl", "w", encoding="utf-8") as f:
    for c, r in zip(text, run(qs)):
        d = {"type": c[0], "in": c[1]}
        if len(c) > 2:
            d["tz"] = c[2]
        d.update(result(r))
        f.write(json.dumps(d, ensure_ascii=False) + "\n")

casts = list(cases("cast_cases.txt"))
qs = [("select format('%%s', %s::%s::%s)" % (lit(c[2]), c[0], c[1]), c[3] if len(c) > 3 else "UTC") for c in casts]
with open("casts.jsonl", "w", encoding="utf-8") as f:
    for c, r in zip(casts, run(qs)):
        d = {"from": c[0], "to": c[1], "in": c[2]}
        if len(c) > 3:
            d["tz"] = c[3]
        d.update(result(r))
        f.write(json.dumps(d, ensure_ascii=False) + "\n")
