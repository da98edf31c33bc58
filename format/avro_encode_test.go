package format

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hamba/avro/v2"

	"streamsql/internal/testregistry"
	"streamsql/sql/types"
)

// TestAvroDecimal checks the two's complement bytes of decimals against
// hamba/avro's reading of them, across the int64 fast path and big values.
func TestAvroDecimal(t *testing.T) {
	num := types.T{Kind: types.Numeric, Precision: 38, Scale: 3}
	schema := avro.MustParse(`{"type":"bytes","logicalType":"decimal","precision":38,"scale":3}`)
	for _, c := range []struct{ in, want string }{
		{"0", "0.000"}, {"1.5", "1.500"}, {"-1.5", "-1.500"}, {"127", "127.000"}, {"-0.128", "-0.128"},
		{"0.127", "0.127"}, {"-0.129", "-0.129"}, {"999999999999999.999", "999999999999999.999"},
		{"-9223372036854775.808", "-9223372036854775.808"},
		{"12345678901234567890123456789012345.678", "12345678901234567890123456789012345.678"},
		{"-12345678901234567890123456789012345.678", "-12345678901234567890123456789012345.678"},
		{"2.5000", "2.500"},
	} {
		var bi big.Int
		b, err := appendDecimal(nil, &bi, c.in, num)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		var r *big.Rat
		if err := avro.Unmarshal(schema, appendAvroBytes(nil, b), &r); err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := r.FloatString(3); got != c.want {
			t.Errorf("%s: read back %s, want %s (bytes %x)", c.in, got, c.want, b)
		}
	}
	var bi big.Int
	if _, err := appendDecimal(nil, &bi, "1234.5", types.T{Kind: types.Numeric, Precision: 4, Scale: 1}); err == nil {
		t.Errorf("1234.5 fits numeric(4,1)")
	}
	if _, err := appendDecimal(nil, &bi, "NaN", num); err == nil {
		t.Errorf("NaN written as a decimal")
	}
}

// TestAvroEncoderRow encodes a row of every kind of column with its
// derived schema and reads it back with hamba/avro.
func TestAvroEncoderRow(t *testing.T) {
	ts := []types.T{types.TBool, types.TInt2, types.TInt8, types.TFloat4, types.TFloat8, types.TText, types.TBytea,
		types.TDate, types.TTimestampTZ, {Kind: types.Numeric, Precision: 6, Scale: 2}, types.TInt4}
	names := []string{"b", "s", "l", "f", "d", "txt", "raw", "day", "at", "amt", "1 bad-name"}
	e := NewAvroEncoder(names, ts)
	s, err := avro.Parse(e.Schema("my sink", "streamsql", nil))
	if err != nil {
		t.Fatal(err)
	}
	cols := []arrow.Array{
		column(ts[0], true), column(ts[1], int64(-7)), column(ts[2], int64(1)<<40), column(ts[3], float64(1.5)),
		column(ts[4], float64(-2.25)), column(ts[5], "héllo"), column(ts[6], []byte{0, 1, 2}),
		column(ts[7], types.Date(19844)), column(ts[8], types.Timestamp(1714555800123456)),
		column(ts[9], "-12.30"), column(ts[10], nil),
	}
	e.Bind(cols)
	buf := e.AppendRow(nil, 0)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := avro.Unmarshal(s, buf, &m); err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, n := range []string{"b", "s", "l", "f", "d", "txt", "raw", "day", "at", "amt", "_1_bad_name"} {
		v := m[n]
		if u, ok := v.(map[string]any); ok {
			for _, x := range u {
				v = x
			}
		}
		switch x := v.(type) {
		case *big.Rat:
			v = x.FloatString(2)
		}
		got += n + "=" + fmt.Sprint(v) + " "
	}
	want := "b=true s=-7 l=1099511627776 f=1.5 d=-2.25 txt=héllo raw=[0 1 2] day=2024-05-01 00:00:00 +0000 UTC at=2024-05-01 09:30:00.123456 +0000 UTC amt=-12.30 _1_bad_name=<nil> "
	if got != want {
		t.Errorf("read back:\n%s\nwant\n%s", got, want)
	}
}

// BenchmarkChangeEncoderQ0Avro encodes Nexmark q0's rows (auction, bidder,
// price, date_time) as FORMAT PLAIN ENCODE AVRO, 4,096 rows per chunk: the
// Avro twin of BenchmarkChangeEncoderQ0.
func BenchmarkChangeEncoderQ0Avro(b *testing.B) {
	reg := testregistry.New(b)
	benchQ0(b, ChangeEncoderConfig{Format: "PLAIN", Encode: "AVRO", Topic: "q0", Name: "q0",
		Options: map[string]string{"schema.registry": reg.URL()}})
}
