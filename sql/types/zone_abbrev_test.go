package types

import (
	"testing"
	"time"
)

// Every abbreviation AT TIME ZONE accepts is accepted by timestamptz input
// with the same offset: the two paths read one table.
func TestZoneAbbrevInput(t *testing.T) {
	for name, off := range zoneAbbrevs {
		for _, spelled := range []string{name, upper(name)} {
			d, err := ParseText("2020-01-01 12:00:00 "+spelled, TTimestampTZ, time.UTC)
			if err != nil {
				t.Errorf("%s: %v", spelled, err)
				continue
			}
			want := time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC).Add(-time.Duration(off) * time.Second)
			got := time.UnixMicro(int64(d.(Timestamp))).UTC()
			if !got.Equal(want) {
				t.Errorf("%s: got %v, want %v", spelled, got, want)
			}
		}
	}
	if _, ok := ZoneAbbrevOffset("SAST"); !ok {
		t.Fatal("SAST missing")
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
