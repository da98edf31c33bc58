"""psycopg2, psycopg 3, SQLAlchemy 1.4 and pandas against StreamSQL.

Run by compat/clients_test.go with COMPAT_DSN (keyword form) and COMPAT_URL
(postgres:// URL) naming a server that holds compat's schema. Each part
prints "<client> ok"; a failed check raises and exits non-zero.
"""
import datetime
import decimal
import os

dsn = os.environ["COMPAT_DSN"]
url = os.environ["COMPAT_URL"]


def check(ok, what):
    if not ok:
        raise AssertionError(what)


def round_trip(conn, table):
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, b boolean, n numeric(10,2), t text,"
                " ts timestamptz, d date, by bytea, f double precision)")
    ts = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    rows = [(1, True, decimal.Decimal("12.50"), "it's", ts, datetime.date(2024, 2, 29), b"\x00\xff", 1.5),
            (2, False, None, None, None, None, None, None)]
    cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
    conn.commit()
    cur.execute(f"SELECT id, b, n, t, ts, d, by, f FROM {table} WHERE id = %s OR t = %s ORDER BY id", (2, "it's"))
    got = cur.fetchall()
    check(len(got) == 2, f"{table}: rows {got}")
    r = got[0]
    check(r[0] == 1 and r[1] is True and r[2] == decimal.Decimal("12.50") and r[3] == "it's", f"{table}: {r}")
    check(r[4] == ts and r[5] == datetime.date(2024, 2, 29) and bytes(r[6]) == b"\x00\xff" and r[7] == 1.5, f"{table}: {r}")
    check(got[1][1:] == (False, None, None, None, None, None, None), f"{table}: {got[1]}")
    # A statement StreamSQL refuses keeps its SQLSTATE.
    try:
        cur.execute("SELECT * FROM nosuch")
        check(False, "query on a missing table succeeded")
    except Exception as e:  # driver-specific class, same SQLSTATE
        code = getattr(e, "pgcode", None) or getattr(getattr(e, "diag", None), "sqlstate", None)
        check(code == "42P01", f"missing table: {code} {e}")
    conn.rollback()


import psycopg2

with psycopg2.connect(dsn) as conn:
    round_trip(conn, "py2")
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", ("public",))
    check(cur.fetchone()[0] >= 2, "information_schema.tables")
print("psycopg2 ok")

import psycopg

with psycopg.connect(dsn) as conn:
    round_trip(conn, "py3")
    # Server-side prepared statements after repeated use.
    for i in range(6):
        row = conn.execute("SELECT %s::int + 1, %s::text", (i, "x")).fetchone()
        check(row == (i + 1, "x"), f"prepared: {row}")
print("psycopg3 ok")

import sqlalchemy as sa

engine = sa.create_engine(url.replace("postgres://", "postgresql+psycopg2://", 1))
insp = sa.inspect(engine)
tables = insp.get_table_names()
check("trades" in tables and "big" not in tables, f"get_table_names: {tables}")
cols = {c["name"]: c for c in insp.get_columns("trades")}
check(list(cols) == ["id", "sym", "px", "ts"], f"get_columns: {list(cols)}")
check(isinstance(cols["id"]["type"], sa.BigInteger) and not cols["id"]["nullable"], f"id column: {cols['id']}")
check(isinstance(cols["px"]["type"], sa.Float) and cols["px"]["nullable"], f"px column: {cols['px']}")
check(isinstance(cols["ts"]["type"], sa.TIMESTAMP) and cols["ts"]["type"].timezone, f"ts column: {cols['ts']}")
check("'X'" in str(cols["sym"]["default"]), f"sym default: {cols['sym']}")
pk = insp.get_pk_constraint("trades")
check(pk["constrained_columns"] == ["id"] and pk["name"] == "trades_pkey", f"get_pk_constraint: {pk}")
views = insp.get_view_names()
check("big" in views, f"get_view_names: {views}")
check("risk" in insp.get_schema_names(), "get_schema_names")
check(insp.get_table_names(schema="risk") == ["limits"], "tables of risk")
with engine.connect() as c:
    n = c.execute(sa.text("SELECT count(*) FROM trades WHERE id > :id"), {"id": 0}).scalar()
    check(n == 0, f"count: {n}")
print("sqlalchemy ok")

import pandas as pd

with engine.begin() as c:
    c.execute(sa.text("INSERT INTO trades (id, sym, px) VALUES (1, 'AAA', 101.5), (2, 'BBB', 99.0)"))
df = pd.read_sql("SELECT id, sym, px FROM trades ORDER BY id", engine)
check(list(df.columns) == ["id", "sym", "px"] and len(df) == 2, f"read_sql: {df}")
check(df["px"].sum() == 200.5 and str(df["id"].dtype) == "int64", f"read_sql values: {df}")
df = pd.read_sql_query("SELECT * FROM big", engine)
check(list(df["id"]) == [1], f"read_sql of a view: {df}")
print("pandas ok")
