package kafka_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"

	"streamsql/engine"
	"streamsql/internal/cputime"
	"streamsql/internal/sqltest"
	"streamsql/internal/testserver"
)

// BenchmarkKafkaSinkNexmarkQ0 runs Nexmark q0 (SELECT auction, bidder,
// price, date_time FROM bid) as a Kafka sink, FORMAT PLAIN ENCODE JSON,
// into a broker (kfake) in a process of its own, as a Kafka broker is:
// from CREATE SINK until every bid is delivered (the sink's rows out all
// written, its lag 0). It reports rows per second of wall time, rows per
// CPU-second of the server's process (the generator, the job, the sink
// log, the producing client), and rows per CPU-second of the server and
// the broker together (rows/cpu-s-with-broker). Run with
//
//	go test ./connector/kafka -run '^$' -bench KafkaSinkNexmarkQ0 -benchtime 1x
//
// STREAMSQL_SINK_BENCH_BROKER=inprocess puts the broker in the benchmark's
// process, as it was before: rows/cpu-s then counts it too.
func BenchmarkKafkaSinkNexmarkQ0(b *testing.B) {
	const events = 2_000_000
	// Of every 50 Nexmark events 46 are bids.
	const bids = events / 50 * 46
	for b.Loop() {
		broker := startBenchBroker(b)
		// STREAMSQL_SINK_BENCH_DIR puts the data directory elsewhere (a
		// tmpfs shows what the disk's fsyncs cost).
		dataDir := ""
		if d := os.Getenv("STREAMSQL_SINK_BENCH_DIR"); d != "" {
			var err error
			if dataDir, err = os.MkdirTemp(d, "sinkbench"); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { os.RemoveAll(dataDir) })
		}
		srv := testserver.Start(b, engine.Options{StateMemory: -1, DataDir: dataDir})
		conn, err := pgx.Connect(context.Background(), srv.URL("bench", "bench"))
		if err != nil {
			b.Fatal(err)
		}
		sqltest.Exec(b, conn, fmt.Sprintf(`CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
			date_time TIMESTAMP, extra VARCHAR) WITH (connector = 'nexmark', nexmark.table.type = 'bid', nexmark.event.num = '%d')`, events))
		cpu0, broker0, t0 := cputime.Used(), broker.cpu(), time.Now()
		sink := fmt.Sprintf(`CREATE SINK q0 AS SELECT auction, bidder, price, date_time FROM bid
			WITH (connector = 'kafka', topic = 'q0', properties.bootstrap.server = '%s') FORMAT PLAIN ENCODE JSON`, broker.addr)
		if os.Getenv("STREAMSQL_SINK_BENCH") == "blackhole" {
			// The same job without the Kafka sink's cost, to compare.
			sink = `CREATE SINK q0 AS SELECT auction, bidder, price, date_time FROM bid WITH (connector = 'blackhole')`
		}
		sqltest.Exec(b, conn, sink)
		var rows int64
		last, stable := int64(-1), time.Time{}
		var written time.Duration // when the job had written every row to the log
		for {
			var out, lag int64
			if err := conn.QueryRow(context.Background(), `SELECT "Rows out", "Sink lag rows" FROM (SHOW JOBS) j WHERE "Name" = 'q0'`).Scan(&out, &lag); err != nil {
				out, lag = sinkJob(b, conn)
			}
			if out != last {
				written = time.Since(t0)
			}
			// Every bid delivered: on a busy machine the generator can
			// pause for longer than the stable interval, which alone
			// would end the run early.
			if lag == 0 && out == last && out >= bids {
				if time.Since(stable) > 300*time.Millisecond {
					rows = out
					break
				}
			} else {
				last, stable = out, time.Now()
			}
			time.Sleep(20 * time.Millisecond)
		}
		wall := time.Since(t0) - 300*time.Millisecond
		used, brokerUsed := cputime.Used()-cpu0, broker.cpu()-broker0
		b.ReportMetric(float64(rows)/wall.Seconds(), "rows/s")
		b.ReportMetric(float64(rows)/used.Seconds(), "rows/cpu-s")
		b.ReportMetric(float64(rows)/(used+brokerUsed).Seconds(), "rows/cpu-s-with-broker")
		b.ReportMetric(float64(rows), "rows")
		b.Logf("job wrote every row to the sink log after %v", written.Round(time.Millisecond))
		b.Logf("%d rows in %v wall, %v CPU of the server's process, %v of the broker's (%s; GOMAXPROCS %d)", rows, wall.Round(time.Millisecond),
			used.Round(time.Millisecond), brokerUsed.Round(time.Millisecond), broker.where, runtime.GOMAXPROCS(0))
		conn.Close(context.Background())
		broker.close()
	}
}

// sinkJob reads the q0 sink's rows out and lag from SHOW JOBS.
func sinkJob(b *testing.B, conn *pgx.Conn) (out, lag int64) {
	row := sqltest.JobColumns(b, conn, "q0")
	if row == nil {
		return 0, -1
	}
	return row["Rows out"].(int64), row["Sink lag rows"].(int64)
}

// benchBroker is the benchmark's broker: a child process running
// TestSinkBenchBroker, or a cluster in this process.
type benchBroker struct {
	addr, where string
	cpu         func() time.Duration
	close       func()
}

// startBenchBroker starts the benchmark's broker with topic q0.
func startBenchBroker(b *testing.B) *benchBroker {
	if os.Getenv("STREAMSQL_SINK_BENCH_BROKER") == "inprocess" {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "q0"))
		if err != nil {
			b.Fatal(err)
		}
		return &benchBroker{addr: c.ListenAddrs()[0], where: "broker in the same process, counted in both",
			cpu: func() time.Duration { return 0 }, close: c.Close}
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestSinkBenchBroker$", "-test.v")
	cmd.Env = append(os.Environ(), "STREAMSQL_SINK_BENCH_BROKER=child")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop := func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Logf("broker process: %v", err)
		}
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "sink bench broker at "); ok {
			go io.Copy(io.Discard, stdout)
			pid := cmd.Process.Pid
			return &benchBroker{addr: addr, where: "broker in its own process",
				cpu: func() time.Duration { return cputime.Process(pid) }, close: stop}
		}
	}
	stop()
	b.Fatalf("the broker process did not say its address: %v", sc.Err())
	return nil
}

// TestSinkBenchBroker is BenchmarkKafkaSinkNexmarkQ0's broker process:
// it serves topic q0 until its standard input closes.
func TestSinkBenchBroker(t *testing.T) {
	if os.Getenv("STREAMSQL_SINK_BENCH_BROKER") != "child" {
		t.Skip("the broker process of BenchmarkKafkaSinkNexmarkQ0")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "q0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Printf("sink bench broker at %s\n", c.ListenAddrs()[0])
	io.Copy(io.Discard, os.Stdin)
}
