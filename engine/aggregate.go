package engine

import (
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// CREATE AGGREGATE in PostgreSQL's form, name(args) (SFUNC = f, STYPE = t
// [, FINALFUNC = g] [, INITCOND = '...'] [, MSFUNC, MINVFUNC, MSTYPE
// [, MFINALFUNC] [, MINITCOND]] [, COMBINEFUNC]), and in RisingWave's,
// name(args) RETURNS t LANGUAGE javascript AS $$ export function
// create_state() ... $$ (createFunction with aggregate set). Both are
// catalog Functions with Agg set (catalog/aggregate.go); the planner
// binds their calls (sql/planner/useragg.go).

// compileScalar compiles a bound expression over columns into a function
// of those columns: the LANGUAGE sql support functions of aggregates.
func compileScalar(e plan.Scalar) (udf.ScalarFunc, error) {
	x, err := (&expr.Compiler{}).Compile(e)
	if err != nil {
		return nil, err
	}
	return func(env *udf.Env, args []arrow.Array, n int) (arrow.Array, error) {
		ctx := &exec.Ctx{}
		if env != nil {
			ctx.Env = *env
		}
		return x.Eval(ctx, exec.NewBatch(args, n))
	}, nil
}

// createAggregate runs CREATE [OR REPLACE] AGGREGATE in PostgreSQL's form.
func (s *Session) createAggregate(p *planner.Planner, ds *pg.DefineStmt) (string, error) {
	if ds.Oldstyle {
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "old-style CREATE AGGREGATE (BASETYPE = ...) is not supported").
			WithHint("Write CREATE AGGREGATE name(argument types) (SFUNC = ..., STYPE = ...).")
	}
	schema, name, err := s.funcName(ds.Defnames)
	if err != nil {
		return "", err
	}
	if err := s.checkCreateIn(schema); err != nil {
		return "", err
	}
	f := &catalog.Function{Schema: schema, Name: name, Language: "internal", Volatility: catalog.Immutable,
		Owner: s.currentUser(), Created: time.Now(), Agg: &catalog.AggregateDef{}}
	if len(ds.Args) > 1 && ds.Args[1].GetInteger() != nil && ds.Args[1].GetInteger().Ival >= 0 {
		// name(direct args ORDER BY aggregated args): pg_query gives the
		// number of direct arguments, -1 for a plain aggregate.
		f.Agg.OrderedSet, f.Agg.NumDirect = true, int(ds.Args[1].GetInteger().Ival)
	}
	if len(ds.Args) > 0 {
		items := ds.Args[0].GetList().GetItems()
		for i, a := range items {
			fp := a.GetFunctionParameter()
			switch fp.Mode {
			case pg.FunctionParameterMode_FUNC_PARAM_IN, pg.FunctionParameterMode_FUNC_PARAM_DEFAULT:
			case pg.FunctionParameterMode_FUNC_PARAM_VARIADIC:
				if f.Agg.OrderedSet {
					return "", sqlerr.New(sqlerr.FeatureNotSupported, "VARIADIC arguments of ordered-set aggregates are not supported")
				}
				if i != len(items)-1 {
					return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "VARIADIC parameter must be the last input parameter")
				}
				f.Agg.Variadic = true
			default:
				return "", sqlerr.New(sqlerr.FeatureNotSupported, "aggregates with OUT or INOUT arguments are not supported")
			}
			t, err := p.TypeName(fp.ArgType)
			if err != nil {
				return "", err
			}
			if fp.Mode == pg.FunctionParameterMode_FUNC_PARAM_VARIADIC && (t.Kind != types.Array || t.Elem == nil) {
				return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "VARIADIC parameter must be an array")
			}
			f.ArgNames = append(f.ArgNames, fp.Name)
			f.ArgTypes = append(f.ArgTypes, baseType(t))
		}
	}
	if f.Agg.OrderedSet && f.Agg.NumDirect >= len(f.ArgTypes) {
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "an ordered-set aggregate must have at least one aggregated argument after ORDER BY")
	}
	a := f.Agg
	names := map[string][]*pg.Node{}
	for _, o := range ds.Definition {
		d := o.GetDefElem()
		key := strings.ToLower(d.Defname)
		switch key {
		case "sfunc", "finalfunc", "msfunc", "minvfunc", "mfinalfunc", "combinefunc":
			tn := d.Arg.GetTypeName()
			if tn == nil {
				return "", sqlerr.New(sqlerr.SyntaxError, "aggregate %s must name a function", key)
			}
			names[key] = tn.Names
		case "stype", "mstype":
			tn := d.Arg.GetTypeName()
			if tn == nil {
				return "", sqlerr.New(sqlerr.SyntaxError, "aggregate %s must name a type", key)
			}
			t, err := p.TypeName(tn)
			if err != nil {
				return "", err
			}
			if key == "stype" {
				a.SType = baseType(t)
			} else {
				a.MSType = baseType(t)
			}
		case "initcond", "minitcond":
			v := defString(d.Arg)
			if key == "initcond" {
				a.InitCond = &v
			} else {
				a.MInitCond = &v
			}
		case "hypothetical":
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "hypothetical-set aggregates are not supported")
		case "finalfunc_extra", "mfinalfunc_extra":
			// The final function also takes a NULL of each aggregated
			// argument's type, after the state (and direct arguments).
			v, err := defBool(d)
			if err != nil {
				return "", err
			}
			if key == "finalfunc_extra" {
				a.FinalExtra = v
			} else {
				a.MFinalExtra = v
			}
		case "parallel", "finalfunc_modify", "mfinalfunc_modify", "sspace", "msspace":
			// Accepted: they change nothing here.
		default:
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "aggregate attribute %q is not supported", d.Defname)
		}
	}
	if names["sfunc"] == nil {
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "aggregate sfunc must be specified")
	}
	if a.SType.Kind == types.Unknown {
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "aggregate stype must be specified")
	}
	if a.OrderedSet {
		for _, k := range []string{"msfunc", "minvfunc", "mfinalfunc", "combinefunc"} {
			if names[k] != nil {
				return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "ordered-set aggregates cannot have %s", strings.ToUpper(k))
			}
		}
		if a.MSType.Kind != types.Unknown || a.MInitCond != nil {
			return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "ordered-set aggregates cannot have a moving-aggregate implementation")
		}
	}
	stepArgs := append([]types.T{a.SType}, a.Aggregated(f.ArgTypes)...)
	if a.SFunc, err = s.aggSupport(names["sfunc"], stepArgs, a.SType, "transition"); err != nil {
		return "", err
	}
	f.RetType = a.SType
	if names["finalfunc"] != nil {
		// An ordered-set aggregate's final function also takes the
		// direct arguments, and FINALFUNC_EXTRA adds the aggregated ones.
		finalArgs := a.FinalArgs(a.SType, f.ArgTypes, a.FinalExtra)
		var ret types.T
		if a.FinalFunc, ret, err = s.aggFinal(names["finalfunc"], finalArgs, a.FinalExtra); err != nil {
			return "", err
		}
		f.RetType = ret
	} else if a.OrderedSet && a.NumDirect > 0 {
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "an ordered-set aggregate with direct arguments must have a FINALFUNC that takes them")
	}
	if names["combinefunc"] != nil {
		if a.CombineFunc, err = s.aggSupport(names["combinefunc"], []types.T{a.SType, a.SType}, a.SType, "combine"); err != nil {
			return "", err
		}
	}
	if (names["msfunc"] != nil) != (names["minvfunc"] != nil) || (names["msfunc"] != nil) != (a.MSType.Kind != types.Unknown) {
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "aggregate msfunc, minvfunc and mstype must be specified together")
	}
	if names["msfunc"] != nil {
		mstep := append([]types.T{a.MSType}, f.ArgTypes...)
		if a.MSFunc, err = s.aggSupport(names["msfunc"], mstep, a.MSType, "forward transition"); err != nil {
			return "", err
		}
		if a.MInvFunc, err = s.aggSupport(names["minvfunc"], mstep, a.MSType, "inverse transition"); err != nil {
			return "", err
		}
		mret := a.MSType
		if names["mfinalfunc"] != nil {
			if a.MFinalFunc, mret, err = s.aggFinal(names["mfinalfunc"], a.FinalArgs(a.MSType, f.ArgTypes, a.MFinalExtra), a.MFinalExtra); err != nil {
				return "", err
			}
		}
		if mret.OID() != f.RetType.OID() {
			return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "moving-aggregate implementation returns type %s, but plain implementation returns type %s", mret, f.RetType)
		}
	} else if names["mfinalfunc"] != nil || a.MInitCond != nil {
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "aggregate msfunc must be specified when mstype is specified")
	}
	// Bind it once now: an INITCOND that does not parse, or a support
	// function that does not compile, is refused here.
	check := *f
	if _, err := p.UserAggregate(&check, 0); err != nil {
		return "", err
	}
	if err := s.putRoutine(f, ds.Replace); err != nil {
		return "", err
	}
	return "CREATE AGGREGATE", nil
}

// defString reads a definition value written as a string, a number or a
// name.
func defString(n *pg.Node) string {
	switch {
	case n.GetString_() != nil:
		return n.GetString_().Sval
	case n.GetInteger() != nil:
		return strconv.Itoa(int(n.GetInteger().Ival))
	case n.GetFloat() != nil:
		return n.GetFloat().Fval
	case n.GetTypeName() != nil:
		var parts []string
		for _, x := range n.GetTypeName().Names {
			parts = append(parts, x.GetString_().Sval)
		}
		return strings.Join(parts, ".")
	}
	return ""
}

// findSupport finds the function names(args): a user function with
// exactly these argument types along the path, or a built-in.
func (s *Session) findSupport(names []*pg.Node, args []types.T) (catalog.AggSupport, types.T, bool) {
	var parts []string
	for _, n := range names {
		parts = append(parts, n.GetString_().Sval)
	}
	name := parts[len(parts)-1]
	schemas := s.searchPath()
	if len(parts) > 1 {
		schemas = []string{parts[len(parts)-2]}
	}
	for _, sc := range schemas {
		if f, ok := s.e.cat.LookupFunction(sc, name, args); ok && !f.IsAggregate() && !f.RetSet {
			return catalog.AggSupport{OID: f.OID}, f.RetType, true
		}
	}
	if len(parts) == 1 || parts[0] == "pg_catalog" {
		if fn, cast, err := udf.LookupScalar(name, args); err == nil && catalog.SameArgs(cast, args) {
			return catalog.AggSupport{Name: name}, fn.ResultType(args), true
		}
	}
	return catalog.AggSupport{}, types.T{}, false
}

// aggSupport resolves a transition (or combine) function, which must
// return the state type.
func (s *Session) aggSupport(names []*pg.Node, args []types.T, stype types.T, what string) (catalog.AggSupport, error) {
	sup, ret, ok := s.findSupport(names, args)
	display := funcDisplay(names)
	if !ok {
		return sup, sqlerr.New(sqlerr.UndefinedFunction, "function %s(%s) does not exist", display, catalog.TypeList(args))
	}
	if ret.OID() != stype.OID() {
		return sup, sqlerr.New(sqlerr.InvalidFunctionDefinition, "return type of %s function %s is not %s", what, display, stype)
	}
	return sup, nil
}

// aggFinal resolves a final function of the state type and returns its
// result type. One that takes extra arguments (FINALFUNC_EXTRA) gets
// them as NULLs, so it must not be strict, as in PostgreSQL.
func (s *Session) aggFinal(names []*pg.Node, args []types.T, extra bool) (catalog.AggSupport, types.T, error) {
	sup, ret, ok := s.findSupport(names, args)
	if !ok {
		return sup, ret, sqlerr.New(sqlerr.UndefinedFunction, "function %s(%s) does not exist", funcDisplay(names), catalog.TypeList(args))
	}
	if extra && s.supportStrict(sup, args) {
		return sup, ret, sqlerr.New(sqlerr.InvalidFunctionDefinition, "final function with extra arguments must not be declared STRICT")
	}
	return sup, ret, nil
}

// supportStrict reports whether the support function sup of argument
// types args is strict.
func (s *Session) supportStrict(sup catalog.AggSupport, args []types.T) bool {
	if sup.OID != 0 {
		f, ok := s.e.cat.Function(sup.OID)
		return ok && f.Strict
	}
	fn, _, err := udf.LookupScalar(sup.Name, args)
	return err == nil && fn.Strict
}

func funcDisplay(names []*pg.Node) string {
	var parts []string
	for _, n := range names {
		parts = append(parts, n.GetString_().Sval)
	}
	return strings.Join(parts, ".")
}

// supportName renders a support function for CREATE AGGREGATE's text.
func (e *Engine) supportName(sup catalog.AggSupport) string {
	if sup.OID == 0 {
		return sup.Name
	}
	if f, ok := e.cat.Function(sup.OID); ok {
		return udf.QuoteIdent(f.Schema) + "." + udf.QuoteIdent(f.Name)
	}
	return "-"
}

// AggregateDef renders the aggregate f as a CREATE AGGREGATE statement.
func (e *Engine) AggregateDef(f *catalog.Function) string {
	var b strings.Builder
	b.WriteString("CREATE OR REPLACE AGGREGATE " + udf.QuoteIdent(f.Schema) + "." + udf.QuoteIdent(f.Name) + "(" + FunctionArguments(f) + ")")
	if f.Language != "internal" {
		b.WriteString("\n RETURNS " + f.RetType.String() + "\n LANGUAGE " + f.Language + "\n")
		b.WriteString("AS $function$" + f.Body + "$function$\n")
		return b.String()
	}
	a := f.Agg
	items := []string{"SFUNC = " + e.supportName(a.SFunc), "STYPE = " + a.SType.String()}
	if a.FinalFunc.IsSet() {
		items = append(items, "FINALFUNC = "+e.supportName(a.FinalFunc))
	}
	if a.FinalExtra {
		items = append(items, "FINALFUNC_EXTRA")
	}
	if a.CombineFunc.IsSet() {
		items = append(items, "COMBINEFUNC = "+e.supportName(a.CombineFunc))
	}
	if a.InitCond != nil {
		items = append(items, "INITCOND = "+udf.QuoteLiteral(*a.InitCond))
	}
	if a.Moving() {
		items = append(items, "MSFUNC = "+e.supportName(a.MSFunc), "MINVFUNC = "+e.supportName(a.MInvFunc), "MSTYPE = "+a.MSType.String())
		if a.MFinalFunc.IsSet() {
			items = append(items, "MFINALFUNC = "+e.supportName(a.MFinalFunc))
		}
		if a.MFinalExtra {
			items = append(items, "MFINALFUNC_EXTRA")
		}
		if a.MInitCond != nil {
			items = append(items, "MINITCOND = "+udf.QuoteLiteral(*a.MInitCond))
		}
	}
	b.WriteString(" (\n    " + strings.Join(items, ",\n    ") + "\n)\n")
	return b.String()
}
