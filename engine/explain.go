package engine

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/sqlerr"
)

// explainOptions are the options of EXPLAIN (opt [value], ...) that
// change what it prints. LOGICAL prints the logical plan (sql/plan: the
// relational tree with each node's column types, after the rewrites)
// instead of the executors; with VERBOSE it adds each node's stream
// properties, which EXPLAIN (LOGICAL) CREATE MATERIALIZED VIEW always
// prints. Other PostgreSQL options are accepted and change nothing.
type explainOptions struct {
	logical bool
	verbose bool
}

func parseExplainOptions(opts []*pg.Node) (explainOptions, error) {
	var o explainOptions
	for _, n := range opts {
		d := n.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "logical":
			v, err := defBool(d)
			if err != nil {
				return o, err
			}
			o.logical = v
		case "verbose":
			v, err := defBool(d)
			if err != nil {
				return o, err
			}
			o.verbose = v
		}
	}
	return o, nil
}

// defBool reads a boolean option value as PostgreSQL's defGetBoolean
// does: no value is true; true/false, on/off and 1/0.
func defBool(d *pg.DefElem) (bool, error) {
	if d.Arg == nil {
		return true, nil
	}
	switch {
	case d.Arg.GetBoolean() != nil:
		return d.Arg.GetBoolean().Boolval, nil
	case d.Arg.GetInteger() != nil:
		switch d.Arg.GetInteger().Ival {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
	case d.Arg.GetString_() != nil:
		switch strings.ToLower(d.Arg.GetString_().Sval) {
		case "true", "on":
			return true, nil
		case "false", "off":
			return false, nil
		}
	}
	return false, sqlerr.New(sqlerr.SyntaxError, "%s requires a Boolean value", d.Defname)
}

// extExplainLogical reads the LOGICAL option of EXPLAIN of an extension
// statement (options as the parser gives them: "logical", "logical off").
func extExplainLogical(opts []string) bool {
	logical := false
	for _, o := range opts {
		f := strings.Fields(o)
		if len(f) == 0 || f[0] != "logical" {
			continue
		}
		logical = len(f) == 1
		if len(f) > 1 {
			switch strings.ToLower(strings.Trim(f[1], "'")) {
			case "true", "on", "1":
				logical = true
			}
		}
	}
	return logical
}
