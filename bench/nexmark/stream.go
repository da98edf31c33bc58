package nexmark

// The StreamSQL side of a query: a fresh engine in a temporary directory
// served over the PostgreSQL protocol in this process, the three nexmark
// sources, and the query as a view or a blackhole sink, measured from the
// CREATE to the moment every event's effect is committed.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/connector/nexmark"
	"streamsql/engine"
	"streamsql/exec/stream"
	"streamsql/internal/loopback"
	"streamsql/pgwire"
)

// StreamOptions configure one streaming run.
type StreamOptions struct {
	Events    int64 // nexmark.event.num
	EventRate int64 // nexmark.event.rate (events per second of event time)
	WallRate  int64 // nexmark.events.per.second (0: unlimited)
	Splits    int   // nexmark.split.num
	Sink      bool  // pass-through queries into a blackhole sink
	// Keep is how many result rows are kept as lines for a diff.
	Keep int
	// Timeout bounds the whole run.
	Timeout time.Duration
	// Commits, when set, receives each observed commit: the wall time it
	// was seen and the highest event id all sources had committed.
	Commits func(t time.Time, frontier int64)
	// Started, when set, receives the wall time just before the CREATE.
	Started func(t time.Time)
	// Kafka, when set, makes the bid source read a Kafka topic
	// (kafka.go) instead of the generator.
	Kafka *KafkaSource
	// StateMemory is the engine's state memory budget in bytes (0: the
	// engine's default).
	StateMemory int64
	// BarrierInterval, when set, is the engine's barrier_interval (how
	// often epochs commit, and so how fresh results are).
	BarrierInterval time.Duration
}

// StreamResult is what a streaming run measured.
type StreamResult struct {
	Mode     string  `json:"mode"` // view or sink
	Error    string  `json:"error,omitempty"`
	WallSec  float64 `json:"wall_sec"`
	CPUSec   float64 `json:"cpu_sec"`
	MaxRSS   int64   `json:"max_rss_bytes"`
	Rows     int64   `json:"rows"`
	Digest   string  `json:"digest,omitempty"`
	Lines    string  `json:"lines_file,omitempty"`
	SinkRows int64   `json:"sink_rows,omitempty"`
	// Epochs is how many epochs the engine committed during the run, and
	// StageMs the mean time of each stage of their barrier latency
	// (stream.EpochStages), in milliseconds.
	Epochs  int64              `json:"epochs,omitempty"`
	StageMs map[string]float64 `json:"epoch_stage_ms,omitempty"`
}

// stack is an engine and its pgwire server on a loopback port, over a
// temporary directory.
type stack struct {
	*loopback.Server
	dir string
	url string
}

func startStack(stateMemory int64) (*stack, error) {
	dir, err := os.MkdirTemp("", "streamsql-nexmark-")
	if err != nil {
		return nil, err
	}
	srv, err := loopback.Start(engine.Options{DataDir: dir, StateMemory: stateMemory,
		GoMemoryLimit: engine.GoMemoryLimit(stateMemory)}, pgwire.Options{})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &stack{Server: srv, dir: dir, url: srv.URL("bench", "streamsql")}, nil
}

// close stops the server and removes its directory.
func (s *stack) close() error {
	shutdown, err := s.Stop()
	return errors.Join(shutdown, err, os.RemoveAll(s.dir))
}

// cpuTime is the process's user plus system CPU time, and its peak
// resident set size in bytes.
func cpuTime() (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss * 1024 // Linux reports KiB
}

// RunStream runs query q once on a fresh engine. An error the engine
// reports for the query's statements is returned in the result (the
// query is listed as not running); other errors are returned.
func RunStream(ctx context.Context, q *Query, o StreamOptions, linesPath string) (*StreamResult, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	s, err := startStack(o.StateMemory)
	if err != nil {
		return nil, err
	}
	defer s.close()
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())

	res := &StreamResult{Mode: "view"}
	sources, err := SourcesSQL(o.Events, o.EventRate, o.WallRate, o.Splits)
	if err != nil {
		return nil, err
	}
	if o.Kafka != nil {
		sources = []string{kafkaSourceSQL(o.Kafka)}
	}
	if o.BarrierInterval > 0 {
		sources = append([]string{fmt.Sprintf("SET barrier_interval = '%dms'", o.BarrierInterval.Milliseconds())}, sources...)
	}
	for _, st := range append(sources, q.Setup...) {
		if _, err := conn.Exec(ctx, st); err != nil {
			res.Error = fmt.Sprintf("%s: %v", firstLine(st), err)
			return res, nil
		}
	}
	create, object := q.Create, q.View
	if o.Sink && q.PassThrough {
		object, create = q.Sink()
		res.Mode = "sink"
	}

	cpu0, _ := cpuTime()
	t0 := time.Now()
	if o.Started != nil {
		o.Started(t0)
	}
	if _, err := conn.Exec(ctx, create); err != nil {
		res.Error = err.Error()
		return res, nil
	}
	wait := func() error { return waitDone(ctx, s.Engine, object, o.Events, o.Commits) }
	if o.Kafka != nil {
		wait = func() error { return waitKafka(ctx, s.Engine, object, o.Kafka) }
	}
	if err := wait(); err != nil {
		res.Error = err.Error()
		return res, nil
	}
	// The final watermark follows the last chunk: an epoch started after
	// the sources finished covers what it closes.
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		res.Error = "FLUSH: " + err.Error()
		return res, nil
	}
	wall := time.Since(t0)
	cpu1, rss := cpuTime()
	res.WallSec, res.CPUSec, res.MaxRSS = wall.Seconds(), (cpu1 - cpu0).Seconds(), rss
	res.Epochs, res.StageMs = epochStages(s.Engine)
	if p, err := s.Engine.Progress(object); err == nil && p.Err != nil {
		res.Error = p.Err.Error()
		return res, nil
	}

	if res.Mode == "sink" {
		rows, err := conn.Query(ctx, "SHOW JOBS")
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				rows.Close()
				return nil, err
			}
			if name, _ := v[1].(string); name == object {
				res.SinkRows, _ = v[4].(int64)
			}
		}
		rows.Close()
		res.Rows = res.SinkRows
		return res, rows.Err()
	}
	if linesPath == "" {
		return res, nil
	}
	c := NewCollector(q.Compare, o.Keep)
	read := "SELECT * FROM " + q.View
	if q.Invariant != nil {
		read = q.Invariant.SQL
	}
	rows, err := conn.Query(ctx, read)
	if err != nil {
		res.Error = "reading the view: " + err.Error()
		return res, nil
	}
	for rows.Next() {
		v, err := rows.Values()
		if err == nil {
			err = c.Add(v)
		}
		if err != nil {
			rows.Close()
			res.Error = "reading the view: " + err.Error()
			return res, nil
		}
	}
	if err := rows.Err(); err != nil {
		res.Error = "reading the view: " + err.Error()
		return res, nil
	}
	res.Rows, res.Digest = c.Digest().Rows, c.Digest().String()
	if lines := c.Lines(); lines != nil {
		if err := WriteLines(linesPath, lines); err != nil {
			return nil, err
		}
		res.Lines = linesPath
	}
	return res, nil
}

// epochStages returns how many epochs eng committed and the mean time of
// each stage of their barrier latency in milliseconds.
func epochStages(eng *engine.Engine) (int64, map[string]float64) {
	m := eng.StreamMetrics()
	if m.Epochs == 0 {
		return 0, nil
	}
	ms := map[string]float64{}
	for i, name := range stream.EpochStages {
		ms[name] = m.StageSums[i] * 1000 / float64(m.Epochs)
	}
	return m.Epochs, ms
}

// waitDone waits until the job has committed every event of every source
// (the sources are bounded at events), reporting each commit it sees.
func waitDone(ctx context.Context, eng *engine.Engine, object string, events int64, seen func(time.Time, int64)) error {
	return waitCommitted(ctx, eng, object, func(positions [][]byte) (bool, string) {
		frontier, n := int64(math.MaxInt64), 0
		for _, pos := range positions {
			if pos == nil {
				continue
			}
			c, err := nexmark.Covered(pos, events)
			if err != nil {
				continue // not a nexmark source (a table's changelog)
			}
			frontier = min(frontier, c)
			n++
		}
		if n == 0 {
			frontier = 0
		}
		if seen != nil {
			seen(time.Now(), frontier)
		}
		if frontier >= events {
			return true, ""
		}
		return false, fmt.Sprintf("waiting for the sources to finish (%d of %d events committed)", frontier, events)
	})
}

// waitCommitted polls the committed source positions of the job of
// object, waiting for the next commit between looks, until done says
// they are complete; otherwise done says how far they are, for the error
// when the wait fails.
func waitCommitted(ctx context.Context, eng *engine.Engine, object string, done func(positions [][]byte) (ok bool, progress string)) error {
	for {
		p, err := eng.Progress(object)
		if err != nil {
			return err
		}
		if p.Err != nil {
			return p.Err
		}
		ok, progress := done(p.Positions)
		if ok {
			return nil
		}
		if err := eng.WaitCommit(ctx, p.Epoch); err != nil {
			return fmt.Errorf("%s: %w", progress, err)
		}
	}
}

// Latency is the freshness measured at a fixed wall-clock rate.
type Latency struct {
	// Fraction is the rate as a fraction of the throughput run's (0 for
	// a fixed -latency-rate).
	Fraction float64 `json:"fraction,omitempty"`
	Rate     int64   `json:"rate"`
	Events   int64   `json:"events"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	Samples  int     `json:"samples"`
	Error    string  `json:"error,omitempty"`
	// Epochs and StageMs: see StreamResult.
	Epochs  int64              `json:"epochs,omitempty"`
	StageMs map[string]float64 `json:"epoch_stage_ms,omitempty"`
}

// RunLatency runs q at rate events per second of wall time for about
// seconds, and measures how long after its generation each event's effect
// became readable. Event n is due at t0 + (n-1)/rate, where t0 is taken
// just before the CREATE (so the source's start-up counts against us);
// it is readable once a committed epoch covers it. Events of the first
// warm-up seconds are left out.
func RunLatency(ctx context.Context, q *Query, o StreamOptions, rate int64, seconds, warmup float64) *Latency {
	l := &Latency{Rate: rate, Events: int64(float64(rate) * seconds)}
	type obs struct {
		t time.Time
		f int64
	}
	var t0 time.Time
	var seen []obs
	o.Events, o.WallRate, o.Keep = l.Events, rate, 0
	o.Started = func(t time.Time) { t0 = t }
	o.Commits = func(t time.Time, f int64) { seen = append(seen, obs{t, f}) }
	r, err := RunStream(ctx, q, o, "")
	if err == nil && r.Error != "" {
		err = errors.New(r.Error)
	}
	if err != nil {
		l.Error = err.Error()
		return l
	}
	l.Epochs, l.StageMs = r.Epochs, r.StageMs
	first := int64(warmup*float64(rate)) + 1
	step := max(1, (l.Events-first)/100_000)
	var lat []float64
	k := 0
	for n := first; n <= l.Events; n += step {
		for k < len(seen) && seen[k].f < n {
			k++
		}
		if k == len(seen) {
			break
		}
		due := t0.Add(time.Duration(float64(n-1) / float64(rate) * float64(time.Second)))
		lat = append(lat, float64(seen[k].t.Sub(due))/float64(time.Millisecond))
	}
	if len(lat) == 0 {
		l.Error = "no samples"
		return l
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	l.P50Ms, l.P99Ms, l.MaxMs, l.Samples = pct(0.50), pct(0.99), lat[len(lat)-1], len(lat)
	return l
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	return s
}
