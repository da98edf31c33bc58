package datagen

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// dgBase is a fixed base time for positions made by tests:
// 2024-03-01 12:00:00 UTC.
var dgBase = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC).UnixMicro()

// dgExample is the source of the package documentation.
func dgExample(t testing.TB, extra map[string]string) *Spec {
	t.Helper()
	opts := map[string]string{
		"connector":          "datagen",
		"fields.id.kind":     "sequence",
		"fields.id.start":    "1",
		"fields.v.kind":      "random",
		"fields.v.min":       "0",
		"fields.v.max":       "100",
		"fields.v.seed":      "7",
		"fields.name.length": "10",
		"fields.ts.kind":     "random",
		"fields.ts.max_past": "1h",
	}
	for k, v := range extra {
		if v == "" {
			delete(opts, k)
		} else {
			opts[k] = v
		}
	}
	s, err := New([]string{"id", "v", "name", "ts"},
		[]types.T{types.TInt4, types.TFloat8, types.TVarchar, types.TTimestamp}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dgStart runs spec's source from pos in a goroutine.
func dgStart(t testing.TB, spec *Spec, pos []byte) *streamtest.SourceRun {
	t.Helper()
	src, err := spec.Open(nil, pos)
	if err != nil {
		t.Fatal(err)
	}
	return streamtest.StartSource(t, src)
}

// dgFormat appends the rows of c as text lines.
func dgFormat(rows []string, c *stream.Chunk, ts []types.T) []string {
	for i := 0; i < c.N; i++ {
		if c.Ops[i] != stream.Insert {
			rows = append(rows, "not an insert")
		}
		parts := make([]string, len(c.Cols))
		for j, a := range c.Cols {
			d := types.GetDatum(a, i, ts[j])
			if d == nil {
				parts[j] = "NULL"
			} else {
				parts[j] = types.FormatText(d, ts[j], time.UTC)
			}
		}
		rows = append(rows, strings.Join(parts, " "))
	}
	c.Release()
	return rows
}

// dgCollect reads n rows (or fewer if the source is bounded and idle for
// idle) from a new run at pos.
func dgCollect(t testing.TB, spec *Spec, pos []byte, n int) []string {
	t.Helper()
	r := dgStart(t, spec, pos)
	defer r.Stop()
	var rows []string
	for len(rows) < n {
		select {
		case m := <-r.Out:
			if m.Kind != stream.MsgChunk {
				t.Fatalf("unexpected message kind %d", m.Kind)
			}
			rows = dgFormat(rows, m.Chunk, spec.ts)
		case <-time.After(300 * time.Millisecond):
			return rows // bounded and done
		}
	}
	return rows[:n]
}

func TestDatagenDeterministic(t *testing.T) {
	spec := dgExample(t, nil)
	pos := encodePos(0, dgBase)
	a := dgCollect(t, spec, pos, 10000)
	b := dgCollect(t, spec, pos, 10000)
	if len(a) != 10000 || len(b) != 10000 {
		t.Fatalf("got %d and %d rows", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("row %d differs: %q vs %q", i, a[i], b[i])
		}
	}
	// Another seed changes v and nothing else.
	c := dgCollect(t, dgExample(t, map[string]string{"fields.v.seed": "8"}), pos, 100)
	same := 0
	for i := range c {
		fa, fc := strings.Fields(a[i]), strings.Fields(c[i])
		if fa[1] == fc[1] {
			same++
		}
		fa[1], fc[1] = "", ""
		if strings.Join(fa, " ") != strings.Join(fc, " ") {
			t.Fatalf("row %d: seed of v changed other columns: %q vs %q", i, a[i], c[i])
		}
	}
	if same > 5 {
		t.Fatalf("%d of 100 values of v equal under another seed", same)
	}
}

func TestDatagenResume(t *testing.T) {
	// Limit 100000 rows; a barrier mid-way gives a position; a new source
	// opened there must produce exactly the rest. The first run starts at
	// nil, so the base time also has to come back from the position.
	spec := dgExample(t, map[string]string{"datagen.rows.limit": "100000"})
	r := dgStart(t, spec, nil)
	var rows []string
	var pos []byte
	chunks := 0
	for len(rows) < 100000 || pos == nil {
		m := r.Next(5 * time.Second)
		switch m.Kind {
		case stream.MsgChunk:
			rows = dgFormat(rows, m.Chunk, spec.ts)
			if chunks++; chunks == 2 {
				r.Barriers <- 1
			}
		case stream.MsgBarrier:
			if m.Epoch != 1 {
				t.Fatalf("barrier epoch %d", m.Epoch)
			}
			next, _, err := decodePos(m.Pos)
			if err != nil {
				t.Fatal(err)
			}
			if next != int64(len(rows)) {
				t.Fatalf("barrier position %d after %d rows", next, len(rows))
			}
			pos = m.Pos
		}
	}
	r.Stop()
	next, _, _ := decodePos(pos)
	if next == 0 || next == 100000 {
		t.Fatalf("barrier at %d: not mid-way", next)
	}
	rest := dgCollect(t, spec, pos, 100000)
	if len(rest) != 100000-int(next) {
		t.Fatalf("resumed source made %d rows, want %d", len(rest), 100000-next)
	}
	for i, row := range rest {
		if want := rows[int(next)+i]; row != want {
			t.Fatalf("resumed row %d = %q, want %q", i, row, want)
		}
	}
	// Positions off chunk boundaries resume exactly too: a row does not
	// depend on where its chunk starts.
	_, base, _ := decodePos(pos)
	for _, k := range []int{1, 4095, 12345, 99999} {
		got := dgCollect(t, spec, encodePos(int64(k), base), 3000)
		want := rows[k:min(k+3000, len(rows))]
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("rows from position %d differ from the first run's", k)
		}
	}
}

func TestDatagenValues(t *testing.T) {
	cols := []string{"id", "v", "name", "ts", "b", "d", "iv", "n", "small", "code", "f4", "tz"}
	ts := []types.T{types.TInt8, types.TFloat8, types.TText, types.TTimestamp, types.TBool, types.TDate,
		types.TInterval, {Kind: types.Numeric, Precision: 10, Scale: 2}, types.TInt2, {Kind: types.Varchar, Width: 3}, types.TFloat4, types.TTimestampTZ}
	spec, err := New(cols, ts, map[string]string{
		"fields.id.kind": "sequence", "fields.id.start": "1", "fields.id.end": "1000",
		"fields.v.min": "-5", "fields.v.max": "5",
		"fields.ts.max_past": "1h",
		"fields.d.kind":      "sequence", "fields.d.start": "2024-02-27", "fields.d.step": "1 day",
		"fields.iv.min": "1 minute", "fields.iv.max": "2 days",
		"fields.n.min": "-1.5", "fields.n.max": "99.99",
		"fields.f4.kind": "sequence", "fields.f4.start": "0.5", "fields.f4.step": "0.25",
		"fields.tz.kind": "sequence", "fields.tz.start": "2024-01-01 00:00:00+00", "fields.tz.step": "1 minute",
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := dgCollect(t, spec, encodePos(0, dgBase), 2000)
	if len(rows) != 1000 {
		t.Fatalf("sequence 1..1000 made %d rows", len(rows))
	}
	alnum := regexp.MustCompile(`^[0-9A-Za-z]{10}$`)
	baseTS := time.UnixMicro(dgBase).UTC()
	bools := map[string]int{}
	for i, row := range rows {
		f := strings.Split(row, " ")
		// ts and tz print as "date time": rejoin them.
		f = []string{f[0], f[1], f[2], f[3] + " " + f[4], f[5], f[6], strings.Join(f[7:len(f)-6], " "), f[len(f)-6], f[len(f)-5], f[len(f)-4], f[len(f)-3], f[len(f)-2] + " " + f[len(f)-1]}
		if f[0] != strconv.Itoa(i+1) {
			t.Fatalf("row %d: id %s", i, f[0])
		}
		if v, _ := strconv.ParseFloat(f[1], 64); v < -5 || v > 5 {
			t.Fatalf("row %d: v %s out of [-5, 5]", i, f[1])
		}
		if !alnum.MatchString(f[2]) {
			t.Fatalf("row %d: name %q", i, f[2])
		}
		tsv, err := time.Parse("2006-01-02 15:04:05", f[3])
		if err != nil {
			tsv, err = time.Parse("2006-01-02 15:04:05.999999", f[3])
		}
		if err != nil || tsv.After(baseTS) || tsv.Before(baseTS.Add(-time.Hour)) {
			t.Fatalf("row %d: ts %q not within an hour before %v (%v)", i, f[3], baseTS, err)
		}
		bools[f[4]]++
		if want := time.Date(2024, 2, 27+i, 0, 0, 0, 0, time.UTC).Format("2006-01-02"); f[5] != want {
			t.Fatalf("row %d: date %s, want %s", i, f[5], want)
		}
		iv, err := types.ParseText(f[6], types.TInterval, time.UTC)
		if err != nil {
			t.Fatalf("row %d: interval %q: %v", i, f[6], err)
		}
		if us, _ := intervalMicros(iv.(types.IntervalValue)); us < types.MicrosPerMinute || us > 2*types.MicrosPerDay {
			t.Fatalf("row %d: interval %s out of range", i, f[6])
		}
		if n, _ := strconv.ParseFloat(f[7], 64); n < -1.5 || n > 99.99 || !regexp.MustCompile(`^-?\d+\.\d\d$`).MatchString(f[7]) {
			t.Fatalf("row %d: numeric %q", i, f[7])
		}
		if n, _ := strconv.Atoi(f[8]); n < 0 || n > 32767 {
			t.Fatalf("row %d: int2 %s", i, f[8])
		}
		if len(f[9]) != 3 {
			t.Fatalf("row %d: varchar(3) %q", i, f[9])
		}
		if want := strconv.FormatFloat(0.5+0.25*float64(i), 'g', -1, 32); f[10] != want {
			t.Fatalf("row %d: float4 %s, want %s", i, f[10], want)
		}
		if want := time.Date(2024, 1, 1, 0, i, 0, 0, time.UTC).Format("2006-01-02 15:04:05") + "+00"; f[11] != want {
			t.Fatalf("row %d: timestamptz %s, want %s", i, f[11], want)
		}
	}
	if bools["t"] < 400 || bools["f"] < 400 {
		t.Fatalf("booleans skewed: %v", bools)
	}
}

func TestDatagenTimestampSequenceEnd(t *testing.T) {
	spec, err := New([]string{"ts"}, []types.T{types.TTimestamp}, map[string]string{
		"fields.ts.kind": "sequence", "fields.ts.start": "2024-01-01 00:00:00",
		"fields.ts.end": "2024-01-01 01:00:00", "fields.ts.step": "1 minute",
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := dgCollect(t, spec, nil, 100)
	if len(rows) != 61 || rows[0] != "2024-01-01 00:00:00" || rows[60] != "2024-01-01 01:00:00" {
		t.Fatalf("got %d rows, first %q last %q", len(rows), rows[0], rows[len(rows)-1])
	}
}

func TestDatagenLimit(t *testing.T) {
	spec := dgExample(t, map[string]string{"datagen.rows.limit": "10000"})
	r := dgStart(t, spec, nil)
	var rows []string
	var last uint64
	for epoch := uint64(1); ; {
		select {
		case m := <-r.Out:
			switch m.Kind {
			case stream.MsgChunk:
				rows = dgFormat(rows, m.Chunk, spec.ts)
				if len(rows) > 10000 {
					t.Fatalf("%d rows past the limit", len(rows))
				}
			case stream.MsgBarrier:
				last = m.Epoch
				next, _, err := decodePos(m.Pos)
				if err != nil {
					t.Fatal(err)
				}
				if next != int64(len(rows)) {
					t.Fatalf("barrier %d at %d after %d rows", m.Epoch, next, len(rows))
				}
			}
		case <-time.After(200 * time.Millisecond):
			// Idle: the source must still answer barriers.
			if epoch > 3 {
				if len(rows) != 10000 || last != 3 {
					t.Fatalf("%d rows, last barrier %d", len(rows), last)
				}
				return
			}
			r.Barriers <- epoch
			epoch++
		}
	}
}

func TestDatagenRate(t *testing.T) {
	// 200 rows/s for 600 ms is about 120 rows (plus a burst of one 20-row
	// chunk); accept anything within a factor of two.
	spec := dgExample(t, map[string]string{"datagen.rows.per.second": "200"})
	r := dgStart(t, spec, nil)
	n := 0
	deadline := time.After(600 * time.Millisecond)
	var firstChunk time.Duration
	start := time.Now()
loop:
	for {
		select {
		case m := <-r.Out:
			if firstChunk == 0 {
				firstChunk = time.Since(start)
			}
			n += m.Chunk.N
			if m.Chunk.N > 20 {
				t.Fatalf("chunk of %d rows at 200 rows/s: rows would wait more than 100 ms", m.Chunk.N)
			}
			m.Chunk.Release()
		case <-deadline:
			break loop
		}
	}
	if n < 70 || n > 280 {
		t.Fatalf("%d rows in 600 ms at 200 rows/s", n)
	}
	t.Logf("%d rows in 600 ms at 200 rows/s, first chunk after %v", n, firstChunk)
}

func TestDatagenBarriers(t *testing.T) {
	// As fast as possible, with a reader that keeps up: barrier answers
	// are prompt and their positions never go back.
	spec := dgExample(t, nil)
	r := dgStart(t, spec, nil)
	rows := int64(0)
	var prev int64 = -1
	var worst time.Duration
	for epoch := uint64(1); epoch <= 30; epoch++ {
		sent := time.Now()
		r.Barriers <- epoch
		for answered := false; !answered; {
			m := r.Next(5 * time.Second)
			switch m.Kind {
			case stream.MsgChunk:
				rows += int64(m.Chunk.N)
				m.Chunk.Release()
			case stream.MsgBarrier:
				if m.Epoch != epoch {
					t.Fatalf("barrier %d answered as %d", epoch, m.Epoch)
				}
				next, base, err := decodePos(m.Pos)
				if err != nil {
					t.Fatal(err)
				}
				if next != rows || next < prev {
					t.Fatalf("barrier %d at row %d after %d rows (previous %d)", epoch, next, rows, prev)
				}
				if base%1_000_000 != 0 {
					t.Fatalf("base time %d not whole seconds", base)
				}
				prev = next
				worst = max(worst, time.Since(sent))
				answered = true
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	if rows == 0 {
		t.Fatal("no rows between barriers")
	}
	// Generous bound for a loaded CI machine; typically well under 1 ms.
	if worst > 250*time.Millisecond {
		t.Fatalf("slowest barrier answer took %v", worst)
	}
	t.Logf("%d rows, slowest barrier answer %v", rows, worst)
}

func TestDatagenCancel(t *testing.T) {
	for _, rate := range []string{"0", "1"} {
		t.Run("rate="+rate, func(t *testing.T) {
			// Nobody reads out: Run is blocked sending (rate 0) or waiting
			// for tokens (rate 1), and must still stop on cancellation.
			spec := dgExample(t, map[string]string{"datagen.rows.per.second": rate})
			r := dgStart(t, spec, nil)
			time.Sleep(50 * time.Millisecond)
			start := time.Now()
			r.Cancel()
			select {
			case err := <-r.Done():
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Run returned %v", err)
				}
				r.Done() <- nil
			case <-time.After(time.Second):
				t.Fatal("Run did not stop within 1s")
			}
			if d := time.Since(start); d > 200*time.Millisecond {
				t.Fatalf("Run took %v to stop", d)
			}
		})
	}
}

func TestDatagenOptionErrors(t *testing.T) {
	cols := []string{"id", "v", "name", "ts", "b", "n", "d"}
	ts := []types.T{types.TInt4, types.TFloat8, {Kind: types.Varchar, Width: 5}, types.TTimestamp, types.TBool,
		{Kind: types.Numeric, Precision: 4, Scale: 2}, types.TDate}
	for _, tc := range []struct {
		opts map[string]string
		code string
		msg  string
	}{
		{map[string]string{"fields.nope.kind": "random"}, sqlerr.UndefinedColumn, `column "nope"`},
		{map[string]string{"fields.id.color": "red"}, sqlerr.InvalidParameterValue, `unrecognized datagen option "fields.id.color"`},
		{map[string]string{"datagen.rows.per.minute": "1"}, sqlerr.InvalidParameterValue, "unrecognized"},
		{map[string]string{"fields.id": "1"}, sqlerr.InvalidParameterValue, "unrecognized"},
		{map[string]string{"topic": "x"}, sqlerr.InvalidParameterValue, "unrecognized"},
		{map[string]string{"connector": "kafka"}, sqlerr.InvalidParameterValue, "connector"},
		{map[string]string{"datagen.rows.per.second": "-1"}, sqlerr.InvalidParameterValue, "non-negative"},
		{map[string]string{"datagen.rows.per.second": "fast"}, sqlerr.InvalidParameterValue, "non-negative"},
		{map[string]string{"datagen.rows.limit": "1e3"}, sqlerr.InvalidParameterValue, "non-negative"},
		{map[string]string{"fields.id.kind": "zigzag"}, sqlerr.InvalidParameterValue, "'random' or 'sequence'"},
		{map[string]string{"fields.id.min": "abc"}, sqlerr.InvalidParameterValue, "fields.id.min"},
		{map[string]string{"fields.id.max": "3000000000"}, sqlerr.InvalidParameterValue, "out of range"},
		{map[string]string{"fields.id.min": "10", "fields.id.max": "1"}, sqlerr.InvalidParameterValue, "greater than max"},
		{map[string]string{"fields.id.start": "1"}, sqlerr.InvalidParameterValue, "applies only to kind 'sequence'"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.min": "1"}, sqlerr.InvalidParameterValue, "applies only to kind 'random'"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.step": "0"}, sqlerr.InvalidParameterValue, "zero"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.start": "10", "fields.id.end": "1"}, sqlerr.InvalidParameterValue, "never reaches"},
		{map[string]string{"fields.id.seed": "x"}, sqlerr.InvalidParameterValue, "integer"},
		{map[string]string{"fields.v.max": "NaN"}, sqlerr.InvalidParameterValue, "finite"},
		{map[string]string{"fields.name.kind": "sequence"}, sqlerr.InvalidParameterValue, "only kind 'random'"},
		{map[string]string{"fields.name.length": "6"}, sqlerr.InvalidParameterValue, "longer than"},
		{map[string]string{"fields.name.length": "-1"}, sqlerr.InvalidParameterValue, "length"},
		{map[string]string{"fields.b.kind": "sequence"}, sqlerr.InvalidParameterValue, "only kind 'random'"},
		{map[string]string{"fields.ts.max_past": "soon"}, sqlerr.InvalidParameterValue, "max_past"},
		{map[string]string{"fields.ts.max_past": "-1h"}, sqlerr.InvalidParameterValue, "negative"},
		{map[string]string{"fields.ts.max_past_mode": "relative"}, sqlerr.FeatureNotSupported, "relative"},
		{map[string]string{"fields.ts.start": "yesterday-ish"}, sqlerr.InvalidParameterValue, "fields.ts.start"},
		{map[string]string{"fields.ts.start": "2024-01-01", "fields.ts.basetime": "2024-01-01"}, sqlerr.InvalidParameterValue, "not both"},
		{map[string]string{"fields.ts.kind": "sequence", "fields.ts.step": "0 s"}, sqlerr.InvalidParameterValue, "zero"},
		{map[string]string{"fields.d.kind": "sequence", "fields.d.step": "1 hour"}, sqlerr.InvalidParameterValue, "whole number of days"},
		{map[string]string{"fields.n.max": "100"}, sqlerr.InvalidParameterValue, "fields.n.max"},
	} {
		_, err := New(cols, ts, tc.opts)
		if err == nil {
			t.Errorf("%v: no error", tc.opts)
			continue
		}
		if code := sqlerr.Code(err); code != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: got %s %q, want %s containing %q", tc.opts, code, err, tc.code, tc.msg)
		}
	}
	if _, err := New([]string{"t"}, []types.T{types.TTime}, nil); sqlerr.Code(err) != sqlerr.FeatureNotSupported {
		t.Errorf("time column: %v", err)
	}
	// Keys are case-insensitive, as are column names when unambiguous; the
	// split count is accepted for compatibility.
	if _, err := New(cols, ts, map[string]string{"Fields.ID.Kind": "sequence", "DATAGEN.SPLIT.NUM": "2"}); err != nil {
		t.Errorf("mixed case: %v", err)
	}
}

func TestDatagenBadPosition(t *testing.T) {
	spec := dgExample(t, nil)
	for _, pos := range [][]byte{{}, {9, 1, 2}, {1}, {1, 0x80}, append(encodePos(5, dgBase), 0)} {
		if _, err := spec.Open(nil, pos); sqlerr.Code(err) != sqlerr.DataCorrupted {
			t.Errorf("position %x: %v", pos, err)
		}
	}
	next, base, err := decodePos(encodePos(123456789, -42))
	if err != nil || next != 123456789 || base != -42 {
		t.Fatalf("round trip: %d %d %v", next, base, err)
	}
}

func TestDatagenAppendScaled(t *testing.T) {
	for _, tc := range []struct {
		v     int64
		scale int32
		want  string
	}{
		{0, 0, "0"}, {-7, 0, "-7"}, {123, 2, "1.23"}, {5, 2, "0.05"}, {-5, 2, "-0.05"},
		{0, 3, "0.000"}, {-1000, 3, "-1.000"}, {-9223372036854775808, 4, "-922337203685477.5808"},
	} {
		if got := string(appendScaled(nil, tc.v, tc.scale)); got != tc.want {
			t.Errorf("appendScaled(%d, %d) = %q, want %q", tc.v, tc.scale, got, tc.want)
		}
	}
}

func TestDatagenExplain(t *testing.T) {
	spec := dgExample(t, map[string]string{"datagen.rows.per.second": "1000", "fields.id.end": "1000"})
	want := "Datagen rows.per.second=1000 fields: id=sequence(start=1, end=1000, step=1) v=random(min=0, max=100) " +
		"name=random(length=10) ts=random(start=now, max_past=01:00:00)"
	if got := spec.Explain(); got != want {
		t.Fatalf("Explain:\n got %s\nwant %s", got, want)
	}
}

// BenchmarkDatagen measures rows per second of the documented 4-column
// source at full speed, through Run and its output channel.
func BenchmarkDatagen(b *testing.B) {
	spec := dgExample(b, map[string]string{"datagen.rows.limit": fmt.Sprint(b.N)})
	src, err := spec.Open(nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan stream.Message, 16)
	done := make(chan error, 1)
	b.ResetTimer()
	go func() { done <- src.Run(ctx, nil, out) }()
	for n := 0; n < b.N; {
		m := <-out
		n += m.Chunk.N
		m.Chunk.Release()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	cancel()
	<-done
}
