package sqllogictest

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Value is one result cell in the server's text format; nil is SQL NULL.
type Value []byte

// formatValue renders a cell the way the record's format prints it. typ is
// the column's type letter (classic files only; 0 for sqllogictest-rs).
func formatValue(v Value, typ byte, format Format) string {
	if v == nil {
		return "NULL"
	}
	if format == FormatRS {
		if len(v) == 0 {
			return "(empty)"
		}
		return string(v)
	}
	switch typ {
	case 'I':
		return formatInteger(string(v))
	case 'R':
		return formatReal(string(v))
	default:
		if len(v) == 0 {
			return "(empty)"
		}
		// The classic harness prints control and non-ASCII bytes as '@'.
		b := []byte(string(v))
		for i, c := range b {
			if c < ' ' || c > '~' {
				b[i] = '@'
			}
		}
		return string(b)
	}
}

var numericPrefixRE = regexp.MustCompile(`^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?`)

// formatInteger prints a value as an integer: integral text as is,
// fractional numbers truncated toward zero, booleans as 0/1 and other text
// as its numeric prefix (or 0), like SQLite's conversion.
func formatInteger(s string) string {
	switch s {
	case "t", "true":
		return "1"
	case "f", "false":
		return "0"
	}
	m := numericPrefixRE.FindString(s)
	if m == "" {
		return "0"
	}
	m = strings.TrimSpace(m)
	if i, err := strconv.ParseInt(m, 10, 64); err == nil {
		return strconv.FormatInt(i, 10)
	}
	if !strings.ContainsAny(m, "eE") {
		// Decimal text: cut the fraction; big integers stay exact.
		neg := strings.HasPrefix(m, "-")
		m = strings.TrimLeft(m, "+-")
		if i := strings.IndexByte(m, '.'); i >= 0 {
			m = m[:i]
		}
		m = strings.TrimLeft(m, "0")
		if m == "" {
			return "0"
		}
		if neg {
			return "-" + m
		}
		return m
	}
	f, ok := new(big.Float).SetString(m)
	if !ok {
		return "0"
	}
	i, _ := f.Int(nil) // truncates toward zero
	return i.String()
}

// formatReal prints a value with three decimals.
func formatReal(s string) string {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		m := numericPrefixRE.FindString(s)
		f, _ = strconv.ParseFloat(strings.TrimSpace(m), 64)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return s
	}
	return strconv.FormatFloat(f, 'f', 3, 64) // like printf("%.3f")
}

// hashValues is the classic harness's MD5: every value followed by "\n".
func hashValues(values []string) string {
	h := md5.New()
	for _, v := range values {
		h.Write([]byte(v))
		h.Write([]byte("\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// collapse joins the whitespace-separated words of s with single spaces.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// formatRows renders result rows as strings per cell.
func formatRows(rows [][]Value, types string, format Format) [][]string {
	out := make([][]string, len(rows))
	for i, row := range rows {
		cells := make([]string, len(row))
		for j, v := range row {
			var typ byte
			if format == FormatClassic {
				typ = 'T'
				if j < len(types) {
					typ = types[j]
				}
			}
			cells[j] = formatValue(v, typ, format)
		}
		out[i] = cells
	}
	return out
}

// sortRows orders rows by comparing cells left to right as strings.
func sortRows(rows [][]string) {
	sort.SliceStable(rows, func(a, b int) bool {
		ra, rb := rows[a], rows[b]
		for i := 0; i < len(ra) && i < len(rb); i++ {
			if ra[i] != rb[i] {
				return ra[i] < rb[i]
			}
		}
		return len(ra) < len(rb)
	})
}

// checkResult compares query rows with a record's expectation. It returns a
// readable mismatch description, or "" when they agree; got is the actual
// result in the record's own notation, for failure reports (for a hash, the
// hash line followed by the rows).
func checkResult(rec *Record, rows [][]Value, ncols int) (mismatch string, got []string) {
	if rec.Format == FormatClassic && rec.Types != "" && ncols != len(rec.Types) && len(rows) > 0 {
		return fmt.Sprintf("query returned %d columns, type string %q says %d", ncols, rec.Types, len(rec.Types)), nil
	}
	cells := formatRows(rows, rec.Types, rec.Format)
	var values []string // every cell, row-major, after sorting
	switch rec.Sort {
	case RowSort:
		sortRows(cells)
	}
	for _, r := range cells {
		values = append(values, r...)
	}
	if rec.Sort == ValueSort {
		sort.Strings(values)
	}

	if rec.HasHash {
		h := hashValues(values)
		got = []string{fmt.Sprintf("%d values hashing to %s", len(values), h)}
		if len(values) != rec.HashN || h != rec.Hash {
			// The rows themselves, to see what differs from the reference.
			return "hash mismatch", append(got, rowLines(cells)...)
		}
		return "", got
	}

	if rec.Format == FormatClassic {
		got = values
		exp := make([]string, len(rec.Expected))
		for i, e := range rec.Expected {
			exp[i] = strings.TrimRight(e, " \t")
		}
		if equalStrings(exp, values) {
			return "", got
		}
		// Some classic files put a whole row on one line: accept that too.
		if ncols > 1 && len(exp) == len(cells) && len(cells) > 0 {
			lines := rowLines(cells)
			ce := collapseAll(exp)
			if rec.Sort == RowSort {
				sort.Strings(ce)
				sort.Strings(lines)
			}
			if equalStrings(ce, lines) {
				return "", rowLines(cells)
			}
		}
		return "result mismatch", got
	}

	// sqllogictest-rs: one row per line, whitespace collapsed.
	exp := collapseAll(rec.Expected)
	switch rec.Sort {
	case RowSort:
		got = rowLines(cells)
		sortedGot := append([]string(nil), got...)
		sort.Strings(sortedGot)
		sort.Strings(exp)
		if equalStrings(exp, sortedGot) {
			return "", got
		}
	case ValueSort:
		got = values
		var ev []string
		for _, e := range exp {
			ev = append(ev, strings.Fields(e)...)
		}
		sort.Strings(ev)
		if equalStrings(ev, values) {
			return "", got
		}
	default:
		got = rowLines(cells)
		if equalStrings(exp, got) {
			return "", got
		}
	}
	return "result mismatch", got
}

func rowLines(cells [][]string) []string {
	out := make([]string, len(cells))
	for i, r := range cells {
		out[i] = collapse(strings.Join(r, " "))
	}
	return out
}

func collapseAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = collapse(l)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkError compares an error with a record's expectation ("" = matches).
// The regex is searched in the error's text, which includes the SQLSTATE, so
// both message and code can be matched. A multi-line expected error matches
// when its text, whitespace collapsed, occurs in the actual error's.
func checkError(rec *Record, errText string) string {
	if rec.ErrorRegex != "" {
		re, err := regexp.Compile(rec.ErrorRegex)
		if err != nil {
			// Not a valid Go regexp: fall back to a plain substring.
			if strings.Contains(errText, rec.ErrorRegex) {
				return ""
			}
			return fmt.Sprintf("error does not contain %q", rec.ErrorRegex)
		}
		if !re.MatchString(errText) {
			return fmt.Sprintf("error does not match /%s/", rec.ErrorRegex)
		}
	}
	if rec.ErrorText != "" && !strings.Contains(collapse(errText), collapse(rec.ErrorText)) {
		return "error text differs"
	}
	return ""
}
