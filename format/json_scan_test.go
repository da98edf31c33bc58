package format

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// The hand-written scanner must accept exactly the JSON that encoding/json
// accepts (less what PostgreSQL refuses in text: \u0000, invalid UTF-8 and
// lone surrogates), and a jsonb column must hold what jsonb input makes of
// the same text. checkScannerAgainstEncodingJSON decodes {"j": X} into a
// jsonb column and compares.
func checkScannerAgainstEncodingJSON(t *testing.T, dec Decoder, out *Batch, x []byte) {
	if !utf8.Valid(x) || bytes.Contains(x, []byte(`\u0000`)) || surrogateEscape.Match(x) {
		return
	}
	msg := append(append([]byte(`{"j": `), x...), '}')
	out.Reset()
	dec.DecodeBatch([]Message{{Value: msg}}, out)
	cols, _ := out.Finish()
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	valid := json.Valid(msg)
	want, err := types.NormalizeJSONB(string(x))
	if valid && err != nil {
		valid = false // valid JSON that jsonb refuses too (a number beyond numeric)
	}
	if valid != (len(out.Rejects) == 0) {
		reason := ""
		if len(out.Rejects) > 0 {
			reason = out.Rejects[0].Err.Error()
		}
		t.Fatalf("%q: encoding/json valid=%v, scanner rejected=%v %s", msg, valid, len(out.Rejects) > 0, reason)
	}
	if !valid {
		return
	}
	got := cols[0].(*array.String)
	if x := strings.TrimSpace(string(x)); x == "null" {
		if !got.IsNull(0) {
			t.Fatalf("JSON null must be SQL NULL, got %q", got.Value(0))
		}
		return
	}
	if got.Value(0) != want {
		t.Fatalf("%q: jsonb %q, want %q", x, got.Value(0), want)
	}
}

var surrogateEscape = regexp.MustCompile(`(?i)\\u[d][89a-f]`)

func randomJSON(rng *rand.Rand, depth int) any {
	switch k := rng.Intn(9); {
	case depth > 3 || k < 2:
		return []any{nil, true, false, "", "a\"b\\c\n\t/é😀", "\u001f"}[rng.Intn(6)]
	case k < 4:
		return []any{0, -1, 1.5, 1e21, -2.25e-7, 123456789012345678, 0.1}[rng.Intn(7)]
	case k < 6:
		n := rng.Intn(4)
		a := make([]any, n)
		for i := range a {
			a[i] = randomJSON(rng, depth+1)
		}
		return a
	default:
		n := rng.Intn(4)
		m := map[string]any{}
		for i := 0; i < n; i++ {
			m[string(rune('a'+rng.Intn(5)))+strings.Repeat("k", rng.Intn(3))] = randomJSON(rng, depth+1)
		}
		return m
	}
}

func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	schema := Schema{Columns: []Column{{Name: "j", Type: types.TJSONB}}}
	dec, err := NewDecoder(Spec{Format: "PLAIN", Encode: "JSON"}, schema)
	if err != nil {
		t.Fatal(err)
	}
	out := NewBatch(schema)
	rng := rand.New(rand.NewSource(7))
	const noise = " \t\n{}[]:,\"\\-+.eE0123456789tfnul\x01é"
	for i := 0; i < 8000; i++ {
		doc, _ := json.Marshal(randomJSON(rng, 0))
		if rng.Intn(2) == 0 {
			var ind bytes.Buffer
			json.Indent(&ind, doc, "", " ")
			doc = ind.Bytes()
		}
		checkScannerAgainstEncodingJSON(t, dec, out, doc)
		// Mutate: replace, insert or delete a byte.
		for m := 0; m < 3 && len(doc) > 0; m++ {
			p := rng.Intn(len(doc))
			c := noise[rng.Intn(len(noise))]
			switch rng.Intn(3) {
			case 0:
				doc[p] = c
			case 1:
				doc = append(doc[:p], append([]byte{c}, doc[p:]...)...)
			default:
				doc = append(doc[:p], doc[p+1:]...)
			}
			checkScannerAgainstEncodingJSON(t, dec, out, append([]byte(nil), doc...))
		}
	}
}

func FuzzScanner(f *testing.F) {
	for _, s := range []string{`1`, `"a\u00e9"`, `[1,{"a":null}]`, `{"a":[true,false]}`, `-0.5e+3`, `"\ud83d\ude00"`} {
		f.Add([]byte(s))
	}
	schema := Schema{Columns: []Column{{Name: "j", Type: types.TJSONB}}}
	dec, err := NewDecoder(Spec{Format: "PLAIN", Encode: "JSON"}, schema)
	if err != nil {
		f.Fatal(err)
	}
	out := NewBatch(schema)
	f.Fuzz(func(t *testing.T, x []byte) {
		checkScannerAgainstEncodingJSON(t, dec, out, x)
	})
}

// TestJSONExpectedKeyOrder decodes objects whose keys match the expected
// column in place (expectKey) and objects that must fall back to reading
// the key: other orders, a key that only starts with a column's name, an
// escaped spelling of a name, a repeated key (the last one wins),
// whitespace around the colon, and a malformed object after a matching key.
func TestJSONExpectedKeyOrder(t *testing.T) {
	schema := Schema{Columns: []Column{
		{Name: "a", Type: mustType("bigint")},
		{Name: "ab", Type: mustType("text")},
		{Name: "c", Type: mustType("bigint")},
	}}
	dec, err := NewDecoder(Spec{Format: "PLAIN", Encode: "JSON"}, schema)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{`{"a": 1, "ab": "x", "c": 3}`, "1|x|3"},
		{`{"c": 3, "ab": "x", "a": 1}`, "1|x|3"},
		{`{"ab": "x", "a": 1}`, "1|x|NULL"},
		{`{"a" : 1 ,"abc": 9, "c":3}`, "1|NULL|3"},
		{`{"\u0061": 1, "a\u0062": "y", "c": 3}`, "1|y|3"},
		{`{"a": 1, "a": 2, "ab": "x", "ab": "z"}`, "2|z|NULL"},
		{`{"A": 1, "AB": "x", "C": 3}`, "1|x|3"},
		{"{\n\t\"a\"\n:\n7\n}", "7|NULL|NULL"},
		{`{"a": 1, "ab" "x"}`, "reject"},
		{`{"a": 1 "ab": "x"}`, "reject"},
	} {
		out := NewBatch(schema)
		// Twice: the second message starts with the hint the first left.
		dec.DecodeBatch([]Message{{Value: []byte(tc.in)}, {Value: []byte(tc.in)}}, out)
		cols, _ := out.Finish()
		got := "reject"
		if len(out.Rejects) == 0 {
			var parts []string
			for _, c := range cols {
				if c.Len() != 2 {
					t.Fatalf("%s: %d rows, want 2", tc.in, c.Len())
				}
				if c.IsNull(1) {
					parts = append(parts, "NULL")
				} else {
					parts = append(parts, c.ValueStr(1))
				}
			}
			got = strings.Join(parts, "|")
		}
		if got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, got, tc.want)
		}
		for _, c := range cols {
			c.Release()
		}
	}
}

// plain8 agrees with the byte table on every byte value in every position
// of a word, next to every other byte value (borrows cross bytes), and on
// random words.
func TestPlain8(t *testing.T) {
	want := func(w [8]byte) bool {
		for _, c := range w {
			if strPlain[c] == 0 {
				return false
			}
		}
		return true
	}
	check := func(w [8]byte) {
		if got := plain8(binary.LittleEndian.Uint64(w[:])); got != want(w) {
			t.Fatalf("plain8(%q) = %v", w[:], got)
		}
	}
	for pos := 0; pos < 7; pos++ {
		for a := 0; a < 256; a++ {
			for b := 0; b < 256; b++ {
				w := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
				w[pos], w[pos+1] = byte(a), byte(b)
				check(w)
			}
		}
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], r.Uint64())
		for k := range w {
			if r.Intn(4) != 0 {
				w[k] = byte(0x20 + r.Intn(0x60))
			}
		}
		check(w)
	}
}

// TestJSONFastPathAgreesWithGeneral decodes values of every column type
// with a fast path (colOut.valueFast) twice: as they come, and with the
// fast path turned off so that each value takes the general way
// (jsonScanner.value, conv.setJSON). Values and errors must be the same,
// for the common spellings and for those next to the fast path's edges.
func TestJSONFastPathAgreesWithGeneral(t *testing.T) {
	cases := map[string][]string{
		"bigint": {`0`, `-0`, `7`, `-42`, `01`, `1.0`, `1e3`, `1E3`, `-`, `123456789012345678`, `-123456789012345678`,
			`1234567890123456789`, `9223372036854775807`, `-9223372036854775808`, `9223372036854775808`, `"12"`, `" 12"`, `null`, `true`, ` 5 `},
		"integer":  {`2147483647`, `2147483648`, `-2147483648`, `-2147483649`, `12`, `"7"`, `0.5`},
		"smallint": {`32767`, `32768`, `-32768`, `-32769`, `3`},
		"text": {`"plain"`, `""`, `"with \"quote\""`, `"tab\tesc"`, `"é"`, `"\u00e9x"`, `"abcdefghijklmnopqrstuvwxyz0123456789"`,
			`"\ud83d\ude00"`, `12`, `null`, `"bad` + "\x01" + `"`, `"unterminated`},
		"varchar": {`"v"`, `"a much longer plain ascii string"`},
		"timestamp": {`"2015-07-15 00:00:00.000"`, `"2015-07-15T01:02:03Z"`, `"2015-07-15 01:02:03.123456+02:00"`, `"2015-07-15 01:02:03.1234567"`,
			`"2015-02-30 00:00:00"`, `"July 15, 2015"`, `"2015-07-15 24:00:00"`, `1436918400000`, `"2015-07-15"`, `"2015-07-15 00:00:00\u002e5"`},
		"timestamptz": {`"2015-07-15 00:00:00"`, `"2015-07-15T01:02:03-05:30"`, `"2015-07-15 01:02:03+0200"`, `"2015-07-15 01:02:03 PST"`},
	}
	for typ, vals := range cases {
		schema := Schema{Columns: []Column{{Name: "v", Type: mustType(typ)}, {Name: "w", Type: mustType("bigint")}}}
		var msgs []Message
		for _, v := range vals {
			msgs = append(msgs, Message{Value: []byte(`{"v":` + v + `,"w":1}`)})
		}
		decode := func(fast bool) []string {
			dec, err := NewDecoder(Spec{Format: "PLAIN", Encode: "JSON"}, schema)
			if err != nil {
				t.Fatal(err)
			}
			if !fast {
				for j := range dec.(*jsonDecoder).convs {
					dec.(*jsonDecoder).convs[j].fast = fastNone
				}
			}
			out := NewBatch(schema)
			dec.DecodeBatch(msgs, out)
			cols, _ := out.Finish()
			var res []string
			r := 0
			rj := 0
			for i := range msgs {
				if rj < len(out.Rejects) && out.Rejects[rj].Offset == msgs[i].Offset && string(out.Rejects[rj].Raw) == string(msgs[i].Value) {
					res = append(res, "reject: "+out.Rejects[rj].Err.Error())
					rj++
					continue
				}
				if cols[0].IsNull(r) {
					res = append(res, "NULL")
				} else {
					res = append(res, cols[0].ValueStr(r))
				}
				r++
			}
			for _, c := range cols {
				c.Release()
			}
			return res
		}
		fast, general := decode(true), decode(false)
		for i := range vals {
			if fast[i] != general[i] {
				t.Errorf("%s %s: fast path %q, general %q", typ, vals[i], fast[i], general[i])
			}
		}
	}
}
