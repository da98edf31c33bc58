package format

import (
	"fmt"
	"math/rand"
	"strconv"
	"testing"
	"time"

	"streamsql/sql/types"
)

// The fast paths for integers, dates and timestamps must agree with the
// input functions of sql/types wherever they accept a value; where they do
// not, the slow path decides.
func TestFastPathsAgreeWithInputFunctions(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	pick := func(xs ...string) string { return xs[rng.Intn(len(xs))] }
	accepted := 0
	for i := 0; i < 20000; i++ {
		s := fmt.Sprintf("%04d-%02d-%02d%s%02d:%02d:%02d%s%s",
			rng.Intn(10000), rng.Intn(14), rng.Intn(33), pick(" ", "T", "t", "  "),
			rng.Intn(26), rng.Intn(62), rng.Intn(62),
			pick("", ".5", ".123456", ".1234567", ".", ".0001"),
			pick("", "Z", "+02:00", "-0830", "+05", "+15:59", "+16:00", " UTC", "+1"))
		for _, tz := range []bool{false, true} {
			typ := types.TTimestamp
			if tz {
				typ = types.TTimestampTZ
			}
			fast, ok := parseTimestampFast([]byte(s), tz)
			if !ok {
				continue
			}
			accepted++
			d, err := types.ParseText(s, typ, time.UTC)
			if err != nil {
				t.Fatalf("%q (%s): fast path accepted %d, input function: %v", s, typ, fast, err)
			}
			if int64(d.(types.Timestamp)) != fast {
				t.Fatalf("%q (%s): fast path %d, input function %d", s, typ, fast, d)
			}
		}
		ds := s[:10]
		if fast, ok := parseDateFast([]byte(ds)); ok {
			d, err := types.ParseText(ds, types.TDate, time.UTC)
			if err != nil || d.(types.Date) != fast {
				t.Fatalf("%q: fast date %d, input function %v %v", ds, fast, d, err)
			}
		}
	}
	if accepted < 1000 {
		t.Fatalf("the fast path took only %d of the generated timestamps", accepted)
	}
	for i := 0; i < 20000; i++ {
		n := rng.Int63() >> uint(rng.Intn(63))
		if rng.Intn(2) == 0 {
			n = -n
		}
		s := strconv.FormatInt(n, 10)
		if rng.Intn(10) == 0 {
			s = "+" + s
		}
		if v, ok := parseIntFast([]byte(s)); ok && v != n {
			t.Fatalf("%q: fast int %d", s, v)
		}
	}
	for _, s := range []string{"", "-", "+", "1.0", "1e3", " 1", "١", "99999999999999999999"} {
		if v, ok := parseIntFast([]byte(s)); ok {
			t.Errorf("%q: fast int accepted %d", s, v)
		}
	}
}
