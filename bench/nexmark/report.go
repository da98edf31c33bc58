package nexmark

// The report: one row per query, written as Markdown for people and JSON
// for tools, with the machine and the options it was measured with.

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// Published are the per-core figures of SPEC.md, in thousand events per
// second per core.
type Published struct {
	Flink2     float64 `json:"flink_2x,omitempty"`
	Flink113   float64 `json:"flink_1_13,omitempty"`
	RisingWave float64 `json:"risingwave_1_0,omitempty"`
	Feldera    float64 `json:"feldera,omitempty"`
}

var published = map[string]Published{
	"q0": {379, 155, 170, 436},
	"q1": {395, 158, 168, 412},
	"q2": {414, 175, 172, 422},
	"q3": {219, 152, 136, 413},
	"q4": {28, 34, 25, 265},
	"q5": {75, 22, 11, 412},
	"q7": {23, 12, 37, 196},
	"q8": {162, 146, 84, 415},
	"q9": {14, 14, 21, 57},
}

// Options are the options of a run, as reported.
type Options struct {
	Events    int64 `json:"events"`
	EventRate int64 `json:"event_rate"`
	Splits    int   `json:"split_num"`
	Sinks     bool  `json:"pass_through_into_blackhole"`
	// LatencyFracs are the loads of the latency runs, as fractions of
	// each query's throughput; LatencyRate, when set, is the one fixed
	// rate (events/s of wall time) they ran at instead.
	LatencyFracs   []float64 `json:"latency_rate_fractions,omitempty"`
	LatencyRate    int64     `json:"latency_rate,omitempty"`
	LatencySeconds float64   `json:"latency_seconds"`
	LatencyWarmup  float64   `json:"latency_warmup_seconds"`
	DuckDB         bool      `json:"duckdb"`
	// StateMemory is the engine's state memory budget in bytes (0: the
	// engine's default).
	StateMemory int64 `json:"state_memory_bytes,omitempty"`
	// BarrierIntervalMs is the engine's barrier_interval in milliseconds
	// (0: the engine's default).
	BarrierIntervalMs int64 `json:"barrier_interval_ms,omitempty"`
}

// QueryReport is one query's row.
type QueryReport struct {
	Query string `json:"query"`
	// Status is ok, error (the engine refused or failed the query) or
	// mismatch (its result differs from DuckDB's).
	Status           string        `json:"status"`
	Error            string        `json:"error,omitempty"`
	Stream           *StreamResult `json:"streamsql,omitempty"`
	EventsPerSec     float64       `json:"events_per_sec,omitempty"`
	EventsPerCoreSec float64       `json:"events_per_cpu_sec,omitempty"`
	// Latency is the freshness at each load of the latency runs, lowest
	// first.
	Latency []*Latency  `json:"latency,omitempty"`
	Duck    *DuckResult `json:"duckdb,omitempty"`
	// Ratio is StreamSQL's wall time over DuckDB's.
	Ratio     float64    `json:"streamsql_over_duckdb,omitempty"`
	Check     string     `json:"check"`
	Diff      string     `json:"diff,omitempty"`
	Published *Published `json:"published_k_per_core,omitempty"`
	// Previous are the figures of the same query in the run this one
	// replaced (the out directory's latest.json, same events and rate).
	Previous *Previous `json:"previous,omitempty"`
}

// Previous is a query's figures from the run before.
type Previous struct {
	Date             string  `json:"date"`
	EventsPerCoreSec float64 `json:"events_per_cpu_sec,omitempty"`
	PeakRSSMB        float64 `json:"peak_rss_mb,omitempty"`
	// Ratio is this run's events per CPU-second over the previous run's.
	Ratio float64 `json:"events_per_cpu_sec_ratio,omitempty"`
}

// AddPrevious records, for each query of r, its figures in the report
// at path (the run r replaces), when that run had the same events and
// event rate. A missing or unreadable file adds nothing.
func (r *Report) AddPrevious(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var old struct {
		Date    string `json:"date"`
		Options struct {
			Events      int64 `json:"events"`
			EventRate   int64 `json:"event_rate"`
			StateMemory int64 `json:"state_memory_bytes"`
			Barrier     int64 `json:"barrier_interval_ms"`
		} `json:"options"`
		Queries []struct {
			Query            string  `json:"query"`
			Status           string  `json:"status"`
			EventsPerCoreSec float64 `json:"events_per_cpu_sec"`
			Stream           *struct {
				MaxRSS int64 `json:"max_rss_bytes"`
			} `json:"streamsql"`
			Previous *Previous `json:"previous"`
		} `json:"queries"`
	}
	if json.Unmarshal(b, &old) != nil || old.Options.Events != r.Options.Events || old.Options.EventRate != r.Options.EventRate ||
		old.Options.StateMemory != r.Options.StateMemory || old.Options.Barrier != r.Options.BarrierIntervalMs {
		return
	}
	for _, q := range r.Queries {
		for _, o := range old.Queries {
			if o.Query != q.Query || o.Status == "error" || o.EventsPerCoreSec == 0 {
				continue
			}
			p := &Previous{Date: old.Date, EventsPerCoreSec: o.EventsPerCoreSec}
			if o.Stream != nil {
				p.PeakRSSMB = float64(o.Stream.MaxRSS) / (1 << 20)
			}
			if q.EventsPerCoreSec > 0 {
				p.Ratio = q.EventsPerCoreSec / o.EventsPerCoreSec
			}
			q.Previous = p
		}
	}
}

// Report is a whole run.
type Report struct {
	Date        string         `json:"date"`
	GoVersion   string         `json:"go_version"`
	Platform    string         `json:"platform"`
	Cores       int            `json:"cores"`
	CPU         string         `json:"cpu,omitempty"`
	Options     Options        `json:"options"`
	DuckLoadSec float64        `json:"duckdb_load_sec,omitempty"`
	TotalSec    float64        `json:"total_sec"`
	Queries     []*QueryReport `json:"queries"`
	// Kafka is the Kafka mode (kafka.go): a query read from a topic,
	// next to the same query over the generator in the same run.
	Kafka *KafkaReport `json:"kafka,omitempty"`
}

// KafkaReport is the Kafka mode of a run.
type KafkaReport struct {
	Query      string      `json:"query"`
	Events     int64       `json:"events"`
	Partitions int32       `json:"partitions"`
	Generator  *KafkaRun   `json:"generator"`
	Runs       []*KafkaRun `json:"runs"`
}

// KafkaRun is one streaming run of the Kafka mode: through a topic in one
// encoding, or (Encode "generator") the in-process generator.
type KafkaRun struct {
	Encode   string  `json:"encode"`
	Messages int64   `json:"messages,omitempty"`
	Bytes    int64   `json:"bytes,omitempty"`
	Produce  float64 `json:"produce_sec,omitempty"`
	// EventsPerCoreSec counts the Nexmark events the bids were drawn from
	// (as the generator run does), MessagesPerCoreSec the records read.
	EventsPerSec       float64       `json:"events_per_sec,omitempty"`
	EventsPerCoreSec   float64       `json:"events_per_cpu_sec,omitempty"`
	MessagesPerCoreSec float64       `json:"messages_per_cpu_sec,omitempty"`
	Ratio              float64       `json:"over_generator,omitempty"`
	Stream             *StreamResult `json:"streamsql,omitempty"`
	Error              string        `json:"error,omitempty"`
}

// NewReport starts a report for this machine.
func NewReport(o Options) *Report {
	return &Report{Date: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, Cores: runtime.NumCPU(), CPU: cpuModel(), Options: o}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Failed reports whether any query's result differs from DuckDB's.
func (r *Report) Failed() bool {
	for _, q := range r.Queries {
		if q.Status == "mismatch" {
			return true
		}
	}
	return false
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Markdown renders the report.
func (r *Report) Markdown() string {
	var sb strings.Builder
	o := r.Options
	fmt.Fprintf(&sb, "# Nexmark: StreamSQL and DuckDB\n\n")
	fmt.Fprintf(&sb, "%s, %s %s, %d cores (%s).\n\n", r.Date, r.GoVersion, r.Platform, r.Cores, r.CPU)
	fmt.Fprintf(&sb, "Options: %d events, event rate %d events/s of event time, %d generator goroutine(s) per source; "+
		"pass-through queries into a blackhole sink: %v; %s; %s. DuckDB load of the events: %.2f s. Whole run: %.0f s.\n\n",
		o.Events, o.EventRate, max(o.Splits, 1), o.Sinks, o.latencyText(), o.stateMemoryText(), r.DuckLoadSec, r.TotalSec)
	var errs []string
	if len(r.Queries) > 0 {
		sb.WriteString("events/s: events over the wall time from CREATE to the last epoch committed. " +
			"CPU: process user+system seconds over the same span; per core = events / CPU seconds. " +
			"Memory: the process's peak RSS. Latency: generation to committed (readable), p50/p99 at each load. " +
			"Ratio: StreamSQL wall time / DuckDB time. vs previous: events/s per core over the previous run's " +
			"(same options), with its date. Published: thousand events/s per core (SPEC.md): " +
			"Flink 2.x / Flink 1.13 / RisingWave 1.0 / Feldera.\n\n")
		sb.WriteString("| query | as | events/s | CPU s | events/s per core | peak RSS MB | latency p50 / p99 ms (at events/s) | DuckDB s | ratio | vs DuckDB | vs previous | published k/core |\n")
		sb.WriteString("|---|---|---:|---:|---:|---:|---|---:|---:|---|---|---|\n")
		for _, q := range r.Queries {
			as, eps, cpu, epc, rss, lat := "", "", "", "", "", ""
			if s := q.Stream; s != nil {
				as = s.Mode
			}
			if q.Status == "error" {
				eps = "not run"
				errs = append(errs, fmt.Sprintf("- %s: %s", q.Query, oneLine(q.Error)))
			} else if s := q.Stream; s != nil {
				eps = fmt.Sprintf("%.0f", q.EventsPerSec)
				cpu = fmt.Sprintf("%.2f", s.CPUSec)
				epc = fmt.Sprintf("%.0f", q.EventsPerCoreSec)
				rss = fmt.Sprintf("%.0f", float64(s.MaxRSS)/(1<<20))
			}
			var lats []string
			for _, l := range q.Latency {
				if l.Error != "" {
					lats = append(lats, "error: "+oneLine(l.Error))
				} else {
					lats = append(lats, fmt.Sprintf("%.0f / %.0f (%d)", l.P50Ms, l.P99Ms, l.Rate))
				}
			}
			lat = strings.Join(lats, "<br>")
			duck, ratio := "", ""
			if d := q.Duck; d != nil {
				if d.Error != "" {
					duck = "error"
					errs = append(errs, fmt.Sprintf("- %s in DuckDB: %s", q.Query, oneLine(d.Error)))
				} else {
					duck = fmt.Sprintf("%.3f", d.Sec)
				}
			}
			if q.Ratio > 0 {
				ratio = fmt.Sprintf("%.2f", q.Ratio)
			}
			pub := ""
			if p := q.Published; p != nil {
				pub = fmt.Sprintf("%.0f / %.0f / %.0f / %.0f", p.Flink2, p.Flink113, p.RisingWave, p.Feldera)
			}
			prev := ""
			if p := q.Previous; p != nil && p.Ratio > 0 {
				prev = fmt.Sprintf("%.2f (%.0f, %s)", p.Ratio, p.EventsPerCoreSec, strings.SplitN(p.Date, "T", 2)[0])
			}
			fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				q.Query, as, eps, cpu, epc, rss, lat, duck, ratio, q.Check, prev, pub)
		}
	}
	if len(errs) > 0 {
		sb.WriteString("\nErrors:\n\n")
		sb.WriteString(strings.Join(errs, "\n"))
		sb.WriteString("\n")
	}
	if k := r.Kafka; k != nil {
		sb.WriteString(k.Markdown())
	}
	for _, q := range r.Queries {
		if q.Diff != "" {
			fmt.Fprintf(&sb, "\n%s differs from DuckDB:\n\n```\n%s```\n", q.Query, q.Diff)
		}
	}
	return sb.String()
}

// latencyText says how the latency runs were made.
func (o Options) stateMemoryText() string {
	text := "state memory: the engine's default"
	if o.StateMemory != 0 {
		text = fmt.Sprintf("state memory: %d MiB", o.StateMemory>>20)
	}
	if o.BarrierIntervalMs != 0 {
		text += fmt.Sprintf("; barrier interval %d ms", o.BarrierIntervalMs)
	}
	return text
}

func (o Options) latencyText() string {
	switch {
	case o.LatencyRate > 0:
		return fmt.Sprintf("latency at %d events/s of wall time for %.0f s (first %.1f s left out)",
			o.LatencyRate, o.LatencySeconds, o.LatencyWarmup)
	case len(o.LatencyFracs) > 0:
		pcts := make([]string, len(o.LatencyFracs))
		for i, f := range o.LatencyFracs {
			pcts[i] = fmt.Sprintf("%.0f%%", f*100)
		}
		return fmt.Sprintf("latency at %s of each query's throughput, %.0f s each (first %.1f s left out)",
			strings.Join(pcts, ", "), o.LatencySeconds, o.LatencyWarmup)
	}
	return "no latency runs"
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// PublishedFigures returns SPEC.md's per-core figures for a query.
func PublishedFigures(query string) (Published, bool) {
	p, ok := published[query]
	return p, ok
}

// Markdown renders the Kafka mode's table.
func (k *KafkaReport) Markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n## Kafka mode: %s through a Kafka source\n\n", k.Query)
	fmt.Fprintf(&sb, "The bids of %d Nexmark events, produced beforehand (untimed) into %d partitions of an in-process "+
		"kfake broker in the harness process; the engine runs in a child process. events/s per core counts the "+
		"%d events the bids were drawn from, as the generator run does; ratio: events per CPU second over the "+
		"generator run's.\n\n", k.Events, k.Partitions, k.Events)
	sb.WriteString("| source | records | MB | produce s | events/s | CPU s | events/s per core | records/s per core | ratio to generator |\n")
	sb.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range append([]*KafkaRun{k.Generator}, k.Runs...) {
		if r == nil {
			continue
		}
		if r.Error != "" {
			fmt.Fprintf(&sb, "| %s | error: %s | | | | | | | |\n", r.Encode, oneLine(r.Error))
			continue
		}
		mb, prod, mpc, ratio := "", "", "", ""
		if r.Bytes > 0 {
			mb, prod = fmt.Sprintf("%.0f", float64(r.Bytes)/(1<<20)), fmt.Sprintf("%.1f", r.Produce)
		}
		if r.MessagesPerCoreSec > 0 {
			mpc = fmt.Sprintf("%.0f", r.MessagesPerCoreSec)
		}
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		fmt.Fprintf(&sb, "| %s | %d | %s | %s | %.0f | %.2f | %.0f | %s | %s |\n", r.Encode, r.Messages, mb, prod,
			r.EventsPerSec, r.Stream.CPUSec, r.EventsPerCoreSec, mpc, ratio)
	}
	return sb.String()
}
