package types

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"
)

// TestAppendKeysMatchesRowForm checks, for random columns of every type
// (edge values, NULLs, equal values in different shapes), that the column
// form writes byte for byte what the row form writes, in every direction
// and NULL placement, on whole and sliced arrays, and that the keys order
// rows as Compare does with NULLs where they were asked for.
func TestAppendKeysMatchesRowForm(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, typ := range encodingTypes {
		ds := make([]Datum, 700)
		for i := range ds {
			ds[i] = randDatum(r, typ)
		}
		whole := ArrayFromDatums(typ, ds)
		sliced := array.NewSlice(whole, 37, 600)
		for _, tc := range []struct {
			arr arrow.Array
			ds  []Datum
		}{{whole, ds}, {sliced, ds[37:600]}} {
			// read the datums back from the column: the row form gets what
			// the column holds (float4 rounding, char padding)
			rows := make([]Datum, tc.arr.Len())
			for i := range rows {
				rows[i] = GetDatum(tc.arr, i, typ)
			}
			for _, desc := range []bool{false, true} {
				for _, nf := range []bool{false, true} {
					keys := make([][]byte, len(rows))
					for i := range keys {
						keys[i] = []byte{0xAB} // a prefix already there
					}
					keys = AppendKeys(keys, tc.arr, typ, desc, nf)
					for i, d := range rows {
						want := AppendKeyNulls([]byte{0xAB}, d, typ, desc, nf)
						if !bytes.Equal(keys[i], want) {
							t.Fatalf("%s desc=%v nullsFirst=%v row %d (%v): %x, row form %x", typ, desc, nf, i, d, keys[i], want)
						}
						got, rest, err := DecodeKey(keys[i][1:], typ, desc)
						if err != nil || len(rest) != 0 || cmpNullsLast(got, d, typ) != 0 {
							t.Fatalf("%s desc=%v nullsFirst=%v: %v decodes as %v, rest %x, %v", typ, desc, nf, d, got, rest, err)
						}
						if i == 0 {
							continue
						}
						a, b := rows[i-1], d
						var order int
						switch {
						case a == nil && b == nil:
						case a == nil || b == nil:
							order = 1
							if (a == nil) == nf {
								order = -1
							}
						default:
							order = sign(Compare(a, b, typ))
							if desc {
								order = -order
							}
						}
						if got := sign(bytes.Compare(keys[i-1], keys[i])); got != order {
							t.Fatalf("%s desc=%v nullsFirst=%v: %v vs %v: key order %d, want %d", typ, desc, nf, a, b, got, order)
						}
					}
				}
			}
			vals := make([][]byte, len(rows))
			var sel []int32
			for i := range rows {
				if i%3 != 1 {
					sel = append(sel, int32(i))
				}
			}
			AppendValues(vals, sel, tc.arr, typ)
			for _, i := range sel {
				if want := AppendValue(nil, rows[i], typ); !bytes.Equal(vals[i], want) {
					t.Fatalf("%s row %d (%v): value %x, row form %x", typ, i, rows[i], vals[i], want)
				}
			}
		}
		whole.Release()
	}
}

func TestAppendKeysNullArray(t *testing.T) {
	arr := array.NewNull(3)
	for _, nf := range []bool{false, true} {
		for _, k := range AppendKeys(make([][]byte, 3), arr, TText, true, nf) {
			if want := AppendKeyNulls(nil, nil, TText, true, nf); !bytes.Equal(k, want) {
				t.Fatalf("nullsFirst=%v: %x, want %x", nf, k, want)
			}
		}
	}
}

// TestAppendKeysNumericText covers the numeric texts the column form cuts
// up itself, against the decimal path of the row form.
func TestAppendKeysNumericText(t *testing.T) {
	texts := []string{
		"0", "-0", "0.000", "-0.00", "00012.3400", "1", "10", "100", "100.00", "120.5", "-120.5",
		"0.5", ".5", "-.5", "0.00123", "-0.00123", "1234567890123456789012345678901234567890.0001",
		"5.", "NaN", "Infinity", "-Infinity", "1e3", "-2.5E-4", "7", "-7", "99.99", "0.1", "0.01",
	}
	b := array.NewStringBuilder(Mem)
	for _, s := range texts {
		b.Append(s)
	}
	b.AppendNull()
	arr := b.NewStringArray()
	defer arr.Release()
	for _, desc := range []bool{false, true} {
		keys := AppendKeys(make([][]byte, arr.Len()), arr, TNumeric, desc, false)
		for i, s := range texts {
			d, _, err := apd.NewFromString(s)
			if err != nil {
				t.Fatal(err)
			}
			if want := AppendKey(nil, d, TNumeric, desc); !bytes.Equal(keys[i], want) {
				t.Fatalf("%q desc=%v: %x, want %x", s, desc, keys[i], want)
			}
		}
		if want := AppendKey(nil, nil, TNumeric, false); !bytes.Equal(keys[len(texts)], want) {
			t.Fatalf("NULL: %x, want %x", keys[len(texts)], want)
		}
	}
}

func TestAppendIntKeyMatchesAppendKey(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 255, 256, -1 << 63, 1<<63 - 1, 123456789} {
		for _, ty := range []T{TInt2, TInt4, TInt8} {
			if got, want := AppendIntKey([]byte{7}, v), AppendKey([]byte{7}, v, ty, false); string(got) != string(want) {
				t.Fatalf("%d as %v: %x, want %x", v, ty, got, want)
			}
			if got, want := AppendIntValue([]byte{7}, v), AppendValue([]byte{7}, v, ty); string(got) != string(want) {
				t.Fatalf("value %d as %v: %x, want %x", v, ty, got, want)
			}
		}
	}
}

// FuzzAppendKeys checks the column form against the row form on columns
// of numeric and text values read from arbitrary text.
func FuzzAppendKeys(f *testing.F) {
	for _, s := range []string{"1.50", "-0", "0.000", "1e5", "a\x00b", "NaN", "-12.0340", ""} {
		f.Add(s, s+"0", false)
	}
	f.Fuzz(func(t *testing.T, a, b string, desc bool) {
		for _, typ := range []T{TNumeric, TText, {Kind: Char, Width: 4}, TBytea} {
			var ds []Datum
			for _, s := range []string{a, b} {
				var d Datum
				switch typ.Kind {
				case Numeric:
					v, _, err := apd.NewFromString(s)
					if err != nil || v.Form == apd.NaNSignaling {
						continue
					}
					d = v
				case Bytea:
					d = []byte(s)
				default:
					d = s
				}
				ds = append(ds, d)
			}
			arr := ArrayFromDatums(typ, ds)
			keys := AppendKeys(make([][]byte, arr.Len()), arr, typ, desc, true)
			for i := range keys {
				if want := AppendKeyNulls(nil, GetDatum(arr, i, typ), typ, desc, true); !bytes.Equal(keys[i], want) {
					t.Fatalf("%s %q: %x, row form %x", typ, ds[i], keys[i], want)
				}
			}
			arr.Release()
		}
	})
}

func benchKeyColumns(n int) (arrow.Array, arrow.Array, arrow.Array) {
	r := rand.New(rand.NewSource(4))
	ib, fb, sb := array.NewInt64Builder(Mem), array.NewFloat64Builder(Mem), array.NewStringBuilder(Mem)
	for i := 0; i < n; i++ {
		ib.Append(r.Int63n(1 << 20))
		fb.Append(r.NormFloat64())
		sb.Append([]string{"alpha", "bravo", "charlie-delta", "echo"}[r.Intn(4)])
	}
	return ib.NewArray(), fb.NewArray(), sb.NewArray()
}

// BenchmarkAppendKeys encodes an int8, a float8 and a text column of
// 1,024 rows column at a time, and row at a time through datums as the
// operators did before the column form.
func BenchmarkAppendKeys(b *testing.B) {
	ints, floats, texts := benchKeyColumns(1024)
	keys := make([][]byte, 1024)
	b.Run("column", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range keys {
				keys[i] = keys[i][:0]
			}
			AppendKeys(keys, ints, TInt8, false, false)
			AppendKeys(keys, floats, TFloat8, true, false)
			AppendKeys(keys, texts, TText, false, true)
		}
	})
	b.Run("row", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range keys {
				k := keys[i][:0]
				k = AppendKeyNulls(k, GetDatum(ints, i, TInt8), TInt8, false, false)
				k = AppendKeyNulls(k, GetDatum(floats, i, TFloat8), TFloat8, true, false)
				keys[i] = AppendKeyNulls(k, GetDatum(texts, i, TText), TText, false, true)
			}
		}
	})
}
