package types

import (
	"strings"
	"testing"

	"streamsql/sql/sqlerr"
)

// pgCastTable is pg_cast from PostgreSQL 15 restricted to StreamSQL's
// types: "source target context".
const pgCastTable = `bool int4 e,bool text a,bool varchar a,bool bpchar a,int2 int4 i,int2 int8 i,int2 float4 i,int2 float8 i,int2 numeric i,int2 oid i,int2 regclass i,int4 bool e,int4 int2 a,int4 int8 i,int4 float4 i,int4 float8 i,int4 numeric i,int4 oid i,int4 regclass i,int8 int2 a,int8 int4 a,int8 float4 i,int8 float8 i,int8 numeric i,int8 oid i,int8 regclass i,float4 int2 a,float4 int4 a,float4 int8 a,float4 float8 i,float4 numeric a,float8 int2 a,float8 int4 a,float8 int8 a,float8 float4 a,float8 numeric a,numeric int2 a,numeric int4 a,numeric int8 a,numeric float4 i,numeric float8 i,text varchar i,text bpchar i,text name i,text regclass i,varchar text i,varchar bpchar i,varchar name i,varchar regclass i,bpchar text i,bpchar varchar i,bpchar name i,name text i,name varchar a,name bpchar a,date timestamp i,date timestamptz i,time interval i,timestamp date a,timestamp time a,timestamp timestamptz i,timestamptz date a,timestamptz time a,timestamptz timestamp a,interval time a,jsonb bool e,jsonb int2 e,jsonb int4 e,jsonb int8 e,jsonb float4 e,jsonb float8 e,jsonb numeric e,oid int4 a,oid int8 a,oid regclass i,regclass int4 a,regclass int8 a,regclass oid i`

func TestCastKindMatchesPgCast(t *testing.T) {
	names := []string{"bool", "int2", "int4", "int8", "float4", "float8", "numeric", "text", "varchar", "bpchar",
		"name", "bytea", "date", "time", "timestamp", "timestamptz", "interval", "jsonb", "oid", "regclass"}
	table := map[[2]string]CastContext{}
	for _, e := range strings.Split(pgCastTable, ",") {
		f := strings.Fields(e)
		table[[2]string{f[0], f[1]}] = map[string]CastContext{"e": CastExplicit, "a": CastAssignment, "i": CastImplicit}[f[2]]
	}
	for _, a := range names {
		for _, b := range names {
			ta, tb := mustType(t, a), mustType(t, b)
			want, ok := table[[2]string{a, b}]
			switch {
			case a == b:
				want = CastImplicit
			case ok:
			case tb.IsString():
				want = CastAssignment // automatic I/O conversion to a string type
			case ta.IsString():
				want = CastExplicit // automatic I/O conversion from a string type
			default:
				want = CastNone
			}
			if got := CastKind(ta, tb); got != want {
				t.Errorf("CastKind(%s, %s) = %d, want %d", a, b, got, want)
			}
			if CastKind(TUnknown, tb) != CastImplicit {
				t.Errorf("unknown -> %s is not implicit", b)
			}
		}
	}
}

func TestCastMisc(t *testing.T) {
	// Unsupported pairs.
	for _, p := range [][2]T{{TDate, TInt4}, {TBytea, TInt4}, {TInterval, TInt8}, {TInt8, TBool}, {TBool, TInt8}} {
		d, _ := ParseText(map[Kind]string{DateKind: "2024-01-01", Bytea: `\x01`, Interval: "1 day", Int8: "1", Bool: "t"}[p[0].Kind], p[0], nil)
		_, err := Cast(d, p[0], p[1], nil)
		if sqlerr.Code(err) != sqlerr.CannotCoerce || err.Error() != "cannot cast type "+p[0].String()+" to "+p[1].String() {
			t.Errorf("%s -> %s: %v", p[0], p[1], err)
		}
	}
	// Unknown literals are parsed; NULL stays NULL.
	if d, err := Cast("42", TUnknown, TInt8, nil); err != nil || d != int64(42) {
		t.Errorf("unknown -> int8: %v %v", d, err)
	}
	if d, err := Cast(nil, TInt4, TText, nil); err != nil || d != nil {
		t.Errorf("NULL cast: %v %v", d, err)
	}
	// Storing (ParseText) is strict about length where a cast truncates.
	vc := T{Kind: Varchar, Width: 2}
	if _, err := ParseText("abc", vc, nil); sqlerr.Code(err) != sqlerr.StringDataRightTruncation {
		t.Errorf("varchar(2) store: %v", err)
	}
	if d, err := Cast("abc", TText, vc, nil); err != nil || d != "ab" {
		t.Errorf("varchar(2) cast: %v %v", d, err)
	}
	if d, err := ParseText("a", T{Kind: Char, Width: 3}, nil); err != nil || d != "a  " {
		t.Errorf("char(3) store: %q %v", d, err)
	}
}
