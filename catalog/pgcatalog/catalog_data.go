package pgcatalog

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	"streamsql/sql/types"
)

// The shapes of the catalogs come from PostgreSQL 15 itself, as data:
// relations.tsv holds every relation served with its OID, relkind and
// columns, types.tsv the pg_type rows of the types StreamSQL knows. Both
// are written by cmd/pgcatalog-gen (internal/pgcataloggen checks that they
// still match PostgreSQL) and read once when the package loads, as
// PostgreSQL reads its own catalog .dat files at bootstrap.

//go:embed relations.tsv
var relationsTSV string

//go:embed types.tsv
var typesTSV string

// pgRelation is a relation PostgreSQL 15 has, with its OID and relkind.
type pgRelation struct {
	Schema, Name string
	OID          uint32
	Kind         byte
}

// pgRelations are the relations served, in the order of relations.tsv;
// pgColumns holds their columns by schema.name, in attnum order.
var pgRelations, pgColumns = parseRelations(relationsTSV)

// builtinTypes are the pg_type rows of the types StreamSQL knows (and the
// pseudo-types its catalogs mention), as PostgreSQL 15 declares them.
var builtinTypes = parseTypes(typesTSV)

// dataLines returns the tab-separated fields of each line of a data file
// that is not a comment.
func dataLines(text string) [][]string {
	var out [][]string
	for _, l := range strings.Split(text, "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		out = append(out, strings.Split(l, "\t"))
	}
	return out
}

func parseRelations(text string) ([]pgRelation, map[string][]Column) {
	var rels []pgRelation
	cols := map[string][]Column{}
	var key string
	for _, f := range dataLines(text) {
		if len(f) == 3 && f[0] == "" && key != "" {
			cols[key] = append(cols[key], Column{Name: f[1], Type: columnType(f[2])})
			continue
		}
		schema, name, ok := strings.Cut(f[0], ".")
		if len(f) != 3 || !ok || len(f[2]) != 1 {
			panic(fmt.Sprintf("pgcatalog: relations.tsv: bad line %q", strings.Join(f, "\t")))
		}
		key = f[0]
		rels = append(rels, pgRelation{Schema: schema, Name: name, OID: uint32(parseNum(f[1], 32)), Kind: f[2][0]})
	}
	return rels, cols
}

func parseTypes(text string) []pgType {
	var out []pgType
	for _, f := range dataLines(text) {
		if len(f) != 19 {
			panic(fmt.Sprintf("pgcatalog: types.tsv: %d fields in %q", len(f), strings.Join(f, "\t")))
		}
		t := pgType{
			oid: uint32(parseNum(f[0], 32)), name: f[1], length: int16(parseNum(f[2], 16)),
			byval: f[3] == "true", typtype: f[4][0], category: f[5][0], preferred: f[6] == "true",
			delim: f[7][0], subscript: uint32(parseNum(f[8], 32)), elem: uint32(parseNum(f[9], 32)),
			array: uint32(parseNum(f[10], 32)), align: f[16][0], storage: f[17][0],
			collation: uint32(parseNum(f[18], 32)),
		}
		for i := range t.procs {
			t.procs[i] = uint32(parseNum(f[11+i], 32))
		}
		out = append(out, t)
	}
	return out
}

// parseNum reads an integer of a data file that fits in bits bits (an
// OID, or a signed length).
func parseNum(s string, bits int) int64 {
	n, err := strconv.ParseInt(s, 10, bits+1)
	if err != nil {
		panic(fmt.Sprintf("pgcatalog: bad number %q in a catalog data file", s))
	}
	return n
}

// columnType maps a catalog column's PostgreSQL type (format_type) to its
// StreamSQL column type. Types StreamSQL has no column type for are served
// as their text form (text, or text[] for arrays), as PostgreSQL's own
// output functions print them.
func columnType(pgType string) types.T {
	switch pgType {
	case "name", "information_schema.sql_identifier":
		return tName
	case "oid", "xid", "regclass", "regnamespace":
		return tOid
	case "boolean":
		return tBool
	case "smallint":
		return tInt2
	case "integer", "information_schema.cardinal_number":
		return tInt4
	case "bigint":
		return tInt8
	case "real":
		return tFloat4
	case "bytea":
		return tBytea
	case "character varying", "information_schema.character_data":
		return tVarchar
	case "information_schema.yes_or_no":
		return tYesNo
	case "timestamp with time zone", "information_schema.time_stamp":
		return tTimestampTZ
	case `"char"`:
		return tChar
	case "regproc":
		return tRegproc
	case "regtype":
		return tRegtype
	case "int2vector":
		return tInt2Vec
	case "oidvector":
		return tOidVec
	case "oid[]":
		return tOidArr
	case "smallint[]":
		return tInt2Arr
	}
	if strings.HasSuffix(pgType, "[]") {
		return tTextArr
	}
	return tText
}
