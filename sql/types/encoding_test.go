package types

import (
	"bytes"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
)

var encodingTypes = []T{
	TBool, TInt2, TInt4, TInt8, TFloat4, TFloat8, TNumeric, TText, TVarchar,
	{Kind: Char, Width: 4}, TBytea, TDate, TTime, TTimestamp, TTimestampTZ,
	TInterval, TJSONB, TOid, TName,
}

// randDatum returns a random value of t, biased toward edge cases and
// toward values that compare equal while looking different.
func randDatum(r *rand.Rand, t T) Datum {
	if r.Intn(12) == 0 {
		return nil
	}
	pick := func(n int) bool { return r.Intn(n) == 0 }
	switch t.Kind {
	case Bool:
		return r.Intn(2) == 0
	case Int2, Int4, Int8, Oid:
		lo, hi := IntRange(t.Kind)
		if t.Kind == Oid {
			lo, hi = 0, math.MaxUint32
		}
		switch r.Intn(4) {
		case 0:
			return []int64{lo, hi, 0, -1, 1}[r.Intn(5)] % (hi + 1)
		case 1:
			return int64(r.Intn(21)-10) % (hi + 1)
		}
		v := r.Int63()
		if r.Intn(2) == 0 {
			v = -v
		}
		if t.Kind != Int8 {
			v = lo + int64(uint64(v)%uint64(hi-lo+1))
		}
		return v
	case Float4, Float8:
		specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1, -1, math.SmallestNonzeroFloat64, math.MaxFloat64}
		var f float64
		if pick(3) {
			f = specials[r.Intn(len(specials))]
		} else {
			f = r.NormFloat64() * math.Pow(10, float64(r.Intn(40)-20))
		}
		if t.Kind == Float4 {
			f = float64(float32(f))
		}
		return f
	case Numeric:
		switch r.Intn(10) {
		case 0:
			return &apd.Decimal{Form: apd.NaN}
		case 1:
			return &apd.Decimal{Form: apd.Infinite, Negative: r.Intn(2) == 0}
		}
		d := apd.New(r.Int63n(2000000)-1000000, int32(r.Intn(12)-8))
		if pick(3) {
			d = apd.New(int64(r.Intn(30)-15), int32(r.Intn(4)-3)) // small values, many ties
		}
		if pick(4) {
			// the same value with extra trailing zeros (1.5 vs 1.500)
			var z apd.Decimal
			_, _ = DecimalCtx.Quantize(&z, d, d.Exponent-int32(r.Intn(3)+1))
			d = &z
		}
		if d.Exponent > 0 {
			_, _ = DecimalCtx.Quantize(d, d, 0)
		}
		if d.Coeff.Sign() == 0 {
			d.Negative = false
		}
		return d
	case Text, Varchar, Name, JSONB, Char:
		alphabet := []byte{0, 1, 'a', 'b', ' ', 0xff}
		if t.Kind == Name || t.Kind == JSONB || t.Kind == Char {
			alphabet = []byte{'a', 'b', ' ', '~', 'c'}
		}
		n := r.Intn(5)
		if t.Kind == Char {
			n = r.Intn(int(t.Width) + 1)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
		s := string(b)
		if t.Kind == Char {
			s, _ = applyWidth(s, t, true)
		}
		return s
	case Bytea:
		b := make([]byte, r.Intn(5))
		for i := range b {
			b[i] = []byte{0, 1, 0xfe, 0xff, 'x'}[r.Intn(5)]
		}
		return b
	case DateKind:
		if pick(10) {
			return []Date{DatePosInfinity, DateNegInfinity}[r.Intn(2)]
		}
		return Date(r.Intn(2000000) - 1000000)
	case Time:
		return TimeOfDay(r.Int63n(MicrosPerDay + 1))
	case TimestampKind, TimestampTZ:
		if pick(10) {
			return []Timestamp{TimestampPosInfinity, TimestampNegInfinity}[r.Intn(2)]
		}
		return Timestamp(r.Int63n(1<<52) - 1<<51)
	case Interval:
		if pick(3) {
			// equal spans in different shapes: 1 mon = 30 days = 720 hours
			k := int64(r.Intn(5) - 2)
			switch r.Intn(3) {
			case 0:
				return IntervalValue{Months: int32(k)}
			case 1:
				return IntervalValue{Days: int32(30 * k)}
			}
			return IntervalValue{Micros: 30 * k * MicrosPerDay}
		}
		return IntervalValue{Months: r.Int31n(2000) - 1000, Days: r.Int31n(2000) - 1000, Micros: r.Int63n(1<<40) - 1<<39}
	}
	panic(t.String())
}

// cmpNullsLast extends Compare with NULL greater than every value.
func cmpNullsLast(a, b Datum, t T) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return Compare(a, b, t)
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

func TestKeyOrderAndRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, typ := range encodingTypes {
		for i := 0; i < 3000; i++ {
			a, b := randDatum(r, typ), randDatum(r, typ)
			for _, desc := range []bool{false, true} {
				ka := AppendKey(nil, a, typ, desc)
				kb := AppendKey(nil, b, typ, desc)
				want := cmpNullsLast(a, b, typ)
				if desc {
					want = -want
				}
				if got := sign(bytes.Compare(ka, kb)); got != want {
					t.Fatalf("%s desc=%v: %v vs %v: key order %d, value order %d (%x, %x)", typ, desc, a, b, got, want, ka, kb)
				}
				// Decoding returns an equal value and exactly the rest.
				buf := append(append([]byte{}, ka...), 0xAB, 0xCD)
				d, rest, err := DecodeKey(buf, typ, desc)
				if err != nil {
					t.Fatalf("%s: decode %v: %v", typ, a, err)
				}
				if !bytes.Equal(rest, []byte{0xAB, 0xCD}) {
					t.Fatalf("%s: decode %v left %x", typ, a, rest)
				}
				if cmpNullsLast(a, d, typ) != 0 {
					t.Fatalf("%s: decode %v gave %v", typ, a, d)
				}
			}
		}
	}
}

// TestKeyComposite checks that concatenated keys sort by the first column,
// then the second, whatever the lengths of the parts.
func TestKeyComposite(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	types := []T{TText, TNumeric, TInt4}
	descs := []bool{false, true, false}
	enc := func(row []Datum) []byte {
		var b []byte
		for i, d := range row {
			b = AppendKey(b, d, types[i], descs[i])
		}
		return b
	}
	for i := 0; i < 5000; i++ {
		ra := []Datum{randDatum(r, TText), randDatum(r, TNumeric), randDatum(r, TInt4)}
		rb := []Datum{randDatum(r, TText), randDatum(r, TNumeric), randDatum(r, TInt4)}
		want := 0
		for j := range ra {
			c := cmpNullsLast(ra[j], rb[j], types[j])
			if descs[j] {
				c = -c
			}
			if c != 0 {
				want = c
				break
			}
		}
		if got := sign(bytes.Compare(enc(ra), enc(rb))); got != want {
			t.Fatalf("%v vs %v: key order %d, want %d", ra, rb, got, want)
		}
		rest := enc(ra)
		for j := range ra {
			d, next, err := DecodeKey(rest, types[j], descs[j])
			if err != nil || cmpNullsLast(d, ra[j], types[j]) != 0 {
				t.Fatalf("column %d of %v: got %v, %v", j, ra, d, err)
			}
			rest = next
		}
		if len(rest) != 0 {
			t.Fatalf("%v: %d bytes left", ra, len(rest))
		}
	}
}

func TestKeyEqualValuesEncodeEqual(t *testing.T) {
	pairs := []struct {
		typ  T
		a, b string
	}{
		{TNumeric, "1.0", "1.00"},
		{TNumeric, "0", "-0.000"},
		{TNumeric, "100", "1e2"},
		{TFloat8, "0", "-0"},
		{TInterval, "1 mon", "30 days"},
		{TInterval, "1 day", "24 hours"},
		{T{Kind: Char, Width: 3}, "a", "a  "},
	}
	for _, p := range pairs {
		a, err1 := ParseText(p.a, p.typ, nil)
		b, err2 := ParseText(p.b, p.typ, nil)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !bytes.Equal(AppendKey(nil, a, p.typ, false), AppendKey(nil, b, p.typ, false)) {
			t.Errorf("%s: %q and %q encode differently", p.typ, p.a, p.b)
		}
		if Compare(a, b, p.typ) != 0 {
			t.Errorf("%s: %q and %q compare unequal", p.typ, p.a, p.b)
		}
	}
}

func TestDecodeKeyCorrupt(t *testing.T) {
	for _, c := range []struct {
		typ T
		b   []byte
	}{
		{TInt8, []byte{keyNotNull, 1, 2}},
		{TText, []byte{keyNotNull, 'a', 0}},
		{TText, []byte{keyNotNull, 'a', 0, 7}},
		{TNumeric, []byte{keyNotNull, keyNumPos, 0, 0, 0}},
		{TBool, nil},
		{TBool, []byte{0x42}},
	} {
		if _, _, err := DecodeKey(c.b, c.typ, false); err == nil {
			t.Errorf("%s %x: expected error", c.typ, c.b)
		}
	}
}

func TestValueRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, typ := range encodingTypes {
		for i := 0; i < 2000; i++ {
			d := randDatum(r, typ)
			buf := AppendValue([]byte{0x99}, d, typ)
			got, rest, err := DecodeValue(buf[1:], typ)
			if err != nil || len(rest) != 0 {
				t.Fatalf("%s %v: %v, rest %x", typ, d, err, rest)
			}
			if (d == nil) != (got == nil) {
				t.Fatalf("%s %v: got %v", typ, d, got)
			}
			if d == nil {
				continue
			}
			// Exact: same text (numeric scale, interval shape, -0 kept).
			if a, b := FormatText(d, typ, time.UTC), FormatText(got, typ, time.UTC); a != b {
				t.Fatalf("%s: %q decoded as %q", typ, a, b)
			}
			if f, ok := d.(float64); ok && math.Signbit(f) != math.Signbit(got.(float64)) {
				t.Fatalf("%s: sign of %v lost", typ, f)
			}
		}
	}
}

func TestRowAddColumn(t *testing.T) {
	old := []T{TInt4, TText}
	now := []T{TInt4, TText, TNumeric, TBool}
	buf := EncodeRow(nil, []Datum{int64(7), "x"}, old)
	row, err := DecodeRow(buf, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(row) != 4 || row[0] != int64(7) || row[1] != "x" || row[2] != nil || row[3] != nil {
		t.Fatalf("got %v", row)
	}
	full := []Datum{nil, "", apd.New(-15, -1), true}
	row, err = DecodeRow(EncodeRow(nil, full, now), now)
	if err != nil || row[0] != nil || row[1] != "" || row[2].(*apd.Decimal).String() != "-1.5" || row[3] != true {
		t.Fatalf("got %v, %v", row, err)
	}
	if _, err := DecodeRow(buf, now[:1]); err == nil {
		t.Fatal("row wider than the table decoded")
	}
	if _, err := DecodeRow(buf[:len(buf)-1], old); err == nil {
		t.Fatal("truncated row decoded")
	}
}
