package udf_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/pgwire"
	"streamsql/udf"
)

// embed is what a program that embeds StreamSQL does once its Go
// functions are registered: open the engine with them, serve the
// PostgreSQL protocol on a port, and connect a client. The examples then
// run SQL over conn; done stops everything and removes the data.
func embed(fns *udf.GoFunctions) (ctx context.Context, conn *pgx.Conn, done func()) {
	dir, _ := os.MkdirTemp("", "streamsql-example-")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := engine.Open(engine.Options{DataDir: dir, Functions: fns, Logger: log})
	if err != nil {
		panic(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := pgwire.NewServer(eng, pgwire.Options{Logger: log})
	ctx, stop := context.WithCancel(context.Background())
	go srv.Serve(ctx, ln)
	conn, err = pgx.Connect(ctx, "postgres://streamsql@"+ln.Addr().String()+"/dev?sslmode=disable")
	if err != nil {
		panic(err)
	}
	return ctx, conn, func() {
		conn.Close(ctx)
		stop()
		eng.Close()
		os.RemoveAll(dir)
	}
}
