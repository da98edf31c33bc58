// Command pgcatalog-gen regenerates catalog/pgcatalog/relations.tsv and
// types.tsv from a PostgreSQL 15 (see internal/pgcataloggen):
//
//	go run ./cmd/pgcatalog-gen -dsn postgres://postgres@localhost/postgres -out catalog/pgcatalog
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"

	"streamsql/internal/pgcataloggen"
)

func main() {
	dsn := flag.String("dsn", os.Getenv("PGCATALOG_DSN"), "PostgreSQL 15 to read the catalogs from")
	out := flag.String("out", ".", "directory of package pgcatalog")
	flag.Parse()
	if err := run(*dsn, *out); err != nil {
		fmt.Fprintln(os.Stderr, "pgcatalog-gen:", err)
		os.Exit(1)
	}
}

func run(dsn, out string) error {
	if dsn == "" {
		return fmt.Errorf("no -dsn (or PGCATALOG_DSN) given")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rels, typs, err := pgcataloggen.Generate(ctx, conn)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "relations.tsv"), rels, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "types.tsv"), typs, 0o644)
}
