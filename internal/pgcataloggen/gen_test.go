package pgcataloggen

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The committed catalog/pgcatalog/*.tsv files are what the generator
// writes from the PostgreSQL 15 at $SLT_PG_DSN: the claim in their headers
// holds, and a hand edit or a PostgreSQL difference shows up here.
func TestCommittedFilesMatchPostgres(t *testing.T) {
	dsn := os.Getenv("SLT_PG_DSN")
	if dsn == "" {
		t.Skip("SLT_PG_DSN not set: no PostgreSQL 15 to generate from")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var version int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version/10000 != 15 {
		t.Skipf("PostgreSQL %d at SLT_PG_DSN; the files are generated from 15", version)
	}
	rels, typs, err := Generate(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "catalog", "pgcatalog")
	for name, want := range map[string][]byte{"relations.tsv": rels, "types.tsv": typs} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what cmd/pgcatalog-gen writes from PostgreSQL; run go generate ./catalog/pgcatalog", name)
		}
	}
}
