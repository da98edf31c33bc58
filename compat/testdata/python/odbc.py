"""pyodbc catalog calls (SQLTables, SQLColumns) through psqlODBC.

Run by compat/clients_test.go with COMPAT_ODBC, a connection string.
"""
import os

import pyodbc


def check(ok, what):
    if not ok:
        raise AssertionError(what)


conn = pyodbc.connect(os.environ["COMPAT_ODBC"], autocommit=True)
cur = conn.cursor()
tables = {(r.table_schem, r.table_name): r.table_type for r in cur.tables(schema="public")}
check(tables.get(("public", "trades")) == "TABLE", f"tables: {tables}")
check(tables.get(("public", "big")) == "VIEW", f"tables: {tables}")
print("tables ok")
cols = [(r.column_name, r.type_name, r.nullable) for r in cur.columns(table="trades", schema="public")]
check([c[0] for c in cols] == ["id", "sym", "px", "ts"], f"columns: {cols}")
check(cols[0][1] == "int8" and cols[0][2] == 0 and cols[2][1] == "float8", f"columns: {cols}")
print("columns ok")
rows = cur.execute("SELECT id, sym FROM trades WHERE id = ?", 1).fetchall()
check([tuple(r) for r in rows] == [(1, "AAA")], f"query: {rows}")
print("query ok")
