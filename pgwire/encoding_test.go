package pgwire_test

// Invalid UTF-8 from a client is refused with 22021 and PostgreSQL's
// message on every path text enters by, and nothing of it is stored.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// want22021 checks err is 22021 naming bytes, and (if line is set) the
// COPY line in the detail.
func want22021(t *testing.T, what string, err error, bytes, detail string) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Errorf("%s: %v; want 22021", what, err)
		return
	}
	msg := `invalid byte sequence for encoding "UTF8": ` + bytes
	if pe.Code != "22021" || pe.Message != msg {
		t.Errorf("%s: %s %q; want 22021 %q", what, pe.Code, pe.Message, msg)
	}
	if detail != "" && !strings.Contains(pe.Detail, detail) {
		t.Errorf("%s: detail %q; want it to contain %q", what, pe.Detail, detail)
	}
}

func TestInvalidUTF8Refused(t *testing.T) {
	s := testserver.Start(t, engine.Options{})
	ctx := context.Background()

	// The startup packet: user, database, options.
	for _, tc := range []struct {
		what string
		edit func(*pgconn.Config)
		hex  string
	}{
		{"user", func(c *pgconn.Config) { c.User = "ab\xffc" }, "0xff"},
		{"database", func(c *pgconn.Config) { c.Database = "d\xc3(" }, "0xc3 0x28"},
		{"options", func(c *pgconn.Config) { c.RuntimeParams["options"] = "-c application_name=\xe2\x82" }, "0xe2 0x82"},
	} {
		cfg, err := pgconn.ParseConfig(dsn(s))
		if err != nil {
			t.Fatal(err)
		}
		tc.edit(cfg)
		c, err := pgconn.ConnectConfig(ctx, cfg)
		if err == nil {
			c.Close(ctx)
		}
		want22021(t, "startup "+tc.what, err, tc.hex, "")
	}

	c, err := pgx.Connect(ctx, dsn(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE TABLE words (id bigint PRIMARY KEY, w text, j jsonb)"); err != nil {
		t.Fatal(err)
	}
	pc := c.PgConn()

	// Query and Parse strings.
	_, err = pc.Exec(ctx, "INSERT INTO words VALUES (1, 'a\xffb')").ReadAll()
	want22021(t, "Query", err, "0xff", "")
	_, err = pc.Prepare(ctx, "", "INSERT INTO words VALUES (2, 'x\xc3(')", nil)
	want22021(t, "Parse", err, "0xc3 0x28", "")

	// Bind parameters in text format (any type) and in binary format for
	// text types.
	ins := "INSERT INTO words (id, w, j) VALUES ($1, $2, $3)"
	oids := []uint32{20, 25, 3802}
	for _, tc := range []struct {
		what    string
		params  [][]byte
		formats []int16
		hex     string
	}{
		{"text param", [][]byte{[]byte("3"), []byte("caf\xe9"), nil}, []int16{0, 0, 0}, "0xe9"},
		{"text param with NUL", [][]byte{[]byte("4"), []byte("a\x00b"), nil}, []int16{0, 0, 0}, "0x00"},
		{"text-format bigint param", [][]byte{[]byte("5\xff"), []byte("ok"), nil}, []int16{0, 0, 0}, "0xff"},
		{"binary text param (surrogate)", [][]byte{be64(6), []byte("\xed\xa0\x80"), nil}, []int16{1, 1, 1}, "0xed 0xa0 0x80"},
		{"binary jsonb param", [][]byte{be64(7), []byte("ok"), []byte("\x01\"\xf0\x28\x8c\x28\"")}, []int16{1, 1, 1}, "0xf0 0x28 0x8c 0x28"},
	} {
		_, err := pc.ExecParams(ctx, ins, tc.params, oids, tc.formats, nil).Close()
		want22021(t, "Bind "+tc.what, err, tc.hex, "")
	}

	// COPY FROM STDIN: text (raw and escaped), CSV, binary.
	for _, tc := range []struct {
		what, sql, data, hex string
	}{
		{"text", "COPY words (id, w) FROM STDIN", "10\tok\n11\tfine\n12\tbad\xfe\n", "0xfe"},
		{"text escape", "COPY words (id, w) FROM STDIN", "10\tok\n11\tfine\n12\tbad\\xff\n", "0xff"},
		{"csv", "COPY words (id, w) FROM STDIN (FORMAT csv)", "10,ok\n11,\"two\nlines\"\n12,\"\xc0\xaf\"\n", "0xc0 0xaf"},
	} {
		_, err := pc.CopyFrom(ctx, strings.NewReader(tc.data), tc.sql)
		line := "line 3"
		if tc.what == "csv" {
			line = "line 4" // the quoted line break counts
		}
		want22021(t, "COPY "+tc.what, err, tc.hex, "COPY words, "+line)
	}
	var bin bytes.Buffer
	bin.WriteString("PGCOPY\n\xff\r\n\x00")
	bin.Write(make([]byte, 8))
	for i, w := range []string{"fine", "still fine", "bad\xff"} {
		bin.Write([]byte{0, 2})
		bin.Write(binary.BigEndian.AppendUint32(nil, 8))
		bin.Write(be64(int64(20 + i)))
		bin.Write(binary.BigEndian.AppendUint32(nil, uint32(len(w))))
		bin.WriteString(w)
	}
	bin.Write([]byte{0xff, 0xff})
	_, err = pc.CopyFrom(ctx, &bin, "COPY words (id, w) FROM STDIN (FORMAT binary)")
	want22021(t, "COPY binary", err, "0xff", "COPY words, line 3")

	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM words").Scan(&n); err != nil || n != 0 {
		t.Errorf("after refused input: %d rows stored, %v; want 0", n, err)
	}
	// Valid multi-byte text still goes through every path.
	if _, err := pc.ExecParams(ctx, ins, [][]byte{[]byte("30"), []byte("naïve 日本 🙂"), []byte(`{"k": "é"}`)}, oids, nil, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.CopyFrom(ctx, strings.NewReader("31\tüber\n"), "COPY words (id, w) FROM STDIN"); err != nil {
		t.Fatal(err)
	}
	var w string
	if err := c.QueryRow(ctx, "SELECT string_agg(w, ',' ORDER BY id) FROM words").Scan(&w); err != nil || w != "naïve 日本 🙂,über" {
		t.Errorf("stored %q, %v", w, err)
	}
	answers(t, s)
}

func be64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
