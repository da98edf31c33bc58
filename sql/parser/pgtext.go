package parser

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"streamsql/sql/sqlerr"
)

// pgText is text handed to PostgreSQL's grammar: a copy of src[base:]
// in which extension clauses have been blanked out byte for byte, so that
// every byte offset in it is an offset in src once base is added. Suffix
// text appended after the copied range has no counterpart in src.
type pgText struct {
	src  string
	base int
	buf  []byte
	// next is the token that follows the text in src, if any: an "end of
	// input" error of the grammar is reported at it instead, as PostgreSQL
	// would when parsing the statement whole.
	next *token
	// shallow lets the grammar run on the caller's thread; otherwise it
	// runs on a thread with a large stack (cstack.go).
	shallow bool
}

func newPGText(src string, from, to int) *pgText {
	return &pgText{src: src, base: from, buf: []byte(src[from:to])}
}

// blank overwrites src[from:to] with spaces.
func (t *pgText) blank(from, to int) {
	for i := from - t.base; i < to-t.base; i++ {
		t.buf[i] = ' '
	}
}

// put overwrites src[at:at+len(s)] with s.
func (t *pgText) put(at int, s string) { copy(t.buf[at-t.base:], s) }

// parse runs PostgreSQL's grammar over the text. Locations in the result
// are shifted to byte offsets in src; errors are positioned in src.
func (t *pgText) parse() ([]*pg_query.RawStmt, error) {
	clauses, err := t.cutSystemTime()
	if err != nil {
		return nil, err
	}
	mrs, err := t.cutMatchRecognize()
	if err != nil {
		return nil, err
	}
	if err := t.cutAsof(); err != nil {
		return nil, err
	}
	text := string(t.buf)
	var res *pg_query.ParseResult
	if t.shallow {
		res, err = pg_query.Parse(text)
	} else {
		res, err = onCStack(func() (*pg_query.ParseResult, error) { return pg_query.Parse(text) })
	}
	if err != nil {
		pe := sqlerr.From(pgError(err, text, t.base, t.src))
		if t.next != nil && strings.HasSuffix(pe.Message, "at end of input") {
			pe.Message = strings.TrimSuffix(pe.Message, "at end of input") + `at or near "` + t.next.text(t.src) + `"`
			pe.Position = charPos(t.src, t.next.start)
		}
		return nil, pe
	}
	if t.base != 0 {
		for _, s := range res.Stmts {
			shiftLocations(s.ProtoReflect(), int32(t.base))
		}
	}
	if len(clauses) > 0 {
		if err := t.markSystemTime(res.Stmts, clauses); err != nil {
			return nil, err
		}
	}
	if len(mrs) > 0 {
		if err := t.markMatchRecognize(res.Stmts, mrs); err != nil {
			return nil, err
		}
	}
	return res.Stmts, nil
}

// parseFragment parses src[from:to] placed after prefix (e.g. "SELECT ").
// Every fragment of an extension statement has keywords before it, so the
// prefix fits in the bytes before from and offsets stay those of src.
func parseFragment(src, prefix string, from, to int, next *token) ([]*pg_query.RawStmt, error) {
	base := max(from-len(prefix)-1, 0)
	t := &pgText{src: src, base: base, next: next}
	t.buf = make([]byte, 0, to-base)
	for i := base; i < from-len(prefix)-1; i++ {
		t.buf = append(t.buf, ' ')
	}
	t.buf = append(t.buf, prefix...)
	t.buf = append(t.buf, ' ')
	t.buf = append(t.buf, src[from:to]...)
	return t.parse()
}

// shiftLocations adds delta to every non-negative *location field of m and
// the messages beneath it. Location fields are visited through the
// descriptor because Range skips fields that hold zero, a valid offset.
func shiftLocations(m protoreflect.Message, delta int32) {
	walkMessages(m, func(m protoreflect.Message) {
		fields := m.Descriptor().Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			if fd.Kind() == protoreflect.Int32Kind && !fd.IsList() && strings.HasSuffix(string(fd.Name()), "location") {
				if v := m.Get(fd).Int(); v >= 0 {
					m.Set(fd, protoreflect.ValueOfInt32(int32(v)+delta))
				}
			}
		}
	})
}

// pgVersion is the PostgreSQL version of pg_query_go's grammar, which its
// deparser insists on finding in the tree (a test keeps it in step).
const pgVersion = 170007

// Deparse renders a statement node as SQL text (PostgreSQL's own deparser).
func Deparse(node *pg_query.Node) (string, error) {
	if node == nil {
		return "", sqlerr.New(sqlerr.InternalError, "deparse: nil node")
	}
	s, err := deparseSystemTime(node, func() (string, error) {
		return deparseMatchRecognize(node, func() (string, error) {
			return deparseAsof(node, func() (string, error) {
				// Trees come from users: deparse on a thread with a known stack.
				return onCStack(func() (string, error) {
					return pg_query.Deparse(&pg_query.ParseResult{Version: pgVersion, Stmts: []*pg_query.RawStmt{{Stmt: node}}})
				})
			})
		})
	})
	if err != nil {
		return "", sqlerr.Wrap(err, sqlerr.InternalError)
	}
	return s, nil
}

// DeparseExpr renders an expression node as SQL text.
func DeparseExpr(expr *pg_query.Node) (string, error) {
	if expr == nil {
		return "", sqlerr.New(sqlerr.InternalError, "deparse: nil expression")
	}
	sel := &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: &pg_query.SelectStmt{
		TargetList: []*pg_query.Node{pg_query.MakeResTargetNodeWithVal(expr, -1)},
	}}}
	s, err := Deparse(sel)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(s, "SELECT "), nil
}
