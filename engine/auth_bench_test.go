package engine_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/auth"
	"streamsql/engine"
	"streamsql/internal/testserver"
	"streamsql/pgwire"
)

// BenchmarkSCRAMLogins: 500 clients log in at once, again and again, with
// SCRAM-SHA-256 (4096 iterations, PostgreSQL's default), each running one
// query per login, while another connection runs a query in a loop. It
// reports logins per second and the latency of the looping query, to show
// that logins do not starve query work. The clients run in this process
// and do the expensive half of SCRAM (PBKDF2); the server only checks the
// proof. max_connections is twice the clients: a client that closes and
// logs in again at once may otherwise find its old slot not yet released
// (53300), as with PostgreSQL. Run with: go test ./engine -run '^$' -bench SCRAMLogins -benchtime 2000x
func BenchmarkSCRAMLogins(b *testing.B) {
	const clients = 500
	hba, err := auth.ParseHBA(stringsReader("host all all 127.0.0.1/32 scram-sha-256\n"), "bench")
	if err != nil {
		b.Fatal(err)
	}
	ts := testserver.StartWire(b, engine.Options{RequireRoles: true, MaxConnections: 2 * clients, SuperuserPassword: "su"},
		pgwire.Options{Auth: pgwire.AuthConfig{HBA: hba}, MaxConnections: 2 * clients})
	ctx := context.Background()
	url := func(user, pw string) string {
		return fmt.Sprintf("postgres://%s:%s@%s:%d/streamsql?sslmode=disable", user, pw, ts.Host, ts.Port)
	}
	su, err := pgx.Connect(ctx, url("streamsql", "su"))
	if err != nil {
		b.Fatal(err)
	}
	defer su.Close(ctx)
	execAll(b, su, "CREATE USER app PASSWORD 'app-password'", "CREATE TABLE t (id int PRIMARY KEY, v int)",
		"INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g")

	// The query loop measures latency while logins run.
	stop := make(chan struct{})
	var lat []time.Duration
	var loopDone sync.WaitGroup
	loopDone.Add(1)
	go func() {
		defer loopDone.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			var n int64
			if err := su.QueryRow(ctx, "SELECT sum(v) FROM t").Scan(&n); err != nil {
				b.Error(err)
				return
			}
			lat = append(lat, time.Since(start))
		}
	}()

	var next atomic.Int64
	var failed atomic.Int64
	var firstErr atomic.Value
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				c, err := pgx.Connect(ctx, url("app", "app-password"))
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				var one int
				if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
					failed.Add(1)
				}
				c.Close(ctx)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(stop)
	loopDone.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d logins failed, the first with %v", failed.Load(), b.N, firstErr.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "logins/s")
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "query-p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "query-p99-ms")
	}
}
