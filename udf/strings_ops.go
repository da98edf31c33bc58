package udf

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// String operators: || concatenation, LIKE/ILIKE (~~ !~~ ~~* !~~*) and
// POSIX regular expressions (~ ~* !~ !~*).
//
// LIKE ... ESCAPE e is written, as PostgreSQL's grammar does, as
// x ~~ like_escape(pattern, e): like_escape rewrites the pattern to use
// the default escape character backslash.

func (r *registry) addStringOps() {
	t := types.TText
	r.op(&Scalar{Name: "||", Args: ts(t, t), Ret: t, Strict: true, Eval: concatText})
	r.op(&Scalar{Name: "||", Args: ts(t, AnyNonArray), Ret: t, Strict: true, Eval: concatText, EvalTyped: concatAny})
	r.op(&Scalar{Name: "||", Args: ts(AnyNonArray, t), Ret: t, Strict: true, Eval: concatText, EvalTyped: concatAny})
	r.op(&Scalar{Name: "||", Args: ts(types.TBytea, types.TBytea), Ret: types.TBytea, Strict: true,
		Eval: rowFunc(ts(types.TBytea, types.TBytea), types.TBytea, true, func(_ *Env, a []types.Datum) (types.Datum, error) {
			return append(append([]byte(nil), a[0].([]byte)...), a[1].([]byte)...), nil
		})})
	// Pattern matching: LIKE (~~) and POSIX regular expressions (~), each
	// case-insensitive (*) and negated (!).
	for _, m := range []struct {
		sym        string
		eval       func(ci, negate bool) ScalarFunc
		ci, negate bool
	}{
		{"~~", likeOp, false, false}, {"!~~", likeOp, false, true}, {"~~*", likeOp, true, false}, {"!~~*", likeOp, true, true},
		{"~", regexOp, false, false}, {"!~", regexOp, false, true}, {"~*", regexOp, true, false}, {"!~*", regexOp, true, true},
	} {
		for _, st := range []types.T{t, {Kind: types.Char}, types.TName} {
			r.op(&Scalar{Name: m.sym, Args: ts(st, t), Ret: types.TBool, Strict: true, Eval: m.eval(m.ci, m.negate)})
		}
	}
	r.op(&Scalar{Name: "~~", Args: ts(types.TBytea, types.TBytea), Ret: types.TBool, Strict: true, Eval: likeOp(false, false)})
	r.strictRow("like_escape", ts(t, t), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return likeEscape(a[0].(string), a[1].(string))
	})
}

func strs(a arrow.Array) *array.String { return a.(*array.String) }

func concatText(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
	x, y := strs(args[0]), strs(args[1])
	b := array.NewStringBuilder(typesMem())
	defer b.Release()
	b.Reserve(n)
	var buf []byte
	for i := 0; i < n; i++ {
		if x.IsNull(i) || y.IsNull(i) {
			b.AppendNull()
			continue
		}
		buf = append(append(buf[:0], x.Value(i)...), y.Value(i)...)
		b.BinaryBuilder.Append(buf)
	}
	return b.NewArray(), nil
}

// concatAny is text || anynonarray and anynonarray || text: the non-text
// side is cast to text, as PostgreSQL's textanycat does with $2::text, so
// a boolean reads "true" (its cast), not "t" (its output function).
func concatAny(env *Env, argTypes []types.T, args []arrow.Array, n int) (arrow.Array, error) {
	b := array.NewStringBuilder(typesMem())
	defer b.Release()
	var buf []byte
	for i := 0; i < n; i++ {
		if args[0].IsNull(i) || args[1].IsNull(i) {
			b.AppendNull()
			continue
		}
		buf = buf[:0]
		for j := 0; j < 2; j++ {
			if argTypes[j].Kind == types.Bool {
				buf = strconv.AppendBool(buf, args[j].(*array.Boolean).Value(i))
				continue
			}
			buf = appendAsText(buf, args[j], i, argTypes[j], env)
		}
		b.BinaryBuilder.Append(buf)
	}
	return b.NewArray(), nil
}

// appendAsText appends row i of a column of type t as PostgreSQL text.
func appendAsText(buf []byte, arr arrow.Array, i int, t types.T, env *Env) []byte {
	if s, ok := arr.(*array.String); ok && t.Kind != types.Numeric {
		return append(buf, s.Value(i)...)
	}
	if t.Kind == types.Unknown {
		t = types.TText
	}
	return types.AppendText(buf, types.GetDatum(arr, i, t), t, env.loc())
}

func (e *Env) loc() *time.Location {
	if e == nil || e.Location == nil {
		return time.UTC
	}
	return e.Location
}

// likeMatch matches s against a LIKE pattern with backslash escapes.
func likeMatch(s, p string) bool {
	for len(p) > 0 {
		c := p[0]
		switch c {
		case '%':
			for len(p) > 0 && (p[0] == '%' || p[0] == '_') {
				if p[0] == '_' {
					if len(s) == 0 {
						return false
					}
					_, w := utf8.DecodeRuneInString(s)
					s = s[w:]
				}
				p = p[1:]
			}
			if len(p) == 0 {
				return true
			}
			for {
				if likeMatch(s, p) {
					return true
				}
				if len(s) == 0 {
					return false
				}
				_, w := utf8.DecodeRuneInString(s)
				s = s[w:]
			}
		case '_':
			if len(s) == 0 {
				return false
			}
			_, w := utf8.DecodeRuneInString(s)
			s, p = s[w:], p[1:]
		default:
			if c == '\\' && len(p) > 1 {
				p = p[1:]
			}
			_, w := utf8.DecodeRuneInString(p)
			if len(s) < w || s[:w] != p[:w] {
				return false
			}
			s, p = s[w:], p[w:]
		}
	}
	return len(s) == 0
}

func likeOp(ci, negate bool) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		out := make([]bool, n)
		valid := validity(n, args[0], args[1])
		vb := validBits(valid)
		get := func(a arrow.Array, i int) string {
			switch x := a.(type) {
			case *array.String:
				return x.Value(i)
			case *array.Binary:
				return string(x.Value(i))
			}
			return ""
		}
		for i := range out {
			if !rowValid(vb, i) {
				continue
			}
			s, p := get(args[0], i), get(args[1], i)
			if ci {
				s, p = strings.ToLower(s), strings.ToLower(p)
			}
			out[i] = likeMatch(s, p) != negate
		}
		return makeBool(out, valid), nil
	}
}

// likeEscape rewrites a pattern with escape character esc to the default
// backslash escape (an empty esc disables escaping).
func likeEscape(p, esc string) (string, error) {
	if utf8.RuneCountInString(esc) > 1 {
		return "", sqlerr.New(sqlerr.InvalidEscapeCharacter, "invalid escape string").
			WithHint("Escape string must be empty or one character.")
	}
	var sb strings.Builder
	e, _ := utf8.DecodeRuneInString(esc)
	escaped := false
	for _, c := range p {
		switch {
		case escaped:
			if c == '\\' {
				sb.WriteString(`\\`)
			} else {
				if c == '%' || c == '_' {
					sb.WriteByte('\\')
				}
				sb.WriteRune(c)
			}
			escaped = false
		case esc != "" && c == e:
			escaped = true
		case c == '\\':
			sb.WriteString(`\\`)
		default:
			sb.WriteRune(c)
		}
	}
	return sb.String(), nil
}

// pgRegexEscapes translates the word-boundary escapes of PostgreSQL's
// regular expressions into Go's (a Replacer is safe for concurrent use).
var pgRegexEscapes = strings.NewReplacer(`\m`, `\b`, `\M`, `\b`, `\y`, `\b`, `[[:<:]]`, `\b`, `[[:>:]]`, `\b`)

// compileRegex compiles a PostgreSQL (ARE) regular expression with Go's
// regexp, translating the escapes that differ.
func compileRegex(p string, ci bool) (*regexp.Regexp, error) {
	tr := pgRegexEscapes.Replace(p)
	if ci {
		tr = "(?i)" + tr
	}
	re, err := regexp.Compile(tr)
	if err != nil {
		return nil, sqlerr.New(sqlerr.InvalidRegularExpression, "invalid regular expression: %s", regexErrText(err))
	}
	return re, nil
}

// regexMemo keeps the last pattern compiled while one batch is
// evaluated: a pattern is nearly always a constant, so it is compiled
// once per batch instead of once per row. With it goes a literal every
// match must contain, if the pattern has one: a value without it cannot
// match, which a substring search finds out far faster than the regexp.
type regexMemo struct {
	pat  string
	ci   bool
	re   *regexp.Regexp
	must string
}

func (m *regexMemo) compile(p string, ci bool) (*regexp.Regexp, error) {
	if m.re != nil && m.pat == p && m.ci == ci {
		return m.re, nil
	}
	re, err := compileRegex(p, ci)
	if err != nil {
		return nil, err
	}
	m.pat, m.ci, m.re, m.must = p, ci, re, ""
	if t, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
		m.must = requiredLiteral(t.Simplify())
	}
	return re, nil
}

// cannotMatch reports whether s lacks the pattern's required literal.
func (m *regexMemo) cannotMatch(s string) bool {
	return m.must != "" && !strings.Contains(s, m.must)
}

// requiredLiteral returns the longest case-sensitive literal that every
// match of t contains, or "".
func requiredLiteral(t *syntax.Regexp) string {
	switch t.Op {
	case syntax.OpLiteral:
		if t.Flags&syntax.FoldCase != 0 {
			return ""
		}
		return string(t.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(t.Sub[0])
	case syntax.OpRepeat:
		if t.Min >= 1 {
			return requiredLiteral(t.Sub[0])
		}
	case syntax.OpConcat:
		best := ""
		for _, sub := range t.Sub {
			if l := requiredLiteral(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}

// strictRegexRow registers a strict per-row function that compiles
// patterns through a memo of its own for every batch.
func (r *registry) strictRegexRow(name string, args []types.T, ret types.T, f func(m *regexMemo, env *Env, a []types.Datum) (types.Datum, error)) *Scalar {
	eval := func(env *Env, cols []arrow.Array, n int) (arrow.Array, error) {
		m := &regexMemo{}
		return rowFunc(args, ret, true, func(env *Env, a []types.Datum) (types.Datum, error) { return f(m, env, a) })(env, cols, n)
	}
	return r.fn(&Scalar{Name: name, Args: args, Ret: ret, Strict: true, Eval: eval})
}

func regexErrText(err error) string {
	var e *syntax.Error
	if errors.As(err, &e) {
		return string(e.Code)
	}
	return err.Error()
}

func regexOp(ci, negate bool) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		x, p := strs(args[0]), strs(args[1])
		out := make([]bool, n)
		valid := validity(n, x, p)
		vb := validBits(valid)
		var memo regexMemo
		for i := range out {
			if !rowValid(vb, i) {
				continue
			}
			re, err := memo.compile(p.Value(i), ci)
			if err != nil {
				return nil, err
			}
			v := x.Value(i)
			out[i] = (!memo.cannotMatch(v) && re.MatchString(v)) != negate
		}
		return makeBool(out, valid), nil
	}
}
