package udf

import (
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// to_char / to_timestamp / to_date template patterns (formatting.c), the
// commonly used subset.

var monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
var dayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// timePatterns are matched longest first at each position.
var timePatterns = []string{
	"HH24", "HH12", "HH", "MI", "SS", "MS", "US", "AM", "PM", "am", "pm", "A.M.", "P.M.",
	"YYYY", "YYY", "YY", "Y", "IYYY", "MONTH", "Month", "month", "MON", "Mon", "mon", "MM",
	"DAY", "Day", "day", "DY", "Dy", "dy", "DDD", "DD", "D", "ID", "WW", "IW", "Q", "TZ", "tz", "CC", "J",
}

// foldPatterns are the patterns whose output does not depend on the
// case they are written in: PostgreSQL takes them in lower case too
// ('yyyy-mm-dd', 'hh24:mi'), while the case of a name (Month, month,
// MONTH) says how to write it.
var foldPatterns = []string{
	"HH24", "HH12", "HH", "MI", "SS", "MS", "US", "YYYY", "YYY", "YY", "Y", "IYYY", "MM",
	"DDD", "DD", "D", "ID", "WW", "IW", "Q", "CC", "J",
}

// matchPattern returns the pattern at the start of s: the longest of
// timePatterns as written, or else of foldPatterns in any case.
func matchPattern(s string) string {
	for _, p := range timePatterns {
		if strings.HasPrefix(s, p) {
			return p
		}
	}
	for _, p := range foldPatterns {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return p
		}
	}
	return ""
}

func toCharTime(f tmFields, format, zone string) string {
	return string(appendToChar(nil, compileToChar(format), f, zone))
}

// toCharItem is one piece of a compiled to_char template: literal text,
// or a pattern with its FM (fill mode) prefix.
type toCharItem struct {
	lit string
	pat string
	fm  bool
}

// compileToChar splits a to_char template into its pieces, once per
// template rather than once per value.
func compileToChar(format string) []toCharItem {
	var items []toCharItem
	lit := func(s string) {
		if n := len(items); n > 0 && items[n-1].pat == "" {
			items[n-1].lit += s
			return
		}
		items = append(items, toCharItem{lit: s})
	}
	for k := 0; k < len(format); {
		if format[k] == '"' {
			end := strings.IndexByte(format[k+1:], '"')
			if end < 0 {
				lit(format[k+1:])
				break
			}
			lit(format[k+1 : k+1+end])
			k += end + 2
			continue
		}
		if format[k] == '\\' && k+1 < len(format) {
			lit(format[k+1 : k+2])
			k += 2
			continue
		}
		fm := false
		if strings.HasPrefix(format[k:], "FM") || strings.HasPrefix(format[k:], "fm") {
			fm = true
			k += 2
		}
		pat := matchPattern(format[k:])
		if pat == "" {
			if k < len(format) {
				lit(format[k : k+1])
			}
			k++
			continue
		}
		k += len(pat)
		items = append(items, toCharItem{pat: pat, fm: fm})
	}
	return items
}

// appendToCharNum appends v zero-padded to width (as %0*d), or as is in
// fill mode.
func appendToCharNum(b []byte, v, width int, fm bool) []byte {
	if fm {
		return strconv.AppendInt(b, int64(v), 10)
	}
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(v), 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// appendToChar renders the compiled template for the fields f.
func appendToChar(b []byte, items []toCharItem, f tmFields, zone string) []byte {
	h12 := f.hour % 12
	if h12 == 0 {
		h12 = 12
	}
	year := f.year
	if year <= 0 && !f.interval {
		year = -year + 1
	}
	for _, it := range items {
		if it.pat == "" {
			b = append(b, it.lit...)
			continue
		}
		num := func(v, width int) { b = appendToCharNum(b, v, width, it.fm) }
		word := func(s string, width int) {
			b = append(b, s...)
			if !it.fm {
				for i := len(s); i < width; i++ {
					b = append(b, ' ')
				}
			}
		}
		ampm := func(am, pm string) {
			if f.hour >= 12 {
				b = append(b, pm...)
			} else {
				b = append(b, am...)
			}
		}
		switch pat := it.pat; pat {
		case "HH24":
			num(f.hour, 2)
		case "HH12", "HH":
			num(h12, 2)
		case "MI":
			num(f.min, 2)
		case "SS":
			num(f.sec, 2)
		case "MS":
			num(f.usec/1000, 3)
		case "US":
			num(f.usec, 6)
		case "AM", "PM":
			ampm("AM", "PM")
		case "am", "pm":
			ampm("am", "pm")
		case "A.M.", "P.M.":
			ampm("A.M.", "P.M.")
		case "YYYY", "IYYY":
			num(year, 4)
		case "YYY":
			num(year%1000, 3)
		case "YY":
			num(year%100, 2)
		case "Y":
			num(year%10, 1)
		case "CC":
			num((year+99)/100, 2)
		case "MONTH", "Month", "month", "MON", "Mon", "mon":
			if f.month < 1 {
				break
			}
			name := monthNames[f.month-1]
			width := 9
			if len(pat) == 3 {
				name, width = name[:3], 3
			}
			word(caseLike(name, pat), width)
		case "DAY", "Day", "day", "DY", "Dy", "dy":
			name := dayNames[f.wday]
			width := 9
			if len(pat) == 2 {
				name, width = name[:3], 3
			}
			word(caseLike(name, pat), width)
		case "MM":
			num(f.month, 2)
		case "DDD":
			num(f.yday, 3)
		case "DD":
			num(f.day, 2)
		case "D":
			num(f.wday+1, 1)
		case "ID":
			w := f.wday
			if w == 0 {
				w = 7
			}
			num(w, 1)
		case "WW":
			num((f.yday-1)/7+1, 2)
		case "IW":
			num(isoWeek(f), 2)
		case "Q":
			num((f.month-1)/3+1, 1)
		case "J":
			num(int(types.DateFromYMD(f.year, f.month, f.day))+2440588, 1)
		case "TZ":
			b = append(b, strings.ToUpper(zone)...)
		case "tz":
			b = append(b, strings.ToLower(zone)...)
		}
	}
	return b
}

func isoWeek(f tmFields) int {
	d := types.DateFromYMD(f.year, f.month, f.day)
	_, w := types.DateToTime(d).ISOWeek()
	return w
}

// caseLike gives name the capitalization of the pattern (MONTH, Month, month).
func caseLike(name, pat string) string {
	switch {
	case pat == strings.ToUpper(pat):
		return strings.ToUpper(name)
	case pat == strings.ToLower(pat):
		return strings.ToLower(name)
	}
	return name
}

// parseWithFormat reads s by a to_timestamp/to_date template. It returns
// the wall-clock timestamp and, when the input had a TZH offset, that
// offset in seconds.
func parseWithFormat(s, format string) (types.Timestamp, bool, int, error) {
	f := tmFields{year: 1, month: 1, day: 1}
	pm, hasAMPM := false, false
	hasTZ, off := false, 0
	si := 0
	readNum := func(maxDigits int) (int, error) {
		for si < len(s) && s[si] == ' ' {
			si++
		}
		neg := false
		if si < len(s) && s[si] == '-' {
			neg = true
			si++
		}
		start := si
		for si < len(s) && si-start < maxDigits && s[si] >= '0' && s[si] <= '9' {
			si++
		}
		if si == start {
			return 0, sqlerr.New(sqlerr.InvalidDatetimeFormat, "invalid value \"%s\" for \"%s\"", rest(s, start), format)
		}
		v, _ := strconv.Atoi(s[start:si])
		if neg {
			v = -v
		}
		return v, nil
	}
	for k := 0; k < len(format); {
		if strings.HasPrefix(format[k:], "FM") {
			k += 2
			continue
		}
		pat := ""
		for _, p := range append([]string{"TZH", "TZM"}, timePatterns...) {
			if strings.HasPrefix(format[k:], p) {
				pat = p
				break
			}
		}
		if pat == "" {
			// A separator in the template skips one input character.
			if si < len(s) && (s[si] == format[k] || !isAlnum(s[si])) {
				si++
			}
			k++
			continue
		}
		k += len(pat)
		if nf, ok := numericTemplateFields[pat]; ok {
			v, err := readNum(nf.digits)
			if err != nil {
				return 0, false, 0, err
			}
			*nf.field(&f) = v * nf.scale
			continue
		}
		var err error
		var v int
		switch pat {
		case "YY":
			v, err = readNum(2)
			f.year = v + 2000
			if v >= 70 {
				f.year = v + 1900
			}
		case "AM", "PM", "am", "pm":
			hasAMPM = true
			if si+2 <= len(s) {
				pm = strings.EqualFold(s[si:si+2], "pm")
				si += 2
			}
		case "MON", "Mon", "mon", "MONTH", "Month", "month":
			found := false
			for mi, name := range monthNames {
				n := name
				if len(pat) == 3 {
					n = name[:3]
				}
				if len(s)-si >= len(n) && strings.EqualFold(s[si:si+len(n)], n) {
					f.month = mi + 1
					si += len(n)
					found = true
					break
				}
			}
			if !found {
				return 0, false, 0, sqlerr.New(sqlerr.InvalidDatetimeFormat, "invalid value \"%s\" for \"%s\"", rest(s, si), pat)
			}
		case "TZH":
			v, err = readNum(2)
			hasTZ, off = true, v*3600
		case "TZM":
			v, err = readNum(2)
			if off < 0 {
				off -= v * 60
			} else {
				off += v * 60
			}
		default:
			// Day names and other output-only fields: skip a word.
			for si < len(s) && isAlnum(s[si]) {
				si++
			}
		}
		if err != nil {
			return 0, false, 0, err
		}
	}
	if hasAMPM {
		if f.hour == 12 {
			f.hour = 0
		}
		if pm {
			f.hour += 12
		}
	}
	if f.month < 1 || f.month > 12 || f.day < 1 || f.day > dayTab[leap(f.year)][f.month-1] ||
		f.hour > 24 || f.min > 59 || f.sec > 60 {
		return 0, false, 0, sqlerr.New(sqlerr.DatetimeFieldOverflow, "date/time field value out of range: \"%s\"", s)
	}
	return fromFields(f), hasTZ, off, nil
}

// numericTemplateFields are the plain numeric fields of to_timestamp and
// to_date templates: how many digits each reads at most, the factor its
// value is scaled by and the field it sets.
var numericTemplateFields = map[string]struct {
	digits, scale int
	field         func(*tmFields) *int
}{
	"YYYY": {4, 1, func(f *tmFields) *int { return &f.year }}, "IYYY": {4, 1, func(f *tmFields) *int { return &f.year }},
	"MM": {2, 1, func(f *tmFields) *int { return &f.month }},
	"DD": {2, 1, func(f *tmFields) *int { return &f.day }}, "DDD": {3, 1, func(f *tmFields) *int { return &f.day }},
	"HH24": {2, 1, func(f *tmFields) *int { return &f.hour }}, "HH": {2, 1, func(f *tmFields) *int { return &f.hour }}, "HH12": {2, 1, func(f *tmFields) *int { return &f.hour }},
	"MI": {2, 1, func(f *tmFields) *int { return &f.min }},
	"SS": {2, 1, func(f *tmFields) *int { return &f.sec }},
	"MS": {3, 1000, func(f *tmFields) *int { return &f.usec }}, "US": {6, 1, func(f *tmFields) *int { return &f.usec }},
}

func rest(s string, i int) string {
	if i >= len(s) {
		return ""
	}
	return s[i:]
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// toCharNumber formats a number by a numeric template: 9 (digit or
// space), 0 (digit), . or D (decimal point), , or G (group separator),
// FM (no padding), S (sign), PR (angle brackets), MI (minus).
func toCharNumber(d *apd.Decimal, format string) string {
	fm := strings.Contains(format, "FM")
	f := strings.ReplaceAll(format, "FM", "")
	pr := strings.HasSuffix(f, "PR")
	f = strings.TrimSuffix(f, "PR")
	intDigits, fracDigits := 0, 0
	point := strings.IndexAny(f, ".D")
	for k, c := range f {
		if c == '9' || c == '0' {
			if point >= 0 && k > point {
				fracDigits++
			} else {
				intDigits++
			}
		}
	}
	ctx := *types.DecimalCtx
	r := new(apd.Decimal)
	_, _ = ctx.Quantize(r, d, -int32(fracDigits))
	neg := r.Negative && !r.IsZero()
	r.Negative = false
	txt := r.Text('f')
	ip, fp := txt, ""
	if i := strings.IndexByte(txt, '.'); i >= 0 {
		ip, fp = txt[:i], txt[i+1:]
	}
	if len(ip) > intDigits {
		// Overflow: PostgreSQL prints # for every digit position.
		return " " + strings.Map(func(c rune) rune {
			if c == '9' || c == '0' {
				return '#'
			}
			return c
		}, f)
	}
	if ip == "0" {
		ip = ""
	}
	var out []rune
	// Integer part, right-aligned into the template's digit positions.
	intTpl := f
	fracTpl := ""
	if point >= 0 {
		intTpl, fracTpl = f[:point], f[point+1:]
	}
	digits := []rune(strings.Repeat(" ", intDigits-len(ip)) + ip)
	di := 0
	started := false
	for _, c := range intTpl {
		switch c {
		case '9', '0':
			ch := digits[di]
			di++
			if ch == ' ' {
				if c == '0' || started {
					ch = '0'
					started = true
				} else if fm {
					continue
				}
			} else {
				started = true
			}
			out = append(out, ch)
		case ',', 'G':
			if started {
				out = append(out, ',')
			} else if !fm {
				out = append(out, ' ')
			}
		case 'S', 'M', 'I', 'L':
		default:
			out = append(out, c)
		}
	}
	if point >= 0 {
		out = append(out, '.')
		fi := 0
		for _, c := range fracTpl {
			if c == '9' || c == '0' {
				if fi < len(fp) {
					out = append(out, rune(fp[fi]))
				}
				fi++
			} else if c != 'S' {
				out = append(out, c)
			}
		}
		if fm {
			s := strings.TrimRight(string(out), "0")
			out = []rune(s)
		}
	}
	if !started && point < 0 {
		out = append(out[:len(out)-min(len(out), 0)], '0')
	}
	s := string(out)
	if fm {
		s = strings.TrimLeft(s, " ")
	}
	sign := " "
	if neg {
		sign = "-"
	}
	switch {
	case strings.HasPrefix(f, "S"):
		if !neg {
			sign = "+"
		}
		if fm {
			return sign + s
		}
		trim := strings.TrimLeft(s, " ")
		return strings.Repeat(" ", len(s)-len(trim)) + sign + trim
	case strings.HasSuffix(f, "S"):
		if !neg {
			sign = "+"
		}
		return s + sign
	case pr:
		if neg {
			return "<" + strings.TrimLeft(s, " ") + ">"
		}
		if fm {
			return s
		}
		return " " + s + " "
	}
	if fm {
		if neg {
			return "-" + s
		}
		return s
	}
	// The sign goes right before the first digit.
	trim := strings.TrimLeft(s, " ")
	pad := len(s) - len(trim)
	return strings.Repeat(" ", pad) + sign + trim
}

// toCharTimestamps is to_char(timestamp[tz], text) over columns: the
// template is compiled once per run of equal templates (nearly always
// once per batch) and each value rendered into one reused buffer.
func toCharTimestamps(aware bool) ScalarFunc {
	return func(env *Env, args []arrow.Array, n int) (arrow.Array, error) {
		vals := args[0].(*array.Timestamp).TimestampValues()
		formats := strs(args[1])
		vb := validBits(validity(n, args[0], args[1]))
		b := array.NewStringBuilder(typesMem())
		defer b.Release()
		b.Reserve(n)
		var (
			buf    []byte
			items  []toCharItem
			format string
			loc    = env.loc()
		)
		for i := 0; i < n; i++ {
			if !rowValid(vb, i) {
				b.AppendNull()
				continue
			}
			if f := formats.Value(i); items == nil || f != format {
				format, items = f, compileToChar(f)
			}
			v := types.Timestamp(vals[i])
			zone := ""
			if aware {
				zone, _ = time.UnixMicro(int64(v)).In(loc).Zone()
				v = utcToLocal(v, loc)
			}
			buf = appendToChar(buf[:0], items, fieldsOf(v), zone)
			b.BinaryBuilder.Append(buf)
		}
		return b.NewArray(), nil
	}
}
