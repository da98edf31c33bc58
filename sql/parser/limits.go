package parser

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/sqlerr"
)

// Complexity limits.
//
// PostgreSQL's grammar runs in C through cgo, on the stack of whichever
// operating-system thread the calling goroutine happens to run on. Its
// bison parser keeps its own stack on the heap (and gives up with "memory
// exhausted" past 10,000 entries), but the tree it builds is then turned
// into protobuf by code that recurses once per tree level, with no stack
// check: pg_query never sets PostgreSQL's stack base, so
// check_stack_depth() does nothing. A left-deep chain such as
// `1+1+...+1` costs no bison stack at all but makes one tree level per
// operator, and overflows the C stack, which kills the whole process
// (measured: about 24,000 terms on an 8 MiB thread stack, about 2,950 on
// 1 MiB; a nested scalar subquery costs about three times as much stack
// as an operator). The Go side then refuses trees deeper than 10,000
// protobuf messages (two per operator).
//
// So the shape of a statement is measured on its tokens, in Go, before any
// of it reaches the grammar: the text size and token count, how deeply
// function calls, subscripts, row constructors, CASE and subqueries nest,
// how long a left-deep chain of operators, JOINs or set operations grows
// at one level, and the depth of the tree these make together along one
// path (the measure the C stack cares about). Lists (IN lists, VALUES
// rows, select lists) and AND/OR chains are flat in the tree (the grammar
// collects AND and OR chains into one n-ary node), and grouping
// parentheses make no node: they cost nothing here. Within the limits the
// grammar still runs on a thread with a stack of known size (cstack.go).

// Limits bounds the shape of a statement before it is parsed.
type Limits struct {
	// MaxBytes bounds the text of one query string.
	MaxBytes int
	// MaxTokens bounds the tokens of one query string: the grammar's
	// time and memory grow with them (measured: a select list of 500,000
	// items takes 5 s and 450 MB to parse, 8 million take two minutes and
	// 6 GB), and none of it can be interrupted.
	MaxTokens int
	// MaxNesting bounds the nesting of function calls, subscripts and
	// ARRAY[...], row constructors, CASE expressions and subqueries.
	MaxNesting int
	// MaxChain bounds one left-deep chain of operators, JOINs or
	// UNION/INTERSECT/EXCEPT at one nesting level.
	MaxChain int
	// MaxDepth bounds an upper estimate of the parse tree's depth along
	// one path: one per nesting level (three per subquery, two per CASE)
	// plus the chains at each level on the path (see checkShape).
	MaxDepth int
}

// DefaultLimits returns the limits Parse applies. Within them, a statement
// needs at most a few MiB of C stack (measured: about 350 bytes per depth
// unit in the grammar's output, up to 2 KiB in the deparser), which the
// thread of cstack.go provides whatever the process's stack limit; the Go
// side stays below protobuf's nesting limit of 10,000 messages.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 4 << 20, MaxTokens: 1_000_000, MaxNesting: 1000, MaxChain: 2000, MaxDepth: 2500}
}

// checkTokens rejects a query string of more than MaxTokens tokens.
func (l Limits) checkTokens(src string, toks []token) error {
	if l.MaxTokens > 0 && len(toks) > l.MaxTokens {
		return tooComplex("The statement has %d tokens; the limit is %d.", len(toks), l.MaxTokens).
			WithHint("Send large data with COPY or as parameters of a prepared statement, or split the statement.").
			WithPosition(charPos(src, toks[l.MaxTokens].start))
	}
	return nil
}

// checkSize rejects a query string longer than MaxBytes, before it is even
// scanned.
func (l Limits) checkSize(src string) error {
	if l.MaxBytes > 0 && len(src) > l.MaxBytes {
		return tooComplex("The statement is %d bytes long; the limit is %d bytes.", len(src), l.MaxBytes).
			WithHint("Send large data with COPY or as parameters of a prepared statement.").
			WithPosition(charPos(src, l.MaxBytes))
	}
	return nil
}

// shapeLevel is one open parenthesis, bracket or CASE while measuring.
type shapeLevel struct {
	kind   byte // '(', '[' or 'c' (CASE)
	weight int  // depth units of the level itself
	ops    int  // operators in the current chain at this level
	joins  int  // JOINs in the current FROM list item
	setops int  // UNION/INTERSECT/EXCEPT at this level
	// child is the depth of the deepest level closed within this one: in
	// ((a+1)+1)+1 the chain at each level builds on the one closed inside
	// it, and in (((1, 1), 1), 1) each row on the one inside it.
	child int
}

func (lv *shapeLevel) depth() int { return lv.weight + lv.ops + lv.joins + lv.setops + lv.child }

// checkShape measures the token stream of a query string and rejects it
// when a statement nests, chains or deepens beyond the limits. It returns
// the greatest depth reached.
//
// The depth is an upper bound of the parse tree's depth: the sum, over the
// open levels, of each level's own weight, its current chains and the
// deepest level closed within them. Plain grouping parentheses weigh
// nothing (the grammar makes no node for them, and PostgreSQL's deparser
// writes one pair around every operator of a chain); a function call or
// bracket weighs 1, a CASE 2, a subquery 3. Only levels that weigh count
// towards MaxNesting.
func (l Limits) checkShape(src string, toks []token) (maxDepth int, err error) {
	levels := []shapeLevel{{kind: 's'}}
	depth := 0   // sum of depth() over levels
	nesting := 0 // levels of weight > 0
	pos := -1
	// change applies f to the innermost level and keeps depth in step.
	change := func(f func(lv *shapeLevel)) {
		lv := &levels[len(levels)-1]
		before := lv.depth()
		f(lv)
		depth += lv.depth() - before
		maxDepth = max(maxDepth, depth)
	}
	bump := func(field func(lv *shapeLevel) *int, what string) error {
		n := 0
		change(func(lv *shapeLevel) { p := field(lv); *p++; n = *p })
		if n > l.MaxChain {
			return tooComplex("A chain of %s is longer than %d terms, the limit.", what, l.MaxChain).
				WithHint("Use an IN list, a VALUES list or an array instead of a long chain, or split the statement.")
		}
		if depth > l.MaxDepth {
			return tooDeep(l)
		}
		return nil
	}
	// A separator ends the current chain. The deepest closed level is
	// kept: the level's node is at least one above its deepest operand.
	resetChain := func(lv *shapeLevel) { lv.ops = 0 }
	// The error points at the token that crossed a limit.
	defer func() {
		if e, ok := err.(*sqlerr.Error); ok && pos >= 0 {
			e.Position = charPos(src, pos)
		}
	}()
	for i, t := range toks {
		pos = t.start
		top := &levels[len(levels)-1]
		switch t.kind {
		case pg_query.Token_ASCII_40, pg_query.Token_ASCII_91, pg_query.Token_CASE: // ( [ CASE
			lv := shapeLevel{kind: '(', weight: 1}
			switch {
			case t.kind == pg_query.Token_CASE:
				lv.kind, lv.weight = 'c', 2
			case t.kind == pg_query.Token_ASCII_91:
				// A subscript, or ARRAY[: either way a node on the
				// chain it follows.
				lv.kind = '['
				if err := bump(func(lv *shapeLevel) *int { return &lv.ops }, "operators"); err != nil {
					return 0, err
				}
			case i+1 < len(toks) && startsQuery(toks[i+1].kind):
				lv.weight = 3
			case i == 0 || groupsAfter(toks[i-1].kind):
				lv.weight = 0
			}
			levels = append(levels, lv)
			depth += lv.weight
			maxDepth = max(maxDepth, depth)
			if lv.weight > 0 {
				nesting++
				if nesting > l.MaxNesting {
					return 0, tooNested(l)
				}
			}
			if depth > l.MaxDepth {
				return 0, tooDeep(l)
			}
		case pg_query.Token_ASCII_41, pg_query.Token_ASCII_93, pg_query.Token_END_P: // ) ] END
			if len(levels) == 1 || (t.kind == pg_query.Token_END_P && top.kind != 'c') {
				// Unbalanced: the grammar reports it. END also closes
				// BEGIN blocks of function bodies.
				if t.kind == pg_query.Token_END_P {
					change(resetChain)
				}
				continue
			}
			closed := top.depth()
			if top.weight > 0 {
				nesting--
			}
			depth -= closed
			levels = levels[:len(levels)-1]
			change(func(lv *shapeLevel) { lv.child = max(lv.child, closed) })
			if depth > l.MaxDepth {
				return 0, tooDeep(l)
			}
		case pg_query.Token_ASCII_59: // ;
			levels, depth, nesting = levels[:1], 0, 0
			levels[0] = shapeLevel{kind: 's'}
		case pg_query.Token_ASCII_44, pg_query.Token_AND, pg_query.Token_OR,
			pg_query.Token_WHEN, pg_query.Token_THEN, pg_query.Token_ELSE,
			pg_query.Token_WHERE, pg_query.Token_HAVING, pg_query.Token_ON, pg_query.Token_USING,
			pg_query.Token_GROUP_P, pg_query.Token_ORDER, pg_query.Token_LIMIT, pg_query.Token_OFFSET,
			pg_query.Token_RETURNING, pg_query.Token_SET, pg_query.Token_VALUES, pg_query.Token_WINDOW:
			// Separators: what follows starts a new operand chain.
			change(func(lv *shapeLevel) {
				resetChain(lv)
				if t.kind == pg_query.Token_ASCII_44 {
					lv.joins = 0
				}
			})
			if t.kind == pg_query.Token_ASCII_44 && top.kind == '(' && top.weight == 0 {
				// A comma in grouping parentheses: a row constructor,
				// which is a node.
				change(func(lv *shapeLevel) { lv.weight = 1 })
				nesting++
				if nesting > l.MaxNesting {
					return 0, tooNested(l)
				}
				if depth > l.MaxDepth {
					return 0, tooDeep(l)
				}
			}
		case pg_query.Token_SELECT, pg_query.Token_FROM:
			// A new SELECT (after a set operation) or FROM list starts
			// new chains; IS DISTINCT FROM keeps counting below.
			if t.kind == pg_query.Token_FROM && i > 0 && toks[i-1].kind == pg_query.Token_DISTINCT {
				break
			}
			change(func(lv *shapeLevel) { resetChain(lv); lv.joins = 0 })
		case pg_query.Token_JOIN:
			if err := bump(func(lv *shapeLevel) *int { return &lv.joins }, "JOINs"); err != nil {
				return 0, err
			}
		case pg_query.Token_UNION, pg_query.Token_INTERSECT, pg_query.Token_EXCEPT:
			if err := bump(func(lv *shapeLevel) *int { return &lv.setops }, "UNION, INTERSECT or EXCEPT operations"); err != nil {
				return 0, err
			}
		default:
			if isChainOperator(t.kind) {
				if err := bump(func(lv *shapeLevel) *int { return &lv.ops }, "operators"); err != nil {
					return 0, err
				}
			}
		}
	}
	return maxDepth, nil
}

// groupsAfter reports whether "(" after a token of kind k groups (an
// expression or a query) rather than calls a function or opens a list.
func groupsAfter(k pg_query.Token) bool {
	if isChainOperator(k) {
		return true
	}
	switch k {
	case pg_query.Token_ASCII_40, pg_query.Token_ASCII_44, pg_query.Token_ASCII_91,
		pg_query.Token_SELECT, pg_query.Token_WHERE, pg_query.Token_AND, pg_query.Token_OR,
		pg_query.Token_WHEN, pg_query.Token_THEN, pg_query.Token_ELSE, pg_query.Token_CASE,
		pg_query.Token_HAVING, pg_query.Token_ON, pg_query.Token_BY, pg_query.Token_RETURNING,
		pg_query.Token_UNION, pg_query.Token_INTERSECT, pg_query.Token_EXCEPT, pg_query.Token_ALL,
		pg_query.Token_FROM, pg_query.Token_JOIN:
		return true
	}
	return false
}

// startsQuery reports whether a token after "(" starts a subquery.
func startsQuery(k pg_query.Token) bool {
	switch k {
	case pg_query.Token_SELECT, pg_query.Token_VALUES, pg_query.Token_WITH, pg_query.Token_TABLE:
		return true
	}
	return false
}

// isChainOperator reports whether a token is an operator that makes a tree
// level: binary and unary operators, casts, and the keyword operators.
func isChainOperator(k pg_query.Token) bool {
	switch k {
	case '+', '-', '*', '/', '%', '^', '<', '>', '=',
		pg_query.Token_Op, pg_query.Token_TYPECAST, pg_query.Token_LESS_EQUALS,
		pg_query.Token_GREATER_EQUALS, pg_query.Token_NOT_EQUALS,
		pg_query.Token_NOT, pg_query.Token_IS, pg_query.Token_ISNULL, pg_query.Token_NOTNULL,
		pg_query.Token_LIKE, pg_query.Token_ILIKE, pg_query.Token_SIMILAR, pg_query.Token_BETWEEN,
		pg_query.Token_IN_P, pg_query.Token_COLLATE, pg_query.Token_AT, pg_query.Token_OPERATOR,
		pg_query.Token_OVERLAPS:
		return true
	}
	return false
}

func tooNested(l Limits) *sqlerr.Error {
	return tooComplex("Function calls, subscripts, row constructors, CASE expressions and subqueries nest more than %d levels deep, the limit.", l.MaxNesting).
		WithHint("Simplify the statement or split it into several statements.")
}

func tooDeep(l Limits) *sqlerr.Error {
	return tooComplex("The statement's expressions and subqueries nest more than %d levels deep (each operator of a chain counts as a level), the limit.", l.MaxDepth).
		WithHint("Simplify the statement or split it into several statements.")
}

// tooComplex is PostgreSQL's 54001 with a detail naming the limit.
func tooComplex(detail string, args ...any) *sqlerr.Error {
	return sqlerr.New(sqlerr.StatementTooComplex, "statement too complex").WithDetail(detail, args...)
}
