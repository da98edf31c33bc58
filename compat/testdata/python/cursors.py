"""Cursors through psycopg2: a named (server-side) cursor read in
batches, a scrollable one, and DECLARE ... CURSOR FOR SUBSCRIBE with FETCH
while another connection changes the table. COMPAT_DSN names the server;
compat/cursors_test.go runs it with Debian's /usr/bin/python3."""
import os
import sys

import psycopg2


def check(ok, what):
    if not ok:
        print("FAIL:", what)
        sys.exit(1)


dsn = os.environ["COMPAT_DSN"]
w = psycopg2.connect(dsn)
w.autocommit = True
wc = w.cursor()
wc.execute("CREATE TABLE pnums (n int PRIMARY KEY, v text)")
wc.execute("INSERT INTO pnums SELECT g, 'v' || g FROM generate_series(1, 500) AS g")
wc.execute("CREATE MATERIALIZED VIEW psmall AS SELECT n, v FROM pnums WHERE n <= 2")

c = psycopg2.connect(dsn)
# A named cursor is DECLARE ... CURSOR WITHOUT HOLD FOR, then FETCH
# FORWARD itersize FROM it.
cur = c.cursor("big_read")
cur.itersize = 64
cur.execute("SELECT n FROM pnums ORDER BY n")
ns = [r[0] for r in cur]
check(ns == list(range(1, 501)), f"named cursor rows: {len(ns)}")
cur.close()

sc = c.cursor("scroller", scrollable=True)
sc.execute("SELECT n FROM pnums ORDER BY n")
check([r[0] for r in sc.fetchmany(3)] == [1, 2, 3], "fetchmany")
sc.scroll(-2)
check(sc.fetchone()[0] == 2, "scroll back")
sc.scroll(100, mode="absolute")
check(sc.fetchone()[0] == 101, "scroll absolute")
sc.close()
c.commit()
print("psycopg2 named cursors ok")

cc = c.cursor()
cc.execute("DECLARE s CURSOR FOR SUBSCRIBE psmall")
cc.execute("FETCH ALL s WITH (timeout = '5s')")
snap = sorted((r[1], r[2], r[3]) for r in cc.fetchall())
check(snap == [(1, 1, "v1"), (1, 2, "v2")], f"snapshot {snap}")
wc.execute("UPDATE pnums SET v = 'two' WHERE n = 2")
wc.execute("INSERT INTO pnums VALUES (0, 'zero')")
changes = []
while len(changes) < 3:
    cc.execute("FETCH 10 s WITH (timeout = '5s')")
    changes += [(r[1], r[2], r[3]) for r in cc.fetchall()]
check(sorted(changes) == [(-1, 2, "v2"), (1, 0, "zero"), (1, 2, "two")], f"changes {changes}")
c.rollback()
print("psycopg2 subscribe cursor ok")
