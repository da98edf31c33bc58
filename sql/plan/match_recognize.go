package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"streamsql/sql/types"
	"streamsql/udf"
)

// MatchRecognize is row pattern recognition (SQL:2016 MATCH_RECOGNIZE,
// ONE ROW PER MATCH) over Input: the rows of each partition (equal in the
// Partition columns, NULLs equal), in the order of the Order columns, are
// matched against Pattern, a regular expression over pattern variables.
// A row may be classified as a variable when the variable's DEFINE
// condition holds for it (a variable without one matches any row).
// Every match gives one row: the partition columns, then the Measures.
//
// A DEFINE condition and the measures are scalars over "navigations"
// (MRNav): ColRef i of a condition is its Navs[i] evaluated for the
// candidate row in the context of the partial match it would extend;
// ColRef i of a measure is MeasureNavs[i] evaluated over the whole match.
//
// Within, when positive, bounds a match's duration in microseconds of
// the first Order column (a timestamp): every row of a match is less than
// Within after its first row.
type MatchRecognize struct {
	Input     Rel
	Partition []int
	Order     []int
	Pattern   *MRPattern
	// Vars are the pattern variables' names; MRPattern and MRNav refer to
	// them by index.
	Vars    []string
	Defines []MRDefine // by variable index; Cond nil: always true
	// MeasureNavs are the navigations the measures read; Measures are
	// scalars over them, named MeasureNames.
	MeasureNavs  []MRNav
	Measures     []Scalar
	MeasureNames []string
	Skip         MRSkip
	SkipVar      int // SkipToFirst, SkipToLast
	Within       Scalar
}

// MRSkip is where matching resumes after a match.
type MRSkip int

const (
	MRSkipPastLastRow MRSkip = iota
	MRSkipToNextRow
	MRSkipToFirst
	MRSkipToLast
)

// MRDefine is one variable's condition: Cond over Navs.
type MRDefine struct {
	Cond Scalar
	Navs []MRNav
}

// MRPatternKind is the kind of an MRPattern node.
type MRPatternKind int

const (
	MRVar MRPatternKind = iota
	MRConcat
	MRAlt
	MRQuant
)

// MRPattern is a node of the pattern's regular expression: a variable
// (Var, an index in MatchRecognize.Vars), a concatenation, an
// alternation (the first item preferred) or a quantifier over Items[0]
// (Min to Max repetitions, Max < 0 unbounded; greedy unless Reluctant).
type MRPattern struct {
	Kind      MRPatternKind
	Var       int
	Items     []*MRPattern
	Min, Max  int
	Reluctant bool
}

// MRNavKind is what a navigation reads.
type MRNavKind int

const (
	// NavLast reads the Offset-th row before the last row mapped to Var
	// (all rows of the match when Var < 0), then moves Phys rows in the
	// partition (PREV < 0, NEXT > 0).
	NavLast MRNavKind = iota
	// NavFirst reads the Offset-th row after the first row mapped to Var.
	NavFirst
	// NavAgg aggregates column Col (every row when Star) over the rows
	// mapped to Var (all rows when Var < 0) with Agg.
	NavAgg
	// NavMatchNumber is MATCH_NUMBER(): 1 for a partition's first match.
	NavMatchNumber
	// NavClassifier is CLASSIFIER(): the variable of the last row.
	NavClassifier
)

// MRNav is one navigation: a value read from the rows of a (partial)
// match.
type MRNav struct {
	Kind   MRNavKind
	Var    int // -1: every row of the match
	Col    int
	Offset int
	Phys   int
	Agg    *udf.Aggregate
	AggArg types.T // the type Agg reads; the column is cast to it
	Star   bool
	T      types.T
}

// Key identifies equal navigations.
func (n MRNav) Key() string {
	s := fmt.Sprintf("%d/%d/%d/%d/%d/%t", n.Kind, n.Var, n.Col, n.Offset, n.Phys, n.Star)
	if n.Agg != nil {
		s += "/" + n.Agg.Name
	}
	return s
}

// String renders the navigation SQL-like, with variables by name.
func (n MRNav) String(vars []string, in []string) string {
	v := "*"
	if n.Var >= 0 {
		v = vars[n.Var]
	}
	col := "#" + strconv.Itoa(n.Col)
	if n.Col >= 0 && n.Col < len(in) && in[n.Col] != "" {
		col = in[n.Col]
	}
	ref := col
	if n.Var >= 0 {
		ref = v + "." + col
	}
	switch n.Kind {
	case NavMatchNumber:
		return "match_number()"
	case NavClassifier:
		return "classifier()"
	case NavAgg:
		if n.Star {
			if n.Var >= 0 {
				return n.Agg.Name + "(" + v + ".*)"
			}
			return n.Agg.Name + "(*)"
		}
		return n.Agg.Name + "(" + ref + ")"
	case NavFirst:
		ref = "first(" + ref
		if n.Offset != 0 {
			ref += ", " + strconv.Itoa(n.Offset)
		}
		ref += ")"
	default:
		if n.Offset != 0 {
			ref = "last(" + ref + ", " + strconv.Itoa(n.Offset) + ")"
		}
	}
	switch {
	case n.Phys < 0:
		ref = "prev(" + ref + ", " + strconv.Itoa(-n.Phys) + ")"
	case n.Phys > 0:
		ref = "next(" + ref + ", " + strconv.Itoa(n.Phys) + ")"
	}
	return ref
}

// String renders the pattern with variables by name.
func (p *MRPattern) String(vars []string) string {
	switch p.Kind {
	case MRVar:
		return vars[p.Var]
	case MRConcat, MRAlt:
		sep := " "
		if p.Kind == MRAlt {
			sep = " | "
		}
		parts := make([]string, len(p.Items))
		for i, it := range p.Items {
			parts[i] = it.String(vars)
		}
		s := strings.Join(parts, sep)
		if p.Kind == MRAlt {
			s = "(" + s + ")"
		}
		return s
	}
	in := p.Items[0].String(vars)
	if k := p.Items[0].Kind; k == MRConcat || k == MRQuant {
		in = "(" + in + ")"
	}
	var q string
	switch {
	case p.Min == 0 && p.Max < 0:
		q = "*"
	case p.Min == 1 && p.Max < 0:
		q = "+"
	case p.Min == 0 && p.Max == 1:
		q = "?"
	case p.Max < 0:
		q = fmt.Sprintf("{%d,}", p.Min)
	case p.Min == p.Max:
		q = fmt.Sprintf("{%d}", p.Min)
	default:
		q = fmt.Sprintf("{%d,%d}", p.Min, p.Max)
	}
	if p.Reluctant {
		q += "?"
	}
	return in + q
}

// OutputTypes returns the partition columns' types, then the measures'.
func (m *MatchRecognize) OutputTypes() []types.T {
	in := m.Input.OutputTypes()
	out := make([]types.T, 0, len(m.Partition)+len(m.Measures))
	for _, c := range m.Partition {
		out = append(out, in[c])
	}
	for _, e := range m.Measures {
		out = append(out, e.Type())
	}
	return out
}

// StreamProps: over an append-only input a match, once emitted, never
// changes, so the output is append-only; no column identifies a match.
func (m *MatchRecognize) StreamProps() Props {
	return Props{AppendOnly: StreamProps(m.Input).AppendOnly}
}

// String renders the node for plan trees.
func (m *MatchRecognize) String() string {
	var sb strings.Builder
	sb.WriteString("match recognize(")
	if len(m.Partition) > 0 {
		sb.WriteString("partition by " + cols(m.Partition) + ", ")
	}
	sb.WriteString("order by " + cols(m.Order))
	sb.WriteString(", pattern (" + m.Pattern.String(m.Vars) + ")")
	if m.Within != nil {
		sb.WriteString(", within " + m.Within.String())
	}
	switch m.Skip {
	case MRSkipToNextRow:
		sb.WriteString(", skip to next row")
	case MRSkipToFirst:
		sb.WriteString(", skip to first " + m.Vars[m.SkipVar])
	case MRSkipToLast:
		sb.WriteString(", skip to last " + m.Vars[m.SkipVar])
	}
	for v, d := range m.Defines {
		if d.Cond == nil {
			continue
		}
		sb.WriteString(", define " + m.Vars[v] + " as " + d.Cond.String())
	}
	sb.WriteString(")")
	return sb.String()
}

// pruneMatchRecognize keeps every output of x (its partition columns and
// measures) and narrows its input to the columns x reads: the partition
// and order columns and the columns its navigations read. A view's
// operator then buffers and stores only those, and a source below need
// not produce the others.
func (pr pruner) pruneMatchRecognize(x *MatchRecognize, need []bool) (Rel, []int, bool) {
	inNeed := make([]bool, len(x.Input.OutputTypes()))
	for _, c := range x.Partition {
		inNeed[c] = true
	}
	for _, c := range x.Order {
		inNeed[c] = true
	}
	navs := func(ns []MRNav) {
		for _, n := range ns {
			if navReadsCol(n) {
				inNeed[n.Col] = true
			}
		}
	}
	for _, d := range x.Defines {
		navs(d.Navs)
	}
	navs(x.MeasureNavs)
	if len(inNeed) > 0 && !slices.Contains(inNeed, true) {
		inNeed[0] = true // keep one column, as pruneAggregate does
	}
	in, m, changed := pr.narrow(x.Input, inNeed, nil)
	if !changed {
		return x, identityMap(len(need)), false
	}
	c := *x
	c.Input = in
	c.Partition = remapCols(x.Partition, m)
	c.Order = remapCols(x.Order, m)
	remapNavs := func(ns []MRNav) []MRNav {
		out := slices.Clone(ns)
		for i := range out {
			if navReadsCol(out[i]) {
				out[i].Col = m[out[i].Col]
			}
		}
		return out
	}
	c.Defines = slices.Clone(x.Defines)
	for i := range c.Defines {
		c.Defines[i].Navs = remapNavs(c.Defines[i].Navs)
	}
	c.MeasureNavs = remapNavs(x.MeasureNavs)
	return &c, identityMap(len(need)), true
}

// navReadsCol reports whether navigation n reads its input column Col.
func navReadsCol(n MRNav) bool {
	switch n.Kind {
	case NavLast, NavFirst:
		return true
	case NavAgg:
		return !n.Star
	}
	return false
}

func remapCols(cs []int, m []int) []int {
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = m[c]
	}
	return out
}
