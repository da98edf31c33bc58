package connector

import (
	"fmt"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"streamsql/sql/sqlerr"
)

// Type is the type of an option's value.
type Type uint8

const (
	// String takes any text.
	String Type = iota
	// Int takes a decimal integer in [Min, Max].
	Int
	// Bool takes true/false (also on/off, yes/no, 1/0).
	Bool
	// Duration takes a Go duration ("500ms", "5s") or an integer number
	// of milliseconds.
	Duration
	// Enum takes one of Values, case-insensitively.
	Enum
	// HostPorts takes a comma-separated list of host:port.
	HostPorts
)

func (t Type) String() string {
	return [...]string{"string", "integer", "boolean", "duration", "enum", "host:port list"}[t]
}

// Option is one option of a connector's schema.
type Option struct {
	// Name is the option's key, lower-case. A '*' stands for one
	// dot-free segment chosen by the user (fields.*.kind).
	Name string
	Type Type
	// Values are an Enum's accepted values (lower-case).
	Values []string
	// Min and Max bound an Int (both zero: any integer).
	Min, Max int64
	// Required options must be given.
	Required bool
	// Default is the value used when the option is absent ("" for none).
	Default string
	// Secret options are masked wherever options are shown.
	Secret bool
	// Description says what the option does.
	Description string
}

// Login names the options of a connection to a PostgreSQL server in one
// connector's spelling.
type Login struct{ Host, Port, User, Password, Database string }

// Options are the login's options: the required host, user and database,
// the port (5432 by default) and the password, a secret. userDesc says
// what the user needs, database what the database holds.
func (l Login) Options(userDesc, database string) []Option {
	return []Option{
		{Name: l.Host, Type: String, Required: true, Description: "host of the PostgreSQL server"},
		{Name: l.Port, Type: Int, Min: 1, Max: 65535, Default: "5432", Description: "port of the PostgreSQL server"},
		{Name: l.User, Type: String, Required: true, Description: userDesc},
		{Name: l.Password, Type: String, Secret: true, Description: "the user's password"},
		{Name: l.Database, Type: String, Required: true, Description: database},
	}
}

// matches reports whether key (lower-case) is this option.
func (o *Option) matches(key string) bool {
	if !strings.Contains(o.Name, "*") {
		return o.Name == key
	}
	ps, ks := strings.Split(o.Name, "."), strings.Split(key, ".")
	if len(ps) != len(ks) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != ks[i] {
			return false
		}
		if ks[i] == "" {
			return false
		}
	}
	return true
}

// check validates a value of the option.
func (o *Option) check(conn, key, val string) error {
	bad := func(why string) error {
		return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for %s option %q: %q", conn, key, val).
			WithDetail("%s", why)
	}
	v := strings.TrimSpace(val)
	switch o.Type {
	case Int:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return bad("The value must be an integer.")
		}
		if (o.Min != 0 || o.Max != 0) && (n < o.Min || n > o.Max) {
			return bad(fmt.Sprintf("The value must be between %d and %d.", o.Min, o.Max))
		}
	case Bool:
		if _, ok := ParseBool(v); !ok {
			return bad("The value must be true or false.")
		}
	case Duration:
		if _, err := ParseDuration(v); err != nil {
			return bad("The value must be a duration such as '500ms' or '5s', or a number of milliseconds.")
		}
	case Enum:
		for _, x := range o.Values {
			if strings.EqualFold(x, v) {
				return nil
			}
		}
		return bad("The value must be one of " + strings.Join(quoteAll(o.Values), ", ") + ".")
	case HostPorts:
		if v == "" {
			return bad("The value must list host:port addresses.")
		}
		for _, hp := range strings.Split(v, ",") {
			if _, port, err := net.SplitHostPort(strings.TrimSpace(hp)); err != nil || port == "" {
				return bad(fmt.Sprintf("%q is not a host:port address.", strings.TrimSpace(hp)))
			}
		}
	}
	return nil
}

// ParseBool reads a boolean option value as PostgreSQL reads booleans.
func ParseBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "on", "yes", "1", "t", "y":
		return true, true
	case "false", "off", "no", "0", "f", "n":
		return false, true
	}
	return false, false
}

// ParseDuration reads a Duration option: a Go duration or a whole
// number of milliseconds.
func ParseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q", v)
	}
	return d, nil
}

// SortedKeys returns the keys of opts in order: a connector that checks
// its options in this order reports the same first error on every run.
func SortedKeys(opts map[string]string) []string {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// BadValue is the error for a value that option key of connector conn
// does not take; why says what it must be.
func BadValue(conn, key, val, why string) *sqlerr.Error {
	return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value %q for %s option %q: %s", val, conn, key, why)
}

// ParseInt parses an integer option of connector conn in [lo, hi].
func ParseInt(conn, key, val string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
	if err == nil && n >= lo && n <= hi {
		return n, nil
	}
	switch {
	case lo == 0 && hi == math.MaxInt64:
		return 0, BadValue(conn, key, val, "must be a non-negative integer")
	case hi == math.MaxInt64:
		return 0, BadValue(conn, key, val, fmt.Sprintf("must be an integer of at least %d", lo))
	}
	return 0, BadValue(conn, key, val, fmt.Sprintf("must be an integer from %d to %d", lo, hi))
}

// ColumnIndex finds the column a connector option names among cols:
// exactly, or else ignoring case; -1 when there is none.
func ColumnIndex(cols []string, name string) int {
	for i, c := range cols {
		if c == name {
			return i
		}
	}
	for i, c := range cols {
		if strings.EqualFold(c, name) {
			return i
		}
	}
	return -1
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = "'" + x + "'"
	}
	return out
}

// option returns the schema entry for key (lower-case), or nil.
func (c *Connector) option(key string) *Option {
	for i := range c.Options {
		if !strings.Contains(c.Options[i].Name, "*") && c.Options[i].Name == key {
			return &c.Options[i]
		}
	}
	for i := range c.Options {
		if c.Options[i].matches(key) {
			return &c.Options[i]
		}
	}
	return nil
}

// optionNames lists the valid option names, sorted, for error hints.
func (c *Connector) optionNames() []string {
	names := []string{"connector"}
	for _, o := range c.Options {
		names = append(names, o.Name)
	}
	sort.Strings(names[1:])
	return names
}

// Validate checks WITH options against the schema: every key known and
// well-formed, every required one present. It returns the options with
// lower-case keys and defaults filled in. Keys are checked in sorted
// order, so the error reported first does not depend on map order.
func (c *Connector) Validate(opts map[string]string) (Options, error) {
	out := Options{}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(strings.TrimSpace(k))
		v := opts[k]
		if lk == "connector" {
			out[lk] = strings.ToLower(strings.TrimSpace(v))
			continue
		}
		o := c.option(lk)
		if o == nil {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized %s option %q", c.Name, k).
				WithHint("Valid options are %s.", strings.Join(c.optionNames(), ", "))
		}
		if err := o.check(c.Name, lk, v); err != nil {
			return nil, err
		}
		if _, dup := out[lk]; dup {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "%s option %q specified more than once", c.Name, lk)
		}
		out[lk] = v
	}
	var missing []string
	for _, o := range c.Options {
		if strings.Contains(o.Name, "*") {
			continue
		}
		if _, ok := out[o.Name]; ok {
			continue
		}
		if o.Required {
			missing = append(missing, o.Name)
		} else if o.Default != "" {
			out[o.Name] = o.Default
		}
	}
	if len(missing) == 1 {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "%s connector requires option %q", c.Name, missing[0]).
			WithHint("Add %s = '...' to the WITH clause.", missing[0])
	}
	if len(missing) > 1 {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "%s connector requires options %s", c.Name, strings.Join(quoteAll(missing), ", "))
	}
	return out, nil
}

// IsSecret reports whether key is a secret option of the connector.
func (c *Connector) IsSecret(key string) bool {
	o := c.option(strings.ToLower(key))
	return o != nil && o.Secret
}

// Mask is the text shown in place of a secret option's value.
const Mask = "********"

// Masked returns opts with secret values replaced by Mask.
func (c *Connector) Masked(opts map[string]string) map[string]string {
	out := make(map[string]string, len(opts))
	for k, v := range opts {
		if c != nil && c.IsSecret(k) {
			v = Mask
		}
		out[k] = v
	}
	return out
}

// FormatWith renders options as the body of a WITH (...) clause:
// connector first, then the rest sorted, values as SQL string literals,
// secrets masked.
func (c *Connector) FormatWith(opts map[string]string) string {
	m := c.Masked(opts)
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "connector" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	if v, ok := m["connector"]; ok {
		parts = append(parts, "connector = "+QuoteLiteral(v))
	}
	for _, k := range keys {
		parts = append(parts, k+" = "+QuoteLiteral(m[k]))
	}
	return strings.Join(parts, ", ")
}

// QuoteLiteral quotes s as a SQL string literal.
func QuoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
