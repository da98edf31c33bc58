package format

import (
	"fmt"
	"strings"
	"testing"

	"streamsql/sql/sqlerr"
)

// readAll reads data in pieces of size n (the whole at once for n <= 0),
// as COPY gets it in CopyData messages, and prints the records.
func readAll(o CopyOptions, data string, n int) (string, error) {
	r := NewCopyReader(o)
	var out strings.Builder
	var buf []byte
	feed := func(piece []byte, final bool) error {
		buf = append(buf, piece...)
		off := 0
		for !r.Ended() && off < len(buf) {
			next, rec, ok, err := r.Next(buf, off, final)
			if err != nil {
				return err
			}
			if next < 0 {
				break
			}
			off = next
			if ok {
				fmt.Fprintf(&out, "%d:", rec.Line)
				for _, f := range rec.Fields {
					if f == nil {
						out.WriteString(" NULL")
					} else {
						fmt.Fprintf(&out, " %q", f)
					}
				}
				out.WriteByte('\n')
			}
		}
		if r.Ended() {
			buf = buf[:0]
		} else {
			buf = append(buf[:0], buf[off:]...)
		}
		return nil
	}
	if n <= 0 {
		n = len(data) + 1
	}
	for i := 0; i < len(data); i += n {
		if err := feed([]byte(data[i:min(i+n, len(data))]), false); err != nil {
			return out.String(), err
		}
	}
	if err := feed(nil, true); err != nil {
		return out.String(), err
	}
	if !r.Ended() {
		return out.String(), r.Finish()
	}
	return out.String(), nil
}

func textOpts(cols int) CopyOptions {
	return CopyOptions{Format: CopyText, Delimiter: '\t', Null: `\N`, Quote: '"', Escape: '"', Relation: "t", Columns: cols}
}

func csvOpts(cols int) CopyOptions {
	return CopyOptions{Format: CopyCSV, Delimiter: ',', Null: "", Quote: '"', Escape: '"', Relation: "t", Columns: cols}
}

// TestCopyReader reads text and CSV as PostgreSQL does, whatever the
// boundaries of the pieces the data arrives in.
func TestCopyReader(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    CopyOptions
		data string
		want string
	}{
		{"text", textOpts(3), "1\ta b\t\\N\n2\t\\t\\x41\\101\\\\\tx\r\n\\.\nignored\n",
			"1: \"1\" \"a b\" NULL\n2: \"2\" \"\\tAA\\\\\" \"x\"\n"},
		{"text header, no final newline", CopyOptions{Format: CopyText, Header: true, Delimiter: '|', Null: "-", Relation: "t", Columns: 2}, "a|b\n1|-\n2|3",
			"2: \"1\" NULL\n3: \"2\" \"3\"\n"},
		{"csv", csvOpts(3), "1,\"a,b\",\n2,\"two\nlines \"\"q\"\"\",\"\"\n3,x,y\r\n",
			"1: \"1\" \"a,b\" NULL\n2: \"2\" \"two\\nlines \\\"q\\\"\" \"\"\n4: \"3\" \"x\" \"y\"\n"},
		{"csv escape and header", CopyOptions{Format: CopyCSV, Header: true, Delimiter: ';', Null: "NULL", Quote: '\'', Escape: '\\', Relation: "t", Columns: 2},
			"a;b\n'it\\'s';NULL\n'NULL';x\n", "2: \"it's\" NULL\n3: \"NULL\" \"x\"\n"},
		{"csv force null and force not null", CopyOptions{Format: CopyCSV, Delimiter: ',', Null: "", Quote: '"', Escape: '"', Relation: "t", Columns: 3,
			ForceNull: []bool{false, true, false}, ForceNotNull: []bool{false, false, true}},
			"1,\"\",\n2,,\"\"\n", "1: \"1\" NULL \"\"\n2: \"2\" NULL \"\"\n"},
	} {
		for _, n := range []int{0, 1, 2, 3, 7} {
			got, err := readAll(tc.o, tc.data, n)
			if err != nil || got != tc.want {
				t.Errorf("%s in pieces of %d: err %v\ngot:\n%s\nwant:\n%s", tc.name, n, err, got, tc.want)
			}
		}
	}
}

// TestCopyReaderErrors: PostgreSQL's SQLSTATEs and messages, with the
// line in the detail.
func TestCopyReaderErrors(t *testing.T) {
	bin := CopyOptions{Format: CopyBinary, Relation: "t", Columns: 1}
	for _, tc := range []struct {
		name           string
		o              CopyOptions
		data           string
		code, msg, det string
	}{
		{"missing column", textOpts(3), "1\t2\t3\n4\t5\n", sqlerr.BadCopyFileFormat, "missing data for column", "COPY t, line 2"},
		{"extra column", csvOpts(2), "1,2\n\"a\nb\",2,3\n", sqlerr.BadCopyFileFormat, "extra data after last expected column", "COPY t, line 2"},
		{"unterminated quote", csvOpts(2), "1,2\n3,\"open\n", sqlerr.BadCopyFileFormat, "unterminated CSV quoted field", "COPY t, line 2"},
		{"invalid UTF-8", textOpts(1), "ok\nbad\xfe\n", sqlerr.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\"", "COPY t, line 2"},
		{"invalid UTF-8 escaped", textOpts(1), "bad\\xff\n", sqlerr.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\"", "COPY t, line 1"},
		{"binary signature", bin, "PGCOPY\nxx", sqlerr.BadCopyFileFormat, "COPY file signature not recognized", "COPY t"},
		{"binary field count", bin, "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02", sqlerr.BadCopyFileFormat, "row field count is 2, expected 1", "COPY t, line 1"},
		{"binary EOF", bin, "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x05ab", sqlerr.BadCopyFileFormat, "unexpected EOF in COPY data", "COPY t"},
	} {
		for _, n := range []int{0, 1} {
			_, err := readAll(tc.o, tc.data, n)
			e, ok := err.(*sqlerr.Error)
			if !ok || e.Code != tc.code || !strings.HasPrefix(e.Message, tc.msg) || e.Detail != tc.det {
				t.Errorf("%s in pieces of %d: got %#v, want %s %q (%s)", tc.name, n, err, tc.code, tc.msg, tc.det)
			}
		}
	}
}

// TestCopyReaderBinary reads a tuple with a NULL and the trailer.
func TestCopyReaderBinary(t *testing.T) {
	data := "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
		"\x00\x02\x00\x00\x00\x02hi\xff\xff\xff\xff" + "\xff\xff" + "after the trailer"
	for _, n := range []int{0, 1, 5} {
		got, err := readAll(CopyOptions{Format: CopyBinary, Relation: "t", Columns: 2}, data, n)
		if err != nil || got != "1: \"hi\" NULL\n" {
			t.Errorf("pieces of %d: %q, %v", n, got, err)
		}
	}
}
