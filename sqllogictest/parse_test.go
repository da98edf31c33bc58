package sqllogictest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parseString(t *testing.T, src string, f Format) []Record {
	t.Helper()
	recs, err := Parse("t", strings.NewReader(src), f)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestParseClassic(t *testing.T) {
	src := `hash-threshold 8

# a comment
statement ok
CREATE TABLE t1(a INTEGER, b INTEGER)

skipif mysql
onlyif postgresql
query II rowsort label-1
SELECT a,
       b FROM t1
----
1
2
3
4

query I nosort
SELECT a FROM t1
----
30 values hashing to 3C13DEE48D9356AE19AF2515E05E6B54

statement error
SELECT nope

halt
`
	recs := parseString(t, src, FormatClassic)
	if len(recs) != 6 {
		t.Fatalf("got %d records, want 6: %+v", len(recs), recs)
	}
	if recs[0].Kind != KindHashThreshold || recs[0].Threshold != 8 {
		t.Errorf("hash-threshold: %+v", recs[0])
	}
	if r := recs[1]; r.Kind != KindStatement || r.SQL != "CREATE TABLE t1(a INTEGER, b INTEGER)" || r.ExpectError || r.Line != 4 {
		t.Errorf("statement: %+v", r)
	}
	q := recs[2]
	if q.Kind != KindQuery || q.Types != "II" || q.Sort != RowSort || q.Label != "label-1" || q.Line != 7 {
		t.Errorf("query header: %+v", q)
	}
	if want := "SELECT a,\n       b FROM t1"; q.SQL != want {
		t.Errorf("query sql %q, want %q", q.SQL, want)
	}
	if len(q.Conditions) != 2 || q.Conditions[0] != (Condition{Engine: "mysql"}) || q.Conditions[1] != (Condition{Only: true, Engine: "postgresql"}) {
		t.Errorf("conditions: %+v", q.Conditions)
	}
	if strings.Join(q.Expected, ",") != "1,2,3,4" || q.HasHash {
		t.Errorf("expected: %q", q.Expected)
	}
	h := recs[3]
	if !h.HasHash || h.HashN != 30 || h.Hash != "3c13dee48d9356ae19af2515e05e6b54" {
		t.Errorf("hash: %+v", h)
	}
	if r := recs[4]; r.Kind != KindStatement || !r.ExpectError || r.ErrorRegex != "" {
		t.Errorf("statement error: %+v", r)
	}
	if recs[5].Kind != KindHalt {
		t.Errorf("halt: %+v", recs[5])
	}
}

func TestParseHalt(t *testing.T) {
	recs := parseString(t, "statement ok\nSELECT 1\n\nonlyif streamsql\nhalt\n", FormatClassic)
	if len(recs) != 2 || recs[1].Kind != KindHalt || len(recs[1].Conditions) != 1 {
		t.Fatalf("%+v", recs)
	}
}

func TestParseRS(t *testing.T) {
	src := `control substitution on

statement ok
SET RW_IMPLICIT_FLUSH TO true;

statement error duplicate key value violates unique constraint|23505
INSERT INTO t VALUES (1)

statement error
SELECT 1/0
----
db error: ERROR: division by zero

query error column .* does not exist
SELECT nope FROM t

query IT rowsort retry 3 backoff 500ms
SELECT a, b FROM t
----
1  2020-01-01 00:00:00
2	x

statement count 3
DELETE FROM t

connection other
query I
SELECT 1
----
1

system ok
./risedev ctl something
----
output

let tid, tname
SELECT id, name FROM rw_catalog.rw_internal_table_info

sleep 10ms

include sub/*.slt.part
`
	recs := parseString(t, src, FormatRS)
	kinds := []Kind{KindControl, KindStatement, KindStatement, KindStatement, KindQuery, KindQuery,
		KindStatement, KindQuery, KindSkipped, KindSkipped, KindSleep, KindInclude}
	if len(recs) != len(kinds) {
		t.Fatalf("got %d records, want %d: %+v", len(recs), len(kinds), recs)
	}
	for i, k := range kinds {
		if recs[i].Kind != k {
			t.Errorf("record %d: kind %d, want %d", i, recs[i].Kind, k)
		}
	}
	if recs[0].Control != "substitution on" {
		t.Errorf("control %q", recs[0].Control)
	}
	if r := recs[2]; !r.ExpectError || r.ErrorRegex != "duplicate key value violates unique constraint|23505" {
		t.Errorf("statement error regex: %+v", r)
	}
	if r := recs[3]; !r.ExpectError || r.ErrorRegex != "" || r.ErrorText != "db error: ERROR: division by zero" || r.SQL != "SELECT 1/0" {
		t.Errorf("multi-line error: %+v", r)
	}
	if r := recs[4]; r.Kind != KindQuery || !r.ExpectError || r.ErrorRegex != "column .* does not exist" {
		t.Errorf("query error: %+v", r)
	}
	q := recs[5]
	if q.Types != "IT" || q.Sort != RowSort || q.Retry != 3 || q.Backoff != 500*time.Millisecond || len(q.Expected) != 2 {
		t.Errorf("query with retry: %+v", q)
	}
	if r := recs[6]; r.ExpectCount != 3 {
		t.Errorf("statement count: %+v", r)
	}
	if r := recs[7]; r.Connection != "other" {
		t.Errorf("connection: %+v", r)
	}
	if r := recs[9]; strings.Join(r.LetVars, ",") != "tid,tname" {
		t.Errorf("let vars: %q", r.LetVars)
	}
	if r := recs[10]; r.Sleep != 10*time.Millisecond {
		t.Errorf("sleep: %+v", r)
	}
	if r := recs[11]; r.Glob != "sub/*.slt.part" {
		t.Errorf("include: %+v", r)
	}
}

func TestParseErrors(t *testing.T) {
	for _, src := range []string{
		"bogus record\n",
		"statement maybe\nSELECT 1\n",
		"hash-threshold x\n",
		"query I retry x backoff 1s\nSELECT 1\n",
		"skipif\nstatement ok\nSELECT 1\n",
	} {
		if _, err := Parse("t", strings.NewReader(src), FormatRS); err == nil {
			t.Errorf("%q: parsed without error", src)
		}
	}
}

func TestParseFileInclude(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.slt", "statement ok\nSELECT 0\n\ninclude parts/*.slt.part\n\nstatement ok\nSELECT 3\n")
	write("parts/b.slt.part", "statement ok\nSELECT 2\n")
	write("parts/a.slt.part", "statement ok\nSELECT 1\n")
	recs, err := ParseFile(filepath.Join(dir, "main.slt"))
	if err != nil {
		t.Fatal(err)
	}
	var sqls []string
	for _, r := range recs {
		sqls = append(sqls, r.SQL)
	}
	if got := strings.Join(sqls, ";"); got != "SELECT 0;SELECT 1;SELECT 2;SELECT 3" {
		t.Errorf("include order: %s", got)
	}
	if !strings.HasSuffix(recs[1].File, "a.slt.part") || recs[1].Line != 1 {
		t.Errorf("included record position: %s:%d", recs[1].File, recs[1].Line)
	}
	write("bad.slt", "include nothing/*.slt\n")
	if _, err := ParseFile(filepath.Join(dir, "bad.slt")); err == nil {
		t.Error("include of no file parsed without error")
	}
}

func TestDetectFormat(t *testing.T) {
	for path, want := range map[string]Format{
		"select1.test":        FormatClassic,
		"a/b.slt":             FormatRS,
		"join/join.slt.part":  FormatRS,
		"testdata/x.test.slt": FormatRS,
	} {
		if got := DetectFormat(path); got != want {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
}

// The peer suites in shared/ parse completely.
func TestParseSharedSuites(t *testing.T) {
	root := repoRoot(t)
	shared := sharedDir(root)
	if shared == "" {
		t.Skip("shared/sqllogic not found (set SHARED_DIR)")
	}
	var files []string
	for _, pat := range []string{"sqlite/*.test", "risingwave/streaming/*.slt", "risingwave/streaming/*/*.slt", "risingwave/streaming/*/*/*.slt"} {
		m, _ := filepath.Glob(filepath.Join(shared, "sqllogic", pat))
		files = append(files, m...)
	}
	if len(files) < 3 {
		t.Fatalf("found only %d peer files", len(files))
	}
	for _, f := range files {
		recs, err := ParseFile(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if len(recs) == 0 {
			t.Errorf("%s: no records", f)
		}
	}
}

// parseText writes src to a file name in a temporary directory and
// parses it, failing t on an error.
func parseText(t *testing.T, name, src string) (string, []Record) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := ParseFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, recs
}

func TestFormatMarker(t *testing.T) {
	_, recs := parseText(t, "x.slt", "# format: classic\nquery II nosort\nSELECT 1, 2\n----\n1\n2\n")
	if len(recs) != 1 || recs[0].Format != FormatClassic {
		t.Fatalf("marker ignored: %+v", recs)
	}
	if m, _ := checkResult(&recs[0], vals("1|2"), 2); m != "" {
		t.Errorf("classic row-major values: %s", m)
	}
}
