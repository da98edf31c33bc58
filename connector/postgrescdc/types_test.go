package postgrescdc

import (
	"sort"
	"strings"
	"testing"
	"time"

	"streamsql/connector"
	"streamsql/sql/types"
)

// typeCols are a column of every StreamSQL type, with its PostgreSQL
// type name.
var typeCols = []struct{ name, pg string }{
	{"id", "integer"}, {"c_bool", "boolean"}, {"c_int2", "smallint"}, {"c_int4", "integer"}, {"c_int8", "bigint"},
	{"c_float4", "real"}, {"c_float8", "double precision"}, {"c_numeric", "numeric(12,3)"}, {"c_numeric_any", "numeric"},
	{"c_text", "text"}, {"c_varchar", "varchar(10)"}, {"c_char", "char(4)"}, {"c_bytea", "bytea"}, {"c_date", "date"},
	{"c_time", "time"}, {"c_ts", "timestamp"}, {"c_tstz", "timestamptz"}, {"c_interval", "interval"}, {"c_jsonb", "jsonb"},
	{"c_int_arr", "integer[]"}, {"c_text_arr", "text[]"},
}

func typeColumns(t *testing.T) []connector.Column {
	var out []connector.Column
	for _, c := range typeCols {
		name, mods, arr := c.pg, []int32(nil), 0
		if strings.HasSuffix(name, "[]") {
			name, arr = strings.TrimSuffix(name, "[]"), 1
		}
		if i := strings.IndexByte(name, '('); i > 0 {
			for _, m := range strings.Split(strings.TrimSuffix(name[i+1:], ")"), ",") {
				var v int32
				for _, ch := range m {
					v = v*10 + int32(ch-'0')
				}
				mods = append(mods, v)
			}
			name = name[:i]
		}
		typ, err := types.ParseTypeName(name, mods, arr)
		if err != nil {
			t.Fatalf("%s: %v", c.pg, err)
		}
		out = append(out, connector.Column{Name: c.name, Type: typ})
	}
	return out
}

// rawRows reads the upstream rows as PostgreSQL prints them.
func (u *upstream) rawRows(cols []connector.Column) []string {
	u.t.Helper()
	rs := u.selectCols(cols)
	defer rs.Close()
	var out []string
	for rs.Next() {
		var vals []string
		for _, v := range rs.RawValues() {
			if v == nil {
				vals = append(vals, "NULL")
			} else {
				vals = append(vals, string(v))
			}
		}
		out = append(out, strings.Join(vals, ","))
	}
	sort.Strings(out)
	return out
}

// TestEveryType follows a table with a column of every type through the
// snapshot and the stream, with REPLICA IDENTITY FULL (so deletes and
// updates carry whole old rows, which the strict table checks): each
// value, printed by StreamSQL, equals what PostgreSQL prints.
func TestEveryType(t *testing.T) {
	var defs []string
	for _, c := range typeCols {
		defs = append(defs, c.name+" "+c.pg)
	}
	u := newUpstream(t, "CREATE TABLE %s ("+strings.Join(defs, ", ")+", PRIMARY KEY (id))")
	u.exec("ALTER TABLE " + u.table + " REPLICA IDENTITY FULL")
	ins := "INSERT INTO " + u.table + " VALUES "
	u.exec(ins + `(1, true, 12, 1234, 123456789012, 1.5, 0.1, 123456789.125, 1e-20, 'héllo, "w"', 'abc', 'xy', '\xdeadbeef',
		'2024-02-29', '13:14:15.123456', '2024-01-02 03:04:05.678', '2024-01-02 03:04:05.678+02', '1 year 2 mons 3 days 04:05:06.5',
		'{"b": [1, 2], "a": null}', '{1,NULL,3}', '{"a b",c,NULL}')`)
	u.exec(ins + `(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	cols := typeColumns(t)
	spec := u.spec(cols, []int{0})
	ep := newEpochs()
	tb := newTable(spec.ts, []int{0})
	r := start(t, spec, ep, tb, nil, 20*time.Millisecond)
	defer r.crash()
	want := func() []string { return u.rawRows(cols) }
	r.waitEqual(t, want, 10*time.Second)

	u.exec(ins + `(3, false, -32768, -2147483648, -9223372036854775808, 'NaN', '-Infinity', -0.001, 'NaN', '', '', '', '\x',
		'0001-01-01', '00:00:00', '1999-12-31 23:59:59.999999', '1970-01-01 00:00:00+00', '-1 days -00:00:01',
		'[]', '{}', '{""}')`)
	u.exec("UPDATE " + u.table + " SET c_text = 'changed', c_float8 = 2.5e300, c_tstz = '2030-06-01 12:00:00-07' WHERE id = 1")
	u.exec("UPDATE " + u.table + " SET id = 20, c_int4 = 7 WHERE id = 2")
	u.exec("DELETE FROM " + u.table + " WHERE id = 3")
	u.exec(ins + `(4, true, 1, 2, 3, 4, 5, 6, 7, 'x', 'y', 'z', '\x00', '2000-01-01', '23:59:59', '2000-01-01', '2000-01-01 00:00:00+14', '1 day', '{"k": "v"}', '{1}', '{"q"}')`)
	r.waitEqual(t, want, 10*time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.rejects) > 0 {
		t.Fatalf("rejects: %+v", r.rejects)
	}
}

// TestRejects: an update that does not carry an unchanged TOASTed value
// (REPLICA IDENTITY DEFAULT) is a reject, kept with the LSN and the
// reason, and the stream goes on; a TRUNCATE upstream is passed on in
// order and empties the table.
func TestRejects(t *testing.T) {
	u := newUpstream(t, "CREATE TABLE %s (id bigint PRIMARY KEY, v int, s text)")
	u.exec("ALTER TABLE " + u.table + " ALTER COLUMN s SET STORAGE EXTERNAL")
	spec := u.spec(kvCols, []int{0})
	ep := newEpochs()
	r := start(t, spec, ep, kvTable(), nil, 20*time.Millisecond)
	defer r.crash()
	r.waitPos(t, func(p *position) bool { return p.snapshotDone })
	u.exec("INSERT INTO " + u.table + " VALUES (1, 1, repeat('x', 100000)), (2, 2, 'short')")
	u.exec("UPDATE " + u.table + " SET v = 10")
	u.exec("TRUNCATE " + u.table)
	u.exec("INSERT INTO " + u.table + " VALUES (3, 3, 'after')")
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		n, has3 := len(r.rejects), r.live.rows["3"] != nil
		r.mu.Unlock()
		if n >= 1 && has3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rejects, row 3 arrived: %v", n, has3)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.rejects) != 1 || !strings.Contains(r.rejects[0].Error, "TOASTed") ||
		r.rejects[0].Offset <= 0 || r.rejects[0].Relation != "t" {
		t.Fatalf("rejects: %+v", r.rejects)
	}
	// The TRUNCATE emptied the table: only the row after it is there.
	if r.truncates != 1 || len(r.live.rows) != 1 || r.err != nil {
		t.Fatalf("%d truncates, rows %v, err %v", r.truncates, r.live.sorted(), r.err)
	}
}
