package udf

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// String functions. They work on UTF-8 text and count characters, not
// bytes, as PostgreSQL does in a UTF8 database.

func (r *registry) addStringFuncs() {
	t, i4 := types.TText, types.TInt4
	row := r.strictRow
	s := func(d types.Datum) string { return d.(string) }
	i := func(d types.Datum) int64 { return d.(int64) }
	for _, name := range []string{"length", "char_length", "character_length"} {
		row(name, ts(t), i4, func(_ *Env, a []types.Datum) (types.Datum, error) {
			return int64(utf8.RuneCountInString(s(a[0]))), nil
		})
		row(name, ts(types.T{Kind: types.Char}), i4, func(_ *Env, a []types.Datum) (types.Datum, error) {
			return int64(utf8.RuneCountInString(strings.TrimRight(s(a[0]), " "))), nil
		})
	}
	row("length", ts(types.TBytea), i4, func(_ *Env, a []types.Datum) (types.Datum, error) { return int64(len(a[0].([]byte))), nil })
	row("octet_length", ts(t), i4, func(_ *Env, a []types.Datum) (types.Datum, error) { return int64(len(s(a[0]))), nil })
	row("octet_length", ts(types.TBytea), i4, func(_ *Env, a []types.Datum) (types.Datum, error) { return int64(len(a[0].([]byte))), nil })
	row("bit_length", ts(t), i4, func(_ *Env, a []types.Datum) (types.Datum, error) { return int64(8 * len(s(a[0]))), nil })
	row("lower", ts(t), t, func(_ *Env, a []types.Datum) (types.Datum, error) { return strings.ToLower(s(a[0])), nil })
	row("upper", ts(t), t, func(_ *Env, a []types.Datum) (types.Datum, error) { return strings.ToUpper(s(a[0])), nil })
	row("initcap", ts(t), t, func(_ *Env, a []types.Datum) (types.Datum, error) { return initcap(s(a[0])), nil })
	for _, name := range []string{"substr", "substring"} {
		row(name, ts(t, i4), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
			return substr(s(a[0]), i(a[1]), 0, false)
		})
		row(name, ts(t, i4, i4), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
			return substr(s(a[0]), i(a[1]), i(a[2]), true)
		})
	}
	r.strictRegexRow("substring", ts(t, t), t, func(memo *regexMemo, _ *Env, a []types.Datum) (types.Datum, error) {
		re, err := memo.compile(s(a[1]), false)
		if err != nil {
			return nil, err
		}
		if memo.cannotMatch(s(a[0])) {
			return nil, nil
		}
		m := re.FindStringSubmatch(s(a[0]))
		switch {
		case m == nil:
			return nil, nil
		case len(m) > 1:
			return m[1], nil
		}
		return m[0], nil
	})
	// overlay(t1 PLACING t2 FROM start [FOR count]): t1 with count
	// characters from start replaced by t2 (count defaults to t2's
	// length).
	row("overlay", ts(t, t, i4, i4), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return overlay(s(a[0]), s(a[1]), i(a[2]), i(a[3]))
	})
	row("overlay", ts(t, t, i4), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return overlay(s(a[0]), s(a[1]), i(a[2]), int64(utf8.RuneCountInString(s(a[1]))))
	})
	for _, name := range []string{"strpos", "position"} {
		row(name, ts(t, t), i4, func(_ *Env, a []types.Datum) (types.Datum, error) {
			k := strings.Index(s(a[0]), s(a[1]))
			if k < 0 {
				return int64(0), nil
			}
			return int64(utf8.RuneCountInString(s(a[0])[:k]) + 1), nil
		})
	}
	row("replace", ts(t, t, t), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		if s(a[1]) == "" {
			return s(a[0]), nil
		}
		return strings.ReplaceAll(s(a[0]), s(a[1]), s(a[2])), nil
	})
	row("translate", ts(t, t, t), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		from, to := []rune(s(a[1])), []rune(s(a[2]))
		var sb strings.Builder
		for _, c := range s(a[0]) {
			k := -1
			for j, f := range from {
				if f == c {
					k = j
					break
				}
			}
			switch {
			case k < 0:
				sb.WriteRune(c)
			case k < len(to):
				sb.WriteRune(to[k])
			}
		}
		return sb.String(), nil
	})
	trims := map[string]func(string, string) string{
		"btrim": strings.Trim, "ltrim": strings.TrimLeft, "rtrim": strings.TrimRight,
	}
	for name, f := range trims {
		f := f
		row(name, ts(t), t, func(_ *Env, a []types.Datum) (types.Datum, error) { return f(s(a[0]), " "), nil })
		row(name, ts(t, t), t, func(_ *Env, a []types.Datum) (types.Datum, error) { return f(s(a[0]), s(a[1])), nil })
	}
	for _, left := range []bool{true, false} {
		name := "rpad"
		if left {
			name = "lpad"
		}
		left := left
		row(name, ts(t, i4), t, func(_ *Env, a []types.Datum) (types.Datum, error) { return pad(s(a[0]), i(a[1]), " ", left), nil })
		row(name, ts(t, i4, t), t, func(_ *Env, a []types.Datum) (types.Datum, error) { return pad(s(a[0]), i(a[1]), s(a[2]), left), nil })
	}
	row("left", ts(t, i4), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		rs := []rune(s(a[0]))
		n := int(i(a[1]))
		if n < 0 {
			n = max(len(rs)+n, 0)
		}
		return string(rs[:min(n, len(rs))]), nil
	})
	row("right", ts(t, i4), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		rs := []rune(s(a[0]))
		n := int(i(a[1]))
		if n < 0 {
			n = max(len(rs)+n, 0)
		}
		return string(rs[len(rs)-min(n, len(rs)):]), nil
	})
	row("repeat", ts(t, i4), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		n := i(a[1])
		if n <= 0 {
			return "", nil
		}
		if int64(len(s(a[0])))*n > 1<<30 {
			return nil, sqlerr.New(sqlerr.ProgramLimitExceeded, "requested length too large")
		}
		return strings.Repeat(s(a[0]), int(n)), nil
	})
	row("reverse", ts(t), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		rs := []rune(s(a[0]))
		for x, y := 0, len(rs)-1; x < y; x, y = x+1, y-1 {
			rs[x], rs[y] = rs[y], rs[x]
		}
		return string(rs), nil
	})
	row("split_part", ts(t, t, i4), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		n := i(a[2])
		if n == 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "field position must not be zero")
		}
		var parts []string
		if s(a[1]) == "" {
			parts = []string{s(a[0])}
			if s(a[0]) == "" {
				parts = nil
			}
		} else {
			parts = strings.Split(s(a[0]), s(a[1]))
		}
		if n < 0 {
			n = int64(len(parts)) + n + 1
		}
		if n < 1 || n > int64(len(parts)) {
			return "", nil
		}
		return parts[n-1], nil
	})
	row("starts_with", ts(t, t), types.TBool, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return strings.HasPrefix(s(a[0]), s(a[1])), nil
	})
	row("ascii", ts(t), i4, func(_ *Env, a []types.Datum) (types.Datum, error) {
		c, _ := utf8.DecodeRuneInString(s(a[0]))
		if s(a[0]) == "" {
			c = 0
		}
		return int64(c), nil
	})
	row("chr", ts(i4), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		c := i(a[0])
		if c == 0 {
			return nil, sqlerr.New(sqlerr.ProgramLimitExceeded, "null character not permitted")
		}
		if c < 0 || c > unicode.MaxRune || (c >= 0xD800 && c <= 0xDFFF) {
			return nil, sqlerr.New(sqlerr.ProgramLimitExceeded, "requested character too large for encoding: %d", c)
		}
		return string(rune(c)), nil
	})
	row("md5", ts(t), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		h := md5.Sum([]byte(s(a[0])))
		return hex.EncodeToString(h[:]), nil
	})
	row("md5", ts(types.TBytea), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		h := md5.Sum(a[0].([]byte))
		return hex.EncodeToString(h[:]), nil
	})
	for _, it := range []types.T{types.TInt4, types.TInt8} {
		bits := 32
		if it.Kind == types.Int8 {
			bits = 64
		}
		row("to_hex", ts(it), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
			v := uint64(i(a[0]))
			if bits == 32 {
				v = uint64(uint32(i(a[0])))
			}
			return strconv.FormatUint(v, 16), nil
		})
	}
	row("quote_ident", ts(t), t, func(_ *Env, a []types.Datum) (types.Datum, error) { return QuoteIdent(s(a[0])), nil })
	row("quote_literal", ts(t), t, func(_ *Env, a []types.Datum) (types.Datum, error) { return QuoteLiteral(s(a[0])), nil })
	r.fn(&Scalar{Name: "quote_literal", Args: ts(Any), Ret: t, Strict: true, Eval: concatText, EvalTyped: anyToTextFunc(QuoteLiteral, false)})
	r.fn(&Scalar{Name: "quote_nullable", Args: ts(t), Ret: t, Eval: anyToTextFunc(QuoteLiteral, true).untyped(t)})
	r.fn(&Scalar{Name: "quote_nullable", Args: ts(Any), Ret: t, Eval: anyToTextFunc(QuoteLiteral, true).untyped(t), EvalTyped: anyToTextFunc(QuoteLiteral, true)})
	r.fn(&Scalar{Name: "concat", Args: ts(Any), Variadic: true, Ret: t, Volatility: Stable, Eval: concatText, EvalTyped: concatFunc(false)})
	r.fn(&Scalar{Name: "concat_ws", Args: ts(t, Any), Variadic: true, Ret: t, Volatility: Stable, Eval: concatText, EvalTyped: concatFunc(true)})
	r.fn(&Scalar{Name: "format", Args: ts(t), Ret: t, Volatility: Stable, Eval: concatText, EvalTyped: formatFunc})
	r.fn(&Scalar{Name: "format", Args: ts(t, Any), Variadic: true, Ret: t, Volatility: Stable, Eval: concatText, EvalTyped: formatFunc})
	regexReplace := func(memo *regexMemo, _ *Env, a []types.Datum) (types.Datum, error) {
		flags := ""
		if len(a) > 3 {
			flags = s(a[3])
		}
		ci := strings.Contains(flags, "i")
		re, err := memo.compile(s(a[1]), ci)
		if err != nil {
			return nil, err
		}
		if memo.cannotMatch(s(a[0])) {
			return s(a[0]), nil
		}
		repl := translateReplacement(s(a[2]))
		if strings.Contains(flags, "g") {
			return re.ReplaceAllString(s(a[0]), repl), nil
		}
		loc := re.FindStringSubmatchIndex(s(a[0]))
		if loc == nil {
			return s(a[0]), nil
		}
		var dst []byte
		dst = re.ExpandString(dst, repl, s(a[0]), loc)
		return s(a[0])[:loc[0]] + string(dst) + s(a[0])[loc[1]:], nil
	}
	r.strictRegexRow("regexp_replace", ts(t, t, t), t, regexReplace)
	r.strictRegexRow("regexp_replace", ts(t, t, t, t), t, regexReplace)
	textArr := types.T{Kind: types.Array, Elem: &types.TText}
	regexMatch := func(memo *regexMemo, _ *Env, a []types.Datum) (types.Datum, error) {
		ci := len(a) > 2 && strings.Contains(s(a[2]), "i")
		re, err := memo.compile(s(a[1]), ci)
		if err != nil {
			return nil, err
		}
		if memo.cannotMatch(s(a[0])) {
			return nil, nil
		}
		m := re.FindStringSubmatchIndex(s(a[0]))
		if m == nil {
			return nil, nil
		}
		var elems []string
		var nulls []bool
		if len(m) == 2 {
			elems, nulls = []string{s(a[0])[m[0]:m[1]]}, []bool{false}
		}
		for g := 1; g < len(m)/2; g++ {
			if m[2*g] < 0 {
				elems, nulls = append(elems, ""), append(nulls, true)
			} else {
				elems, nulls = append(elems, s(a[0])[m[2*g]:m[2*g+1]]), append(nulls, false)
			}
		}
		return FormatArrayText(elems, nulls), nil
	}
	r.strictRegexRow("regexp_match", ts(t, t), textArr, regexMatch)
	r.strictRegexRow("regexp_match", ts(t, t, t), textArr, regexMatch)
	row("string_to_array", ts(t, t), textArr, func(_ *Env, a []types.Datum) (types.Datum, error) {
		if s(a[0]) == "" {
			return "{}", nil
		}
		var parts []string
		if s(a[1]) == "" {
			parts = []string{s(a[0])}
		} else {
			parts = strings.Split(s(a[0]), s(a[1]))
		}
		return FormatArrayText(parts, nil), nil
	})
}

func initcap(s string) string {
	var sb strings.Builder
	inWord := false
	for _, c := range s {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			if inWord {
				sb.WriteRune(unicode.ToLower(c))
			} else {
				sb.WriteRune(unicode.ToUpper(c))
			}
			inWord = true
		} else {
			sb.WriteRune(c)
			inWord = false
		}
	}
	return sb.String()
}

// substr is substr(s, start[, count]) with 1-based start that may be
// before the string.
func substr(s string, start, count int64, hasCount bool) (types.Datum, error) {
	rs := []rune(s)
	end := int64(len(rs)) + 1
	if hasCount {
		if count < 0 {
			return nil, sqlerr.New("22011", "negative substring length not allowed")
		}
		end = start + count
	}
	if start < 1 {
		start = 1
	}
	if end > int64(len(rs))+1 {
		end = int64(len(rs)) + 1
	}
	if start >= end {
		return "", nil
	}
	return string(rs[start-1 : end-1]), nil
}

// overlay is text_overlay: the characters of t1 before start, t2, and
// those of t1 from start+count on.
func overlay(t1, t2 string, start, count int64) (types.Datum, error) {
	if start+count <= count {
		return nil, sqlerr.New("22011", "negative substring length not allowed")
	}
	head, err := substr(t1, 1, start-1, true)
	if err != nil {
		return nil, err
	}
	tail, err := substr(t1, start+count, 0, false)
	if err != nil {
		return nil, err
	}
	return head.(string) + t2 + tail.(string), nil
}

func pad(s string, n int64, fill string, left bool) string {
	rs := []rune(s)
	if n <= 0 {
		return ""
	}
	if int64(len(rs)) >= n {
		return string(rs[:n])
	}
	fr := []rune(fill)
	if len(fr) == 0 {
		return s
	}
	padding := make([]rune, 0, n-int64(len(rs)))
	for k := 0; int64(len(padding)) < n-int64(len(rs)); k++ {
		padding = append(padding, fr[k%len(fr)])
	}
	if left {
		return string(padding) + s
	}
	return s + string(padding)
}

// QuoteIdent quotes an identifier when PostgreSQL's quote_ident would.
func QuoteIdent(s string) string {
	safe := s != "" && (s[0] >= 'a' && s[0] <= 'z' || s[0] == '_')
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			safe = false
		}
	}
	if safe && !reservedKeywords[s] {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// reservedKeywords are the keywords quote_ident always quotes: all but
// PostgreSQL's unreserved ones that commonly appear as names (reserved,
// type-function-name and column-name keywords).
var reservedKeywords = map[string]bool{
	"all": true, "analyse": true, "analyze": true, "and": true, "any": true, "array": true, "as": true, "asc": true,
	"asymmetric": true, "both": true, "case": true, "cast": true, "check": true, "collate": true, "column": true,
	"constraint": true, "create": true, "current_catalog": true, "current_date": true, "current_role": true,
	"current_time": true, "current_timestamp": true, "current_user": true, "default": true, "deferrable": true,
	"desc": true, "distinct": true, "do": true, "else": true, "end": true, "except": true, "false": true, "fetch": true,
	"for": true, "foreign": true, "from": true, "grant": true, "group": true, "having": true, "in": true,
	"initially": true, "intersect": true, "into": true, "lateral": true, "leading": true, "limit": true,
	"localtime": true, "localtimestamp": true, "not": true, "null": true, "offset": true, "on": true, "only": true,
	"or": true, "order": true, "placing": true, "primary": true, "references": true, "returning": true,
	"select": true, "session_user": true, "some": true, "symmetric": true, "table": true, "then": true, "to": true,
	"trailing": true, "true": true, "union": true, "unique": true, "user": true, "using": true, "variadic": true,
	"when": true, "where": true, "window": true, "with": true,
	"authorization": true, "binary": true, "collation": true, "concurrently": true, "cross": true,
	"current_schema": true, "freeze": true, "full": true, "ilike": true, "inner": true, "is": true, "isnull": true,
	"join": true, "left": true, "like": true, "natural": true, "notnull": true, "outer": true, "overlaps": true,
	"right": true, "similar": true, "tablesample": true, "verbose": true,
	// Column-name keywords, which name functions and types.
	"between": true, "bigint": true, "bit": true, "boolean": true, "char": true, "character": true, "coalesce": true,
	"dec": true, "decimal": true, "exists": true, "extract": true, "float": true, "greatest": true, "grouping": true,
	"inout": true, "int": true, "integer": true, "interval": true, "least": true, "national": true, "nchar": true,
	"none": true, "normalize": true, "numeric": true, "out": true, "overlay": true, "position": true, "precision": true,
	"real": true, "row": true, "setof": true, "smallint": true, "substring": true, "time": true, "timestamp": true,
	"treat": true, "trim": true, "values": true, "varchar": true,
}

// QuoteLiteral quotes a string literal as quote_literal does (E” when
// it holds a backslash).
func QuoteLiteral(s string) string {
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		return "E" + strings.ReplaceAll(q, `\`, `\\`)
	}
	return q
}

// textFunc is an EvalTyped function producing text.
type textFunc func(env *Env, argTypes []types.T, args []arrow.Array, n int) (arrow.Array, error)

// untyped adapts it for callers that do not pass argument types.
func (f textFunc) untyped(t types.T) ScalarFunc {
	return func(env *Env, args []arrow.Array, n int) (arrow.Array, error) {
		ts := make([]types.T, len(args))
		for i := range ts {
			ts[i] = t
		}
		return f(env, ts, args, n)
	}
}

// anyToTextFunc applies f to the text form of any value; with nullable a
// NULL gives the string NULL.
func anyToTextFunc(f func(string) string, nullable bool) textFunc {
	return func(env *Env, argTypes []types.T, args []arrow.Array, n int) (arrow.Array, error) {
		b := array.NewStringBuilder(types.Mem)
		defer b.Release()
		for i := 0; i < n; i++ {
			if args[0].IsNull(i) {
				if nullable {
					b.Append("NULL")
				} else {
					b.AppendNull()
				}
				continue
			}
			b.Append(f(string(appendAsText(nil, args[0], i, argTypes[0], env))))
		}
		return b.NewArray(), nil
	}
}

// concatFunc is concat (NULLs skipped) and concat_ws (first argument is
// the separator; a NULL separator gives NULL).
func concatFunc(ws bool) textFunc {
	return func(env *Env, argTypes []types.T, args []arrow.Array, n int) (arrow.Array, error) {
		b := array.NewStringBuilder(types.Mem)
		defer b.Release()
		var buf []byte
		for i := 0; i < n; i++ {
			buf = buf[:0]
			first := 0
			var sep []byte
			if ws {
				if args[0].IsNull(i) {
					b.AppendNull()
					continue
				}
				sep = appendAsText(nil, args[0], i, argTypes[0], env)
				first = 1
			}
			wrote := false
			for j := first; j < len(args); j++ {
				if args[j].IsNull(i) {
					continue
				}
				if ws && wrote {
					buf = append(buf, sep...)
				}
				buf = appendAsText(buf, args[j], i, argTypes[j], env)
				wrote = true
			}
			b.BinaryBuilder.Append(buf)
		}
		return b.NewArray(), nil
	}
}

// formatFunc is format(fmt, args...) with %s, %I, %L, %% and positions
// (%2$s) and widths (%-10s).
func formatFunc(env *Env, argTypes []types.T, args []arrow.Array, n int) (arrow.Array, error) {
	b := array.NewStringBuilder(types.Mem)
	defer b.Release()
	for i := 0; i < n; i++ {
		if args[0].IsNull(i) {
			b.AppendNull()
			continue
		}
		f := args[0].(*array.String).Value(i)
		var sb strings.Builder
		next := 1
		for k := 0; k < len(f); k++ {
			c := f[k]
			if c != '%' {
				sb.WriteByte(c)
				continue
			}
			k++
			if k >= len(f) {
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "unterminated format() type specifier").
					WithHint(`For a single "%%" use "%%%%".`)
			}
			if f[k] == '%' {
				sb.WriteByte('%')
				continue
			}
			// [argpos$][flags][width]type
			j := k
			for j < len(f) && f[j] >= '0' && f[j] <= '9' {
				j++
			}
			argPos := 0
			if j < len(f) && f[j] == '$' && j > k {
				argPos, _ = strconv.Atoi(f[k:j])
				k = j + 1
			}
			minus := false
			if k < len(f) && f[k] == '-' {
				minus = true
				k++
			}
			j = k
			for j < len(f) && f[j] >= '0' && f[j] <= '9' {
				j++
			}
			width := 0
			if j > k {
				width, _ = strconv.Atoi(f[k:j])
			}
			k = j
			if k >= len(f) {
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "unterminated format() type specifier").
					WithHint(`For a single "%%" use "%%%%".`)
			}
			typ := f[k]
			if typ != 's' && typ != 'I' && typ != 'L' {
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized format() type specifier \"%c\"", typ).
					WithHint(`For a single "%%" use "%%%%".`)
			}
			if argPos > 0 {
				next = argPos
			}
			if next >= len(args) {
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "too few arguments for format()")
			}
			arg := args[next]
			var val string
			isNull := arg.IsNull(i)
			if !isNull {
				val = string(appendAsText(nil, arg, i, argTypes[next], env))
			}
			next++
			switch typ {
			case 'I':
				if isNull {
					return nil, sqlerr.New(sqlerr.NullValueNotAllowed, "null values cannot be formatted as an SQL identifier")
				}
				val = QuoteIdent(val)
			case 'L':
				if isNull {
					val = "NULL"
				} else {
					val = QuoteLiteral(val)
				}
			}
			if pad := width - utf8.RuneCountInString(val); pad > 0 {
				if minus {
					val += strings.Repeat(" ", pad)
				} else {
					val = strings.Repeat(" ", pad) + val
				}
			}
			sb.WriteString(val)
		}
		b.Append(sb.String())
	}
	return b.NewArray(), nil
}

// translateReplacement turns PostgreSQL's \1 and \& into Go's ${1}, ${0}.
func translateReplacement(r string) string {
	var sb strings.Builder
	for k := 0; k < len(r); k++ {
		c := r[k]
		switch {
		case c == '\\' && k+1 < len(r) && r[k+1] >= '0' && r[k+1] <= '9':
			fmt.Fprintf(&sb, "${%c}", r[k+1])
			k++
		case c == '\\' && k+1 < len(r) && r[k+1] == '&':
			sb.WriteString("${0}")
			k++
		case c == '\\' && k+1 < len(r):
			sb.WriteByte(r[k+1])
			k++
		case c == '$':
			sb.WriteString("$$")
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}
