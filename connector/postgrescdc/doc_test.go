package postgrescdc_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/internal/doctest"
)

// TestDocExample runs the example of docs/connectors/postgres-cdc.md: the
// upstream statements on the PostgreSQL of SLT_PG_DSN, the StreamSQL
// statements on a server, then the upstream changes; each query the
// page shows must give the rows it shows. Names starting with
// shop_orders get a unique suffix, and the connection options point at
// SLT_PG_DSN.
func TestDocExample(t *testing.T) {
	m := doctest.Block(t, "docs/connectors/postgres-cdc.md", "(?s)<!-- example: postgres-cdc -->\n```sql\n(.*?)```.*?```sql\n(.*?)```.*?```sql\n(.*?)```(.*)")
	setup, create, changes := string(m[1]), string(m[2]), string(m[3])
	outputs := regexp.MustCompile("(?s)```text\n(SELECT .*?);\n(.*?)```").FindAllStringSubmatch(string(m[4]), -1)
	if len(outputs) != 2 {
		t.Fatalf("found %d query outputs after the example", len(outputs))
	}

	cfg, up := upstreamDB(t)
	name := fmt.Sprintf("shop_orders_%d", time.Now().UnixNano()%1e9)
	rename := func(s string) string { return strings.ReplaceAll(s, "shop_orders", name) }
	dropWhenDone(t, up, name)
	mustExec(t, up, rename(setup))
	conn := map[string]string{"hostname": cfg.Host, "port": fmt.Sprint(cfg.Port), "username": cfg.User,
		"password": cfg.Password, "database.name": cfg.Database}
	create = rename(create)
	for k, v := range conn {
		create = regexp.MustCompile(regexp.QuoteMeta(k)+` = '[^']*'`).ReplaceAllLiteralString(create, k+" = '"+v+"'")
	}

	ss := streamsqlConn(t)
	mustExec(t, ss, create)
	// The changes come after the snapshot was read.
	eventually(t, ss, "SELECT count(*) FROM orders", "3")
	mustExec(t, up, rename(changes))
	for _, o := range outputs {
		eventually(t, ss, o[1], strings.TrimSpace(o[2]))
	}
}

// eventually waits until q's rows, cells separated by " | ", are want.
func eventually(t *testing.T, c *pgx.Conn, q, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var err error
		got, err = textSep(c, q, " | ")
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got == want {
			return
		}
	}
	t.Fatalf("%s:\n got: %s\nwant: %s", q, got, want)
}
