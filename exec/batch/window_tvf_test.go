package batch

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

func wtvfTS(t *testing.T, s string) types.Datum {
	t.Helper()
	d, err := types.ParseText(s, types.TTimestamp, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// wtvfRows renders rows with timestamps as text, "id ts start end".
func wtvfRows(t *testing.T, op exec.Operator) []string {
	t.Helper()
	bs, err := Collect(newCtx(), op)
	if err != nil {
		t.Fatal(err)
	}
	ts := op.Types()
	var out []string
	for _, b := range bs {
		if b.N > exec.BatchSize || b.N == 0 {
			t.Fatalf("batch of %d rows", b.N)
		}
		for i := 0; i < b.N; i++ {
			var parts []string
			for j, d := range b.Row(i, ts) {
				if d == nil {
					parts = append(parts, "NULL")
				} else {
					parts = append(parts, types.FormatText(d, ts[j], time.UTC))
				}
			}
			out = append(out, strings.Join(parts, " | "))
		}
		b.Release()
	}
	return out
}

func wtvfSrc(t *testing.T, times ...string) *src {
	ts := []types.T{types.TInt8, types.TTimestamp}
	var rows [][]types.Datum
	for i, s := range times {
		var d types.Datum
		if s != "NULL" {
			d = wtvfTS(t, s)
		}
		rows = append(rows, row(int64(i+1), d))
	}
	return newSrc(ts, rows...)
}

const (
	wtvfMin = types.MicrosPerMinute
	wtvfDay = types.MicrosPerDay
)

func TestWindowTVFTumble(t *testing.T) {
	in := wtvfSrc(t, "2022-01-01 10:00:00", "2022-01-01 10:29:59.999999", "2022-01-01 10:30:00", "NULL", "1969-12-31 23:45:00")
	op := NewWindowTVF(in, TumbleWindow, 1, types.TTimestamp, 30*wtvfMin, 30*wtvfMin, 0)
	expectRows(t, "tumble 30m", wtvfRows(t, op),
		"1 | 2022-01-01 10:00:00 | 2022-01-01 10:00:00 | 2022-01-01 10:30:00",
		"2 | 2022-01-01 10:29:59.999999 | 2022-01-01 10:00:00 | 2022-01-01 10:30:00",
		"3 | 2022-01-01 10:30:00 | 2022-01-01 10:30:00 | 2022-01-01 11:00:00",
		"4 | NULL | NULL | NULL",
		"5 | 1969-12-31 23:45:00 | 1969-12-31 23:30:00 | 1970-01-01 00:00:00",
	)
	// An offset shifts the windows; a negative offset is the same as
	// size minus it.
	for _, off := range []int64{10 * wtvfMin, -20 * wtvfMin} {
		op = NewWindowTVF(wtvfSrc(t, "2022-01-01 10:05:00", "2022-01-01 10:10:00"), TumbleWindow, 1, types.TTimestamp, 30*wtvfMin, 30*wtvfMin, off)
		expectRows(t, fmt.Sprintf("tumble offset %d", off), wtvfRows(t, op),
			"1 | 2022-01-01 10:05:00 | 2022-01-01 09:40:00 | 2022-01-01 10:10:00",
			"2 | 2022-01-01 10:10:00 | 2022-01-01 10:10:00 | 2022-01-01 10:40:00",
		)
	}
	// Re-opening runs it again.
	if got := len(wtvfRows(t, op)); got != 2 {
		t.Fatalf("second run gave %d rows", got)
	}
}

func TestWindowTVFHop(t *testing.T) {
	// The rows of RisingWave's hop_window_update_10495.slt.
	op := NewWindowTVF(wtvfSrc(t, "2021-01-01 10:15:00", "2021-01-01 10:25:00", "NULL"), HopWindow, 1, types.TTimestamp, 10*wtvfMin, 30*wtvfMin, 0)
	expectRows(t, "hop 10m/30m", wtvfRows(t, op),
		"1 | 2021-01-01 10:15:00 | 2021-01-01 09:50:00 | 2021-01-01 10:20:00",
		"1 | 2021-01-01 10:15:00 | 2021-01-01 10:00:00 | 2021-01-01 10:30:00",
		"1 | 2021-01-01 10:15:00 | 2021-01-01 10:10:00 | 2021-01-01 10:40:00",
		"2 | 2021-01-01 10:25:00 | 2021-01-01 10:00:00 | 2021-01-01 10:30:00",
		"2 | 2021-01-01 10:25:00 | 2021-01-01 10:10:00 | 2021-01-01 10:40:00",
		"2 | 2021-01-01 10:25:00 | 2021-01-01 10:20:00 | 2021-01-01 10:50:00",
	)
	// Day windows start at midnight.
	op = NewWindowTVF(wtvfSrc(t, "2022-01-01 10:00:00"), HopWindow, 1, types.TTimestamp, wtvfDay, 2*wtvfDay, 0)
	expectRows(t, "hop 1d/2d", wtvfRows(t, op),
		"1 | 2022-01-01 10:00:00 | 2021-12-31 00:00:00 | 2022-01-02 00:00:00",
		"1 | 2022-01-01 10:00:00 | 2022-01-01 00:00:00 | 2022-01-03 00:00:00",
	)
}

func TestWindowTVFCumulate(t *testing.T) {
	op := NewWindowTVF(wtvfSrc(t, "2022-01-01 10:05:00", "2022-01-01 10:20:00", "NULL", "2022-01-01 10:29:00"), CumulateWindow, 1, types.TTimestamp, 10*wtvfMin, 30*wtvfMin, 0)
	expectRows(t, "cumulate 10m/30m", wtvfRows(t, op),
		"1 | 2022-01-01 10:05:00 | 2022-01-01 10:00:00 | 2022-01-01 10:10:00",
		"1 | 2022-01-01 10:05:00 | 2022-01-01 10:00:00 | 2022-01-01 10:20:00",
		"1 | 2022-01-01 10:05:00 | 2022-01-01 10:00:00 | 2022-01-01 10:30:00",
		"2 | 2022-01-01 10:20:00 | 2022-01-01 10:00:00 | 2022-01-01 10:30:00",
		"4 | 2022-01-01 10:29:00 | 2022-01-01 10:00:00 | 2022-01-01 10:30:00",
	)
}

// TestWindowTVFBatches checks that expansion keeps batches within
// exec.BatchSize and loses no row across input batches.
func TestWindowTVFBatches(t *testing.T) {
	var times []string
	for i := 0; i < 3000; i++ {
		times = append(times, fmt.Sprintf("2022-01-01 %02d:%02d:00", i/60%24, i%60))
	}
	in := wtvfSrc(t, times...)
	in.bs = 3000
	op := NewWindowTVF(in, HopWindow, 1, types.TTimestamp, wtvfMin, 5*wtvfMin, 0)
	rows := wtvfRows(t, op) // fails on a batch above exec.BatchSize
	if len(rows) != 15000 {
		t.Fatalf("got %d rows, want 15000", len(rows))
	}
	if rows[4] != "1 | 2022-01-01 00:00:00 | 2022-01-01 00:00:00 | 2022-01-01 00:05:00" || rows[14999] != "3000 | 2022-01-01 01:59:00 | 2022-01-01 01:59:00 | 2022-01-01 02:04:00" {
		t.Fatalf("unexpected rows %q %q", rows[4], rows[14999])
	}
}

func TestWindowTVFValidate(t *testing.T) {
	for _, c := range []struct {
		p    WindowTVFParams
		want string
	}{
		{WindowTVFParams{Kind: HopWindow, TSType: types.TTimestamp, Slide: 0, Size: 60}, "hop slide must be positive"},
		{WindowTVFParams{Kind: HopWindow, TSType: types.TTimestamp, Slide: 10, Size: -10}, "hop size must be positive"},
		{WindowTVFParams{Kind: HopWindow, TSType: types.TTimestamp, Slide: 7, Size: 30}, "hop size must be a multiple of the slide"},
		{WindowTVFParams{Kind: CumulateWindow, TSType: types.TTimestamp, Slide: 7, Size: 30}, "cumulate max_size must be a multiple of the step"},
		{WindowTVFParams{Kind: TumbleWindow, TSType: types.TInt8, Slide: 7, Size: 7}, "the time column of tumble must be of type timestamp"},
		{WindowTVFParams{Kind: HopWindow, TSType: types.TTimestampTZ, Slide: 1, Size: 100000}, "hop gives 100000 windows per row"},
	} {
		err := c.p.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) || sqlerr.Code(err) != sqlerr.InvalidParameterValue {
			t.Errorf("%+v: got %v, want %q (22023)", c.p, err, c.want)
		}
	}
	if err := (WindowTVFParams{Kind: TumbleWindow, TSType: types.TTimestampTZ, Slide: 5, Size: 5, Offset: -3}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestWindowTVFFirstWindow(t *testing.T) {
	wm := int64(wtvfTS(t, "2022-01-01 10:25:00").(types.Timestamp))
	at := func(s string) int64 { return int64(wtvfTS(t, s).(types.Timestamp)) }
	for _, c := range []struct {
		p          WindowTVFParams
		start, end string
	}{
		{WindowTVFParams{Kind: TumbleWindow, Slide: 30 * wtvfMin, Size: 30 * wtvfMin}, "2022-01-01 10:00:00", "2022-01-01 10:30:00"},
		{WindowTVFParams{Kind: HopWindow, Slide: 10 * wtvfMin, Size: 30 * wtvfMin}, "2022-01-01 10:00:00", "2022-01-01 10:30:00"},
		{WindowTVFParams{Kind: CumulateWindow, Slide: 10 * wtvfMin, Size: 60 * wtvfMin}, "2022-01-01 10:00:00", "2022-01-01 10:30:00"},
	} {
		s, e := c.p.FirstWindow(wm)
		if s != at(c.start) || e != at(c.end) {
			t.Errorf("%s: got %d %d, want %s %s", c.p.Explain(), s, e, c.start, c.end)
		}
	}
}

// TestWindowTVFArgs: durations given as expressions are evaluated when
// the operator opens, so one operator serves each execution's arguments;
// a bad value fails that Open with 22023 and the next Open works.
func TestWindowTVFArgs(t *testing.T) {
	size := &expr.Param{Idx: 0, T: types.TInterval}
	op := NewWindowTVFArgs(wtvfSrc(t, "2022-01-01 10:05:00", "2022-01-01 10:40:00"), TumbleWindow, 1, types.TTimestamp, []expr.Expr{size})
	if got := op.Explain(); got != "WindowTVF tumble(#1, size $1)" {
		t.Fatalf("explain %q", got)
	}
	run := func(arg types.Datum) ([]string, error) {
		ctx := newCtx()
		ctx.Params = []types.Datum{arg}
		bs, err := Collect(ctx, op)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, b := range bs {
			for i := 0; i < b.N; i++ {
				out = append(out, types.FormatText(b.Row(i, op.Types())[2], types.TTimestamp, time.UTC))
			}
			b.Release()
		}
		return out, nil
	}
	for _, c := range []struct {
		size types.IntervalValue
		want []string
	}{
		{types.IntervalValue{Micros: 30 * wtvfMin}, []string{"2022-01-01 10:00:00", "2022-01-01 10:30:00"}},
		{types.IntervalValue{Days: 1}, []string{"2022-01-01 00:00:00", "2022-01-01 00:00:00"}},
	} {
		got, err := run(c.size)
		if err != nil || strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Fatalf("size %v: %v, %v; want %v", c.size, got, err, c.want)
		}
	}
	for _, c := range []struct {
		size types.Datum
		msg  string
	}{
		{types.IntervalValue{}, "tumble size must be positive"},
		{types.IntervalValue{Months: 1}, "tumble size must not contain months or years"},
		{nil, "tumble size must not be NULL"},
	} {
		_, err := run(c.size)
		if e := sqlerr.From(err); err == nil || e.Code != sqlerr.InvalidParameterValue || e.Message != c.msg {
			t.Fatalf("size %v: %v, want 22023 %s", c.size, err, c.msg)
		}
	}
	if got, err := run(types.IntervalValue{Micros: 30 * wtvfMin}); err != nil || len(got) != 2 {
		t.Fatalf("after errors: %v, %v", got, err)
	}
	// Constant durations show their values.
	c := NewWindowTVFArgs(wtvfSrc(t), HopWindow, 1, types.TTimestamp, []expr.Expr{
		&expr.Const{Value: types.IntervalValue{Micros: 10 * wtvfMin}, T: types.TInterval},
		&expr.Const{Value: types.IntervalValue{Micros: 30 * wtvfMin}, T: types.TInterval}})
	if got := c.Explain(); got != "WindowTVF hop(#1, slide 00:10:00, size 00:30:00)" {
		t.Fatalf("explain %q", got)
	}
}
