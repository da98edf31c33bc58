package parser

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/sqlerr"
)

// describe renders parse results compactly for the datadriven files.
func describe(sql string, stmts []Statement, err error) string {
	var b strings.Builder
	if err != nil {
		var e *sqlerr.Error
		if !errors.As(err, &e) {
			return fmt.Sprintf("non-sqlerr error: %v\n", err)
		}
		fmt.Fprintf(&b, "error %s at %d: %s\n", e.Code, e.Position, e.Message)
		if e.Position > 0 {
			r := []rune(sql)
			if e.Position-1 <= len(r) {
				fmt.Fprintf(&b, "  near: %q\n", string(r[e.Position-1:min(len(r), e.Position-1+12)]))
			}
		}
		return b.String()
	}
	for i, st := range stmts {
		describeStmt(&b, sql, i+1, st, "")
	}
	if len(stmts) == 0 {
		b.WriteString("no statements\n")
	}
	return b.String()
}

func describeStmt(b *strings.Builder, sql string, n int, st Statement, indent string) {
	fmt.Fprintf(b, "%s%d: @%d %q\n", indent, n, st.Pos, st.SQL)
	if sql[st.Pos:st.Pos+len(st.SQL)] != st.SQL {
		fmt.Fprintf(b, "%s  !! SQL does not match input at Pos\n", indent)
	}
	if st.AST != nil {
		fmt.Fprintf(b, "%s  ast %s: %s\n", indent, nodeType(st.AST), deparseOr(st.AST))
	}
	if st.Ext != nil {
		describeExt(b, sql, st.Ext, indent+"  ")
	}
}

func nodeType(n *pg_query.Node) string {
	return strings.TrimPrefix(reflect.TypeOf(n.Node).Elem().Name(), "Node_")
}

func deparseOr(n *pg_query.Node) string {
	s, err := Deparse(n)
	if err != nil {
		return "<deparse: " + err.Error() + ">"
	}
	return s
}

func exprOr(n *pg_query.Node) string {
	s, err := DeparseExpr(n)
	if err != nil {
		return "<deparse: " + err.Error() + ">"
	}
	return s
}

func opts(o []Option) string {
	var parts []string
	for _, x := range o {
		v := x.Value
		if x.Quoted {
			v = "'" + v + "'"
		}
		parts = append(parts, x.Key+"="+v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func fmtSpec(f FormatSpec) string {
	if f.Format == "" {
		return ""
	}
	s := " format=" + f.Format + " encode=" + f.Encode
	if f.EncodeOptions != nil {
		s += " encode_options=" + opts(f.EncodeOptions)
	}
	return s
}

func wms(b *strings.Builder, sql string, ws []Watermark, indent string) {
	for _, w := range ws {
		fmt.Fprintf(b, "%swatermark %s @%d: %s  [%s]\n", indent, w.Column, w.ColumnPos, exprOr(w.Expr), w.ExprSQL)
		if sql[w.ColumnPos:w.ColumnPos+1] == "" {
			b.WriteString("!! bad ColumnPos\n")
		}
	}
}

func describeExt(b *strings.Builder, sql string, ext Ext, indent string) {
	switch x := ext.(type) {
	case *CreateSource:
		fmt.Fprintf(b, "%screate source %s@%d ifnotexists=%v appendonly=%v with=%s%s\n", indent,
			x.Name, x.Name.Pos, x.IfNotExists, x.AppendOnly, opts(x.Options), fmtSpec(x.FormatSpec))
		fmt.Fprintf(b, "%s  table: %s\n", indent, deparseOr(&pg_query.Node{Node: &pg_query.Node_CreateStmt{CreateStmt: x.Table}}))
		wms(b, sql, x.Watermarks, indent+"  ")
	case *CreateTableExt:
		fmt.Fprintf(b, "%stable ext appendonly=%v with=%s%s\n", indent, x.AppendOnly, opts(x.Options), fmtSpec(x.FormatSpec))
		wms(b, sql, x.Watermarks, indent+"  ")
	case *MatViewExt:
		fmt.Fprintf(b, "%smatview ext emit_on_window_close=%v query@%d=%q\n", indent, x.EmitOnWindowClose, x.QueryPos, x.QuerySQL)
	case *CreateSink:
		fmt.Fprintf(b, "%screate sink %s ifnotexists=%v", indent, x.Name, x.IfNotExists)
		if x.From != nil {
			fmt.Fprintf(b, " from=%s", x.From)
		}
		if x.Query != nil {
			fmt.Fprintf(b, " query@%d=%q [%s]", x.QueryPos, x.QuerySQL, deparseOr(x.Query))
		}
		fmt.Fprintf(b, " with=%s%s\n", opts(x.Options), fmtSpec(x.FormatSpec))
	case *DropObjects:
		var names []string
		for _, n := range x.Names {
			names = append(names, n.String())
		}
		fmt.Fprintf(b, "%sdrop %s %s ifexists=%v cascade=%v\n", indent, x.Kind, strings.Join(names, ","), x.IfExists, x.Cascade)
	case *AlterRename:
		fmt.Fprintf(b, "%salter %s %s rename to %s\n", indent, x.Kind, x.Name, x.NewName)
	case *Flush:
		fmt.Fprintf(b, "%sflush\n", indent)
	case *Subscribe:
		fmt.Fprintf(b, "%ssubscribe", indent)
		if x.Cursor != "" {
			fmt.Fprintf(b, " cursor=%s", x.Cursor)
		}
		if x.Since != "" {
			fmt.Fprintf(b, " since=%s", x.Since)
		}
		if x.SincePosition != "" {
			fmt.Fprintf(b, " since-position=%q", x.SincePosition)
		}
		if x.Full {
			b.WriteString(" full")
		}
		if x.Relation != nil {
			fmt.Fprintf(b, " relation=%s", x.Relation)
		}
		if x.Query != nil {
			fmt.Fprintf(b, " query@%d=%q [%s]", x.QueryPos, x.QuerySQL, deparseOr(x.Query))
		}
		if x.Upsert {
			fmt.Fprintf(b, " upsert=%v", x.UpsertKey)
		}
		if x.AsOf != "" {
			fmt.Fprintf(b, " asof@%d=%s", x.AsOfPos, x.AsOf)
		}
		if x.Declare != "" {
			fmt.Fprintf(b, " declare=%s hold=%v", x.Declare, x.Hold)
		}
		if x.Copy != nil {
			fmt.Fprintf(b, " copy=%d", len(x.Copy.Options))
		}
		fmt.Fprintf(b, " with=%s\n", opts(x.Options))
	case *AlterSubscription:
		fmt.Fprintf(b, "%salter subscription %s rename=%q set=%s\n", indent, x.Name, x.NewName, opts(x.Options))
	case *CreateSubscription:
		fmt.Fprintf(b, "%screate subscription %s from %s with=%s\n", indent, x.Name, x.From, opts(x.Options))
	case *FetchWith:
		fmt.Fprintf(b, "%sfetch %s direction=%d count=%d with=%s\n", indent, x.Fetch.Portalname, x.Fetch.Direction, x.Fetch.HowMany, opts(x.Options))
	case *ShowObjects:
		fmt.Fprintf(b, "%sshow %s", indent, x.What)
		if x.Schema != "" {
			fmt.Fprintf(b, " from %s", x.Schema)
		}
		b.WriteString("\n")
	case *Explain:
		fmt.Fprintf(b, "%sexplain %v\n", indent, x.Options)
		describeStmt(b, sql, 1, x.Stmt, indent+"  ")
	default:
		fmt.Fprintf(b, "%sunknown ext %T\n", indent, ext)
	}
}
