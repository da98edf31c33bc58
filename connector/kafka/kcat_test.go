package kafka_test

import (
	"bytes"
	"fmt"
	osexec "os/exec"
	"strings"
	"testing"

	"streamsql/internal/sqltest"
)

// TestKcatCompat has kcat (Debian's package, an outside librdkafka
// client) produce keyed JSON trades into the broker; the view over the
// source is checked over the wire.
func TestKcatCompat(t *testing.T) {
	kcat, err := osexec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install kcat)")
	}
	_, addr := brokerTopics(t, 2, "kc_trades")
	var in bytes.Buffer
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&in, "S%d|{\"sym\": \"S%d\", \"qty\": %d, \"price\": %d}\n", i%4, i%4, i, 100+i%4)
	}
	cmd := osexec.Command(kcat, "-P", "-b", addr, "-t", "kc_trades", "-K", "|")
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	_, conn := startServer(t)
	sqltest.Exec(t, conn, fmt.Sprintf(`CREATE SOURCE kc_trades (sym varchar, qty int, price int) INCLUDE key AS k
		WITH (connector = 'kafka', topic = 'kc_trades', properties.bootstrap.server = '%s') FORMAT PLAIN ENCODE JSON`, addr),
		`CREATE MATERIALIZED VIEW kc_volume AS SELECT sym, count(*) AS n, sum(qty * price) AS notional,
			bool_and(k = sym::bytea) AS keyed FROM kc_trades GROUP BY sym`)
	var want []string
	for s := 0; s < 4; s++ {
		n, notional := 0, 0
		for i := 1; i <= 40; i++ {
			if i%4 == s {
				n++
				notional += i * (100 + s)
			}
		}
		want = append(want, fmt.Sprintf("S%d %d %d true", s, n, notional))
	}
	sqltest.Eventually(t, conn, "SELECT sym, n, notional, keyed FROM kc_volume ORDER BY sym", strings.Join(want, "\n"))
}
