package batch

import (
	"math"
	"strings"
	"testing"

	"streamsql/sql/types"
)

// TestSessionWindow checks sessions per partition across input batches
// (src hands out two rows at a time): a gap of exactly gap starts a new
// session, NULL partition values form one partition, NULL times are
// dropped.
func TestSessionWindow(t *testing.T) {
	ts := []types.T{types.TInt4, types.TTimestamp}
	in := newSrc(ts,
		[]types.Datum{int64(1), wtvfTS(t, "2024-01-01 10:00:00")},
		[]types.Datum{int64(2), wtvfTS(t, "2024-01-01 10:00:00")},
		[]types.Datum{int64(1), wtvfTS(t, "2024-01-01 10:09:00")},
		[]types.Datum{nil, wtvfTS(t, "2024-01-01 10:01:00")},
		[]types.Datum{int64(1), wtvfTS(t, "2024-01-01 10:04:59")},
		[]types.Datum{int64(2), wtvfTS(t, "2024-01-01 10:05:00")},
		[]types.Datum{int64(1), nil},
		[]types.Datum{nil, wtvfTS(t, "2024-01-01 10:02:00")},
	)
	op := NewSessionWindow(in, 1, types.TTimestamp, 5*60*1_000_000)
	op.SetPartition([]int{0})
	got := strings.Join(wtvfRows(t, op), "\n")
	want := strings.Join([]string{
		"1 | 2024-01-01 10:00:00 | 2024-01-01 10:00:00 | 2024-01-01 10:14:00",
		"1 | 2024-01-01 10:04:59 | 2024-01-01 10:00:00 | 2024-01-01 10:14:00",
		"1 | 2024-01-01 10:09:00 | 2024-01-01 10:00:00 | 2024-01-01 10:14:00",
		"2 | 2024-01-01 10:00:00 | 2024-01-01 10:00:00 | 2024-01-01 10:05:00",
		"2 | 2024-01-01 10:05:00 | 2024-01-01 10:05:00 | 2024-01-01 10:10:00",
		"NULL | 2024-01-01 10:01:00 | 2024-01-01 10:01:00 | 2024-01-01 10:07:00",
		"NULL | 2024-01-01 10:02:00 | 2024-01-01 10:01:00 | 2024-01-01 10:07:00",
	}, "\n")
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Without a partition the whole input is one session here.
	op = NewSessionWindow(in, 1, types.TTimestamp, 5*60*1_000_000)
	if rows := wtvfRows(t, op); len(rows) != 7 || !strings.HasSuffix(rows[6], "2024-01-01 10:00:00 | 2024-01-01 10:14:00") {
		t.Fatalf("one partition: %q", rows)
	}
}

func TestSessionArithmetic(t *testing.T) {
	const gap = 10
	for _, c := range []struct {
		last, t int64
		want    bool
	}{{0, 9, true}, {0, 10, false}, {math.MinInt64, 0, false}, {math.MinInt64, math.MinInt64, true}, {-5, 4, true}, {math.MaxInt64 - 3, math.MaxInt64, true}} {
		if got := SessionContinues(c.last, c.t, gap); got != c.want {
			t.Errorf("SessionContinues(%d, %d) = %v", c.last, c.t, got)
		}
	}
	if SessionEnd(math.MaxInt64, gap) != math.MaxInt64 || SessionEnd(math.MaxInt64-5, gap) != math.MaxInt64 || SessionEnd(3, gap) != 13 {
		t.Error("SessionEnd does not saturate")
	}
}
