package engine

import (
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/sqlerr"
)

// explainOptions are the options of EXPLAIN (opt [value], ...) that
// change what it prints. LOGICAL prints the logical plan (sql/plan: the
// relational tree with each node's column types, after the rewrites)
// instead of the executors; with VERBOSE it adds each node's stream
// properties. Other PostgreSQL options are accepted and change nothing.
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
// does: no value is true; true/false, on/off, 1/0 and their prefixes.
func defBool(d *pg.DefElem) (bool, error) {
	if d.Arg == nil {
		return true, nil
	}
	var s string
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
		s = strconv.Itoa(int(d.Arg.GetInteger().Ival))
	case d.Arg.GetString_() != nil:
		s = strings.ToLower(d.Arg.GetString_().Sval)
		switch s {
		case "true", "on":
			return true, nil
		case "false", "off":
			return false, nil
		}
	}
	return false, sqlerr.New(sqlerr.SyntaxError, "%s requires a Boolean value", d.Defname)
}
