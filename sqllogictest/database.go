package sqllogictest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Databases hands out fresh, empty databases on one PostgreSQL server, so
// that every file starts from a clean state the way it does on a fresh
// streamsqld.
type Databases struct {
	// AdminDSN connects with the right to CREATE and DROP DATABASE.
	AdminDSN string
	seq      atomic.Int64
}

// Create makes a new database with C collation (so text sorts bytewise, as
// in StreamSQL) and returns a DSN for it and a function that drops it.
func (d *Databases) Create(ctx context.Context) (dsn string, drop func(context.Context) error, err error) {
	name := fmt.Sprintf("slt_%d_%d", os.Getpid(), d.seq.Add(1))
	admin, err := pgx.Connect(ctx, d.AdminDSN)
	if err != nil {
		return "", nil, fmt.Errorf("connect %s: %w", d.AdminDSN, err)
	}
	defer admin.Close(context.Background())
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident+
		" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	dsn, err = withDatabase(d.AdminDSN, name)
	if err != nil {
		return "", nil, err
	}
	drop = func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, d.AdminDSN)
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
		return err
	}
	return dsn, drop, nil
}

// withDatabase returns dsn with its database replaced by name. It accepts
// URL DSNs and key=value DSNs.
func withDatabase(dsn, name string) (string, error) {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String(), nil
	}
	// key=value form: a later dbname overrides an earlier one.
	return dsn + " dbname=" + name, nil
}
