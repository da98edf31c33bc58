package connector

import (
	"fmt"
	"sort"
	"strings"

	"streamsql/sql/sqlerr"
)

// Registry holds the connectors by name.
type Registry struct {
	byName map[string]*Connector
}

// NewRegistry returns a registry of cs. Names must be unique and
// lower-case.
func NewRegistry(cs ...*Connector) (*Registry, error) {
	r := &Registry{byName: map[string]*Connector{}}
	for _, c := range cs {
		if c.Name == "" || c.Name != strings.ToLower(c.Name) {
			return nil, fmt.Errorf("connector name %q must be non-empty and lower-case", c.Name)
		}
		if _, dup := r.byName[c.Name]; dup {
			return nil, fmt.Errorf("connector %q registered twice", c.Name)
		}
		for _, o := range c.Options {
			if o.Name != strings.ToLower(o.Name) || o.Name == "connector" {
				return nil, fmt.Errorf("connector %q: bad option name %q", c.Name, o.Name)
			}
		}
		r.byName[c.Name] = c
	}
	return r, nil
}

// Names lists the registered connectors, sorted.
func (r *Registry) Names(pred func(*Connector) bool) []string {
	var out []string
	for n, c := range r.byName {
		if pred == nil || pred(c) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Get returns a connector by name (case-insensitive), or nil.
func (r *Registry) Get(name string) *Connector {
	return r.byName[strings.ToLower(strings.TrimSpace(name))]
}

// Lookup returns the connector named by opts["connector"] for use as
// kind ("source" or "sink"), or a 22023 error listing the connectors of
// that kind when there is none or it is unknown.
func (r *Registry) Lookup(kind string, opts map[string]string) (*Connector, error) {
	name := ""
	for k, v := range opts {
		if strings.EqualFold(strings.TrimSpace(k), "connector") {
			name = v
		}
	}
	pred := func(c *Connector) bool { return c.Source != nil }
	if kind == "sink" {
		pred = func(c *Connector) bool { return c.Sink != nil }
	}
	valid := strings.Join(r.Names(pred), ", ")
	if strings.TrimSpace(name) == "" {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "%s has no connector: add WITH (connector = '...')", kind).
			WithHint("Valid %s connectors are %s.", kind, valid)
	}
	c := r.Get(name)
	if c == nil || !pred(c) {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "unknown %s connector %q", kind, name).
			WithHint("Valid %s connectors are %s.", kind, valid)
	}
	return c, nil
}

// CheckFormat validates a FORMAT ... ENCODE pair against the connector
// (both empty: no clause given).
func (c *Connector) CheckFormat(format, encode string) error {
	if c.ChangeTables {
		return sqlerr.New(sqlerr.FeatureNotSupported, "the %s connector feeds tables only", c.Name).
			WithHint("Use CREATE TABLE ... (..., PRIMARY KEY (...)) WITH (connector = '%s', ...).", c.Name)
	}
	return checkFormat(c.Name, c.Formats, format, encode)
}

// CheckTableFormat validates the FORMAT ... ENCODE pair of a table fed by
// the connector.
func (c *Connector) CheckTableFormat(format, encode string) error {
	if c.ChangeTables {
		return checkFormat(c.Name, nil, format, encode)
	}
	if len(c.TableFormats) == 0 {
		return sqlerr.New(sqlerr.FeatureNotSupported, "the %s connector cannot feed a table; create a source instead", c.Name)
	}
	return checkFormat(c.Name, c.TableFormats, format, encode)
}

// checkFormat checks a FORMAT ... ENCODE pair against formats, the pairs
// connector name accepts.
func checkFormat(name string, formats []string, format, encode string) error {
	if format == "" && encode == "" {
		if len(formats) > 0 {
			return sqlerr.New(sqlerr.InvalidParameterValue, "%s connector needs a FORMAT ... ENCODE clause", name).
				WithHint("Valid are FORMAT %s.", strings.Join(formatsWithEncode(formats), ", FORMAT "))
		}
		return nil
	}
	if len(formats) == 0 {
		return sqlerr.New(sqlerr.InvalidParameterValue, "%s connector takes no FORMAT ... ENCODE clause", name)
	}
	pair := strings.ToUpper(format) + " " + strings.ToUpper(encode)
	for _, f := range formats {
		if f == pair {
			return nil
		}
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "%s connector does not support FORMAT %s ENCODE %s",
		name, strings.ToUpper(format), strings.ToUpper(encode)).
		WithHint("Valid are FORMAT %s.", strings.Join(formatsWithEncode(formats), ", FORMAT "))
}

func formatsWithEncode(fs []string) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = strings.Replace(f, " ", " ENCODE ", 1)
	}
	return out
}
