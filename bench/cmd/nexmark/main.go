// Command nexmark runs the Nexmark benchmark: every query through an
// in-process StreamSQL engine, and the same query in DuckDB over the same
// events, and writes the table to bench/results/.
//
// Each query's streaming run happens in a child process of this command
// (the same binary with -child), so its peak memory, CPU time and any
// failure are its own. The parent then loads the events into DuckDB once
// and runs every query there, compares results and writes the report.
//
//	go run -tags duckdb_arrow ./cmd/nexmark -events 1000000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"streamsql/bench/nexmark"
	sqlexec "streamsql/exec"
	"streamsql/exec/stream"
)

type flags struct {
	events, eventRate int64
	splits            int
	queries           string
	sinks, duck       bool
	latency           bool
	latFracs          string
	latRate           int64
	latSecs           float64
	latWarmup         float64
	plot              string
	keep              int
	timeout           time.Duration
	out               string
	cpuprofile        string
	stateMemory       string
	stateMem          int64 // stateMemory in bytes
	barrier           time.Duration
	check             bool
	child             string
	childOut          string

	// The Kafka mode (after the queries, -kafka json,avro).
	kafka           string
	kafkaEvents     int64
	kafkaPartitions int
	kafkaQuery      string
	// internal: the child reads the bids from this topic.
	kafkaAddr, kafkaTopic, kafkaEncode, kafkaRegistry, kafkaOffsets string
}

func main() {
	var f flags
	flag.Int64Var(&f.events, "events", 10_000_000, "events per run (nexmark.event.num)")
	flag.Int64Var(&f.eventRate, "rate", 10_000_000, "events per second of event time (nexmark.event.rate)")
	flag.IntVar(&f.splits, "splits", 1, "generator goroutines per source (nexmark.split.num)")
	flag.StringVar(&f.queries, "queries", "", "comma-separated queries to run (default: all; none: only the Kafka mode)")
	flag.BoolVar(&f.sinks, "sinks", true, "run pass-through queries into a blackhole sink instead of a view (their results are then counted, not compared)")
	flag.BoolVar(&f.duck, "duckdb", true, "run the DuckDB baseline and compare results")
	flag.BoolVar(&f.latency, "latency", true, "measure freshness latency in a second, rate-limited run")
	flag.StringVar(&f.latFracs, "latency-fractions", "0.15,0.5,0.8", "latency runs: their rates as fractions of the measured throughput, comma-separated")
	flag.StringVar(&f.plot, "plot", "q1,q5,a1,a2", "queries whose freshness curve (p50/p99 against load) is drawn into freshness.png")
	flag.Int64Var(&f.latRate, "latency-rate", 0, "one latency run at exactly this many events/s of wall time, instead of -latency-fractions")
	flag.Float64Var(&f.latSecs, "latency-seconds", 5, "length of the latency run")
	flag.Float64Var(&f.latWarmup, "latency-warmup", 1, "seconds of the latency run left out of the percentiles")
	flag.IntVar(&f.keep, "keep", 300_000, "result rows kept per side to show differences")
	flag.DurationVar(&f.timeout, "timeout", 15*time.Minute, "time limit of one query's streaming run")
	flag.StringVar(&f.out, "out", "results", "directory for latest.md and latest.json")
	flag.StringVar(&f.stateMemory, "state-memory", "", "the engine's state memory budget, e.g. 256MB (default: the engine's own, half of the machine's memory)")
	flag.DurationVar(&f.barrier, "barrier-interval", 0, "the engine's barrier_interval, e.g. 20ms (default: the engine's own)")
	flag.StringVar(&f.cpuprofile, "cpuprofile", "", "directory for a CPU profile of each query's streaming run (<query>.pprof)")
	flag.BoolVar(&f.check, "check", false, "exit with status 1 when a result differs from DuckDB's")
	flag.StringVar(&f.child, "child", "", "internal: run this query's streaming side and write JSON to -child-out")
	flag.StringVar(&f.childOut, "child-out", "", "internal: where -child writes its result")
	flag.StringVar(&f.kafka, "kafka", "", "Kafka mode: encodings (json,avro) the bids are produced in and read back with a Kafka source, after the queries")
	flag.Int64Var(&f.kafkaEvents, "kafka-events", 2_000_000, "Kafka mode: events whose bids are produced (the broker keeps them in memory)")
	flag.IntVar(&f.kafkaPartitions, "kafka-partitions", 4, "Kafka mode: partitions of the topic")
	flag.StringVar(&f.kafkaQuery, "kafka-query", "q0", "Kafka mode: the query (it may read only the bid source)")
	flag.StringVar(&f.kafkaAddr, "kafka-addr", "", "internal: the broker the child reads from")
	flag.StringVar(&f.kafkaTopic, "kafka-topic", "", "internal: the topic")
	flag.StringVar(&f.kafkaEncode, "kafka-encode", "", "internal: JSON or AVRO")
	flag.StringVar(&f.kafkaRegistry, "kafka-registry", "", "internal: the schema registry URL")
	flag.StringVar(&f.kafkaOffsets, "kafka-offsets", "", "internal: each partition's end offset")
	flag.Parse()
	if f.stateMemory != "" {
		n, err := sqlexec.ParseSize(f.stateMemory, sqlexec.PlainBytes)
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "nexmark: -state-memory:", f.stateMemory, err)
			os.Exit(2)
		}
		f.stateMem = n
	}

	if f.child != "" {
		if err := runChild(f); err != nil {
			fmt.Fprintln(os.Stderr, "nexmark child:", err)
			os.Exit(2)
		}
		return
	}
	r, err := runAll(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nexmark:", err)
		os.Exit(2)
	}
	if f.check && r.Failed() {
		fmt.Fprintln(os.Stderr, "nexmark: results differ from DuckDB")
		os.Exit(1)
	}
}

// childResult is what a child process hands back.
type childResult struct {
	Stream  *nexmark.StreamResult `json:"stream"`
	Latency []*nexmark.Latency    `json:"latency,omitempty"`
}

func selected(f flags) ([]*nexmark.Query, error) {
	all, err := nexmark.Queries()
	if err != nil {
		return nil, err
	}
	if f.queries == "" {
		return all, nil
	}
	if f.queries == "none" { // the Kafka mode alone
		return nil, nil
	}
	var out []*nexmark.Query
	for _, name := range strings.Split(f.queries, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, q := range all {
			if q.Name == name {
				out, found = append(out, q), true
			}
		}
		if !found {
			return nil, fmt.Errorf("no query %q", name)
		}
	}
	return out, nil
}

func streamOptions(f flags) nexmark.StreamOptions {
	return nexmark.StreamOptions{Events: f.events, EventRate: f.eventRate, Splits: f.splits, Sink: f.sinks,
		Keep: f.keep, Timeout: f.timeout, StateMemory: f.stateMem, BarrierInterval: f.barrier}
}

// latencyFractions are the loads of the latency runs, as fractions of the
// throughput run's rate; with -latency-rate, one run at that rate (its
// fraction 0: not relative to the throughput).
func latencyFractions(f flags) ([]float64, error) {
	if f.latRate > 0 {
		return []float64{0}, nil
	}
	var out []float64
	for _, p := range strings.Split(f.latFracs, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v <= 0 || v > 1 {
			return nil, fmt.Errorf("-latency-fractions: %q is not a fraction in (0, 1]", p)
		}
		out = append(out, v)
	}
	return out, nil
}

// runChild is one query's streaming side: the throughput run, then the
// latency runs at fractions of the throughput it reached (or at
// -latency-rate).
func runChild(f flags) error {
	f.queries = f.child
	qs, err := selected(f)
	if err != nil {
		return err
	}
	if len(qs) != 1 {
		return fmt.Errorf("-child takes one query")
	}
	q := qs[0]
	ctx := context.Background()
	if f.cpuprofile != "" {
		pf, err := os.Create(filepath.Join(f.cpuprofile, q.Name+".pprof"))
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
	}
	o := streamOptions(f)
	if f.kafkaAddr != "" {
		offs, err := nexmark.DecodeKafkaOffsets(f.kafkaOffsets)
		if err != nil {
			return err
		}
		o.Kafka = &nexmark.KafkaSource{Addr: f.kafkaAddr, Topic: f.kafkaTopic, Encode: f.kafkaEncode,
			Registry: f.kafkaRegistry, Offsets: offs}
		f.latency = false
	}
	s, err := nexmark.RunStream(ctx, q, o, f.childOut+".lines")
	if f.cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	res := childResult{Stream: s}
	if f.latency && s.Error == "" && s.WallSec > 0 {
		fracs, err := latencyFractions(f)
		if err != nil {
			return err
		}
		for _, frac := range fracs {
			rate := f.latRate
			if rate == 0 {
				rate = max(int64(frac*float64(f.events)/s.WallSec), 1000)
			}
			l := nexmark.RunLatency(ctx, q, streamOptions(f), rate, f.latSecs, f.latWarmup)
			l.Fraction = frac
			res.Latency = append(res.Latency, l)
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return os.WriteFile(f.childOut, b, 0o644)
}

func childArgs(f flags, q string, out string) []string {
	args := []string{"-child", q, "-child-out", out,
		"-events", strconv.FormatInt(f.events, 10), "-rate", strconv.FormatInt(f.eventRate, 10),
		"-splits", strconv.Itoa(f.splits), "-sinks=" + strconv.FormatBool(f.sinks),
		"-latency=" + strconv.FormatBool(f.latency),
		"-latency-fractions", f.latFracs, "-latency-rate", strconv.FormatInt(f.latRate, 10), "-latency-seconds", fmt.Sprint(f.latSecs),
		"-latency-warmup", fmt.Sprint(f.latWarmup), "-keep", strconv.Itoa(f.keep), "-timeout", f.timeout.String()}
	if f.cpuprofile != "" {
		args = append(args, "-cpuprofile", f.cpuprofile)
	}
	if f.stateMemory != "" {
		args = append(args, "-state-memory", f.stateMemory)
	}
	if f.barrier > 0 {
		args = append(args, "-barrier-interval", f.barrier.String())
	}
	return args
}

func runAll(f flags) (*nexmark.Report, error) {
	start := time.Now()
	qs, err := selected(f)
	if err != nil {
		return nil, err
	}
	if f.cpuprofile != "" {
		if err := os.MkdirAll(f.cpuprofile, 0o755); err != nil {
			return nil, err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "nexmark-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	fracs, err := latencyFractions(f)
	if err != nil {
		return nil, err
	}
	rep := nexmark.NewReport(nexmark.Options{Events: f.events, EventRate: f.eventRate, Splits: f.splits, Sinks: f.sinks,
		LatencyFracs: fracs, LatencyRate: f.latRate, LatencySeconds: f.latSecs, LatencyWarmup: f.latWarmup, DuckDB: f.duck, StateMemory: f.stateMem, BarrierIntervalMs: f.barrier.Milliseconds()})
	if f.latRate > 0 {
		rep.Options.LatencyFracs = nil
	}
	if !f.latency {
		rep.Options.LatencyFracs, rep.Options.LatencyRate, rep.Options.LatencySeconds, rep.Options.LatencyWarmup = nil, 0, 0, 0
	}
	fmt.Fprintf(os.Stderr, "nexmark: %d events at %d events/s of event time, %d cores\n", f.events, f.eventRate, rep.Cores)
	lines := map[string]string{}
	for _, q := range qs {
		qr := &nexmark.QueryReport{Query: q.Name, Status: "ok"}
		if p, ok := nexmark.PublishedFigures(q.Name); ok {
			qr.Published = &p
		}
		rep.Queries = append(rep.Queries, qr)
		out := filepath.Join(work, q.Name+".json")
		cmd := exec.Command(self, childArgs(f, q.Name, out)...)
		var stderr bytes.Buffer
		cmd.Stderr, cmd.Stdout = &stderr, os.Stderr
		t := time.Now()
		runErr := cmd.Run()
		var cr childResult
		if runErr == nil {
			b, err := os.ReadFile(out)
			if err == nil {
				err = json.Unmarshal(b, &cr)
			}
			runErr = err
		}
		if runErr != nil {
			qr.Status, qr.Error = "error", fmt.Sprintf("%v: %s", runErr, lastLines(stderr.String(), 5))
			fmt.Fprintf(os.Stderr, "%-4s crashed after %.1fs: %s\n", q.Name, time.Since(t).Seconds(), oneLine(qr.Error))
			continue
		}
		qr.Stream, qr.Latency = cr.Stream, cr.Latency
		if s := cr.Stream; s.Error != "" {
			qr.Status, qr.Error = "error", s.Error
			fmt.Fprintf(os.Stderr, "%-4s not run: %s\n", q.Name, oneLine(s.Error))
			continue
		}
		s := cr.Stream
		qr.EventsPerSec = float64(f.events) / s.WallSec
		if s.CPUSec > 0 {
			qr.EventsPerCoreSec = float64(f.events) / s.CPUSec
		}
		lines[q.Name] = s.Lines
		msg := fmt.Sprintf("%-4s %-4s %10.0f events/s  %6.2f CPU s  %10.0f events/cpu-s  %5.0f MB  %d rows",
			q.Name, s.Mode, qr.EventsPerSec, s.CPUSec, qr.EventsPerCoreSec, float64(s.MaxRSS)/(1<<20), s.Rows)
		for _, l := range cr.Latency {
			if l.Error != "" {
				msg += "  latency: " + oneLine(l.Error)
			} else {
				msg += fmt.Sprintf("  p50 %.0f ms p99 %.0f ms at %d events/s", l.P50Ms, l.P99Ms, l.Rate)
				if l.Epochs > 0 {
					msg += fmt.Sprintf(" (%d epochs, mean ms", l.Epochs)
					for _, st := range stream.EpochStages {
						msg += fmt.Sprintf(" %s %.1f", st, l.StageMs[st])
					}
					msg += ")"
				}
			}
		}
		fmt.Fprintln(os.Stderr, msg)
	}

	if f.kafka != "" {
		rep.Kafka = runKafka(f, self, work)
	}
	if f.duck {
		ctx := context.Background()
		d, err := nexmark.OpenDuck(ctx, f.events, f.eventRate)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		rep.DuckLoadSec = d.LoadSec
		fmt.Fprintf(os.Stderr, "duckdb: loaded the events in %.2fs\n", d.LoadSec)
		for i, q := range qs {
			qr := rep.Queries[i]
			dr := d.Run(ctx, q, f.keep)
			qr.Duck = dr
			compare(q, qr, lines[q.Name])
			fmt.Fprintf(os.Stderr, "%-4s duckdb %.3fs %d rows: %s\n", q.Name, dr.Sec, dr.Rows, qr.Check)
		}
	} else {
		for _, qr := range rep.Queries {
			qr.Check = "not compared"
		}
	}
	rep.TotalSec = time.Since(start).Seconds()
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return nil, err
	}
	rep.AddPrevious(filepath.Join(f.out, "latest.json"))
	if f.latency && f.plot != "" {
		if ok, err := nexmark.PlotFreshness(filepath.Join(f.out, "freshness.png"), rep, strings.Split(f.plot, ",")); err != nil {
			return nil, err
		} else if ok {
			fmt.Fprintf(os.Stderr, "nexmark: freshness curve in %s\n", filepath.Join(f.out, "freshness.png"))
		}
	}
	md := rep.Markdown()
	if err := os.WriteFile(filepath.Join(f.out, "latest.md"), []byte(md), 0o644); err != nil {
		return nil, err
	}
	if err := rep.WriteJSON(filepath.Join(f.out, "latest.json")); err != nil {
		return nil, err
	}
	fmt.Print(md)
	return rep, nil
}

// runKafka is the Kafka mode: the query over the generator, then over a
// topic per encoding, each in a child process with the time limit of a
// query; the broker of each encoding is closed before the next starts.
func runKafka(f flags, self, work string) *nexmark.KafkaReport {
	k := &nexmark.KafkaReport{Query: f.kafkaQuery, Events: f.kafkaEvents, Partitions: int32(f.kafkaPartitions)}
	g := f
	g.events, g.latency, g.sinks = f.kafkaEvents, false, true
	child := func(name string, extra ...string) *nexmark.KafkaRun {
		r := &nexmark.KafkaRun{Encode: name}
		out := filepath.Join(work, "kafka-"+name+".json")
		ctx, cancel := context.WithTimeout(context.Background(), f.timeout+time.Minute)
		defer cancel()
		args := append(childArgs(g, f.kafkaQuery, out), extra...)
		if f.cpuprofile != "" {
			args = append(args, "-cpuprofile", filepath.Join(f.cpuprofile, "kafka-"+name))
			os.MkdirAll(filepath.Join(f.cpuprofile, "kafka-"+name), 0o755)
		}
		cmd := exec.CommandContext(ctx, self, args...)
		cmd.WaitDelay = 5 * time.Second
		var stderr bytes.Buffer
		cmd.Stderr, cmd.Stdout = &stderr, os.Stderr
		err := cmd.Run()
		var cr childResult
		if err == nil {
			var b []byte
			if b, err = os.ReadFile(out); err == nil {
				err = json.Unmarshal(b, &cr)
			}
		}
		switch {
		case err != nil:
			r.Error = fmt.Sprintf("%v: %s", err, lastLines(stderr.String(), 5))
		case cr.Stream.Error != "":
			r.Error = cr.Stream.Error
		default:
			r.Stream = cr.Stream
			r.EventsPerSec = float64(f.kafkaEvents) / cr.Stream.WallSec
			if cr.Stream.CPUSec > 0 {
				r.EventsPerCoreSec = float64(f.kafkaEvents) / cr.Stream.CPUSec
			}
		}
		return r
	}
	fmt.Fprintf(os.Stderr, "kafka mode: %s over %d events\n", f.kafkaQuery, f.kafkaEvents)
	k.Generator = child("generator")
	k.Generator.Messages = 0
	if k.Generator.Stream != nil {
		k.Generator.Messages = k.Generator.Stream.Rows
		fmt.Fprintf(os.Stderr, "%-9s %10.0f events/s  %6.2f CPU s  %10.0f events/cpu-s\n", "generator",
			k.Generator.EventsPerSec, k.Generator.Stream.CPUSec, k.Generator.EventsPerCoreSec)
	}
	for _, enc := range strings.Split(f.kafka, ",") {
		enc = strings.ToUpper(strings.TrimSpace(enc))
		ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
		feed, err := nexmark.ProduceBids(ctx, enc, f.kafkaEvents, f.eventRate, int32(f.kafkaPartitions))
		cancel()
		if err != nil {
			k.Runs = append(k.Runs, &nexmark.KafkaRun{Encode: enc, Error: err.Error()})
			fmt.Fprintf(os.Stderr, "%-9s %v\n", enc, err)
			continue
		}
		fmt.Fprintf(os.Stderr, "%-9s produced %d records (%.0f MB) in %.1fs\n", enc, feed.Messages, float64(feed.Bytes)/(1<<20), feed.ProduceSec)
		src := feed.Source
		r := child(enc, "-kafka-addr", src.Addr, "-kafka-topic", src.Topic, "-kafka-encode", src.Encode,
			"-kafka-registry", src.Registry, "-kafka-offsets", nexmark.EncodeKafkaOffsets(src.Offsets))
		if err := feed.Close(); err != nil && r.Error == "" {
			r.Error = "closing the broker: " + err.Error()
		}
		r.Messages, r.Bytes, r.Produce = feed.Messages, feed.Bytes, feed.ProduceSec
		if r.Stream != nil && r.Stream.CPUSec > 0 {
			r.MessagesPerCoreSec = float64(feed.Messages) / r.Stream.CPUSec
			if k.Generator.EventsPerCoreSec > 0 {
				r.Ratio = r.EventsPerCoreSec / k.Generator.EventsPerCoreSec
			}
			fmt.Fprintf(os.Stderr, "%-9s %10.0f events/s  %6.2f CPU s  %10.0f events/cpu-s  ratio %.2f\n", enc,
				r.EventsPerSec, r.Stream.CPUSec, r.EventsPerCoreSec, r.Ratio)
		} else {
			fmt.Fprintf(os.Stderr, "%-9s failed: %s\n", enc, oneLine(r.Error))
		}
		k.Runs = append(k.Runs, r)
	}
	return k
}

// compare fills in the check column of a query from both sides' results.
func compare(q *nexmark.Query, qr *nexmark.QueryReport, streamLines string) {
	dr, s := qr.Duck, qr.Stream
	switch {
	case qr.Status == "error":
		qr.Check = "engine cannot run it"
		return
	case dr.Error != "":
		qr.Check = "DuckDB failed"
		return
	}
	if dr.Sec > 0 {
		qr.Ratio = s.WallSec / dr.Sec
	}
	switch {
	case s.Mode == "sink":
		if s.SinkRows == dr.Rows {
			qr.Check = fmt.Sprintf("row count equal (%d, sink)", dr.Rows)
		} else {
			qr.Status, qr.Check = "mismatch", fmt.Sprintf("ROW COUNT DIFFERS: %d, DuckDB %d", s.SinkRows, dr.Rows)
		}
		return
	case q.NoCompare != "":
		qr.Check = "not compared: " + q.NoCompare
		return
	case q.Invariant != nil && s.Digest == dr.Digest:
		qr.Check = fmt.Sprintf("invariant holds (%d rows): %s", dr.Rows, q.Invariant.Says)
		return
	case q.Invariant != nil:
		qr.Status = "mismatch"
		qr.Check = fmt.Sprintf("INVARIANT BROKEN (%d rows, expected %d): %s", s.Rows, dr.Rows, q.Invariant.Says)
		if streamLines != "" && dr.Lines() != nil {
			if sl, err := nexmark.ReadLines(streamLines); err == nil {
				qr.Diff = nexmark.DiffLines(sl, dr.Lines(), 10)
			}
		}
		return
	case s.Digest == dr.Digest:
		qr.Check = fmt.Sprintf("equal (%d rows)", dr.Rows)
		if q.Compare != nil {
			qr.Check = fmt.Sprintf("equal on columns %v (%d rows)", q.Compare, dr.Rows)
		}
		return
	}
	qr.Status = "mismatch"
	qr.Check = fmt.Sprintf("DIFFERENT (%d rows, DuckDB %d)", s.Rows, dr.Rows)
	if streamLines == "" || dr.Lines() == nil {
		return
	}
	sl, err := nexmark.ReadLines(streamLines)
	if err != nil {
		qr.Diff = err.Error() + "\n"
		return
	}
	qr.Diff = nexmark.DiffLines(sl, dr.Lines(), 10)
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
