package datagen

import (
	"streamsql/connector"
	"streamsql/exec/stream"
)

// fieldParams are the per-column options fields.<column>.<param>.
var fieldParams = []struct{ name, desc string }{
	{"kind", "'random' (default) or 'sequence'"},
	{"seed", "the column's random seed"},
	{"min", "smallest random value"},
	{"max", "largest random value"},
	{"start", "a sequence's first value; for random dates and timestamps the latest value"},
	{"end", "a sequence's last value"},
	{"step", "a sequence's step"},
	{"length", "length of random strings"},
	{"max_past", "how far back random dates and timestamps reach"},
	{"max_past_mode", "'absolute' or 'relative' to the start time"},
	{"basetime", "the time random timestamps count back from"},
}

// Connector is datagen's registry entry.
func Connector() *connector.Connector {
	c := &connector.Connector{
		Name:        "datagen",
		Description: "rows from per-column generators, at a rate, up to a limit",
		Options: []connector.Option{
			{Name: optRate, Type: connector.Int, Min: 0, Max: 1 << 62, Description: "rows per second; 0 or absent: as fast as possible"},
			{Name: optLimit, Type: connector.Int, Min: 0, Max: 1 << 62, Description: "total rows; absent: unbounded"},
			{Name: optSplitNum, Type: connector.Int, Min: 1, Max: 1024, Description: "accepted for compatibility: one generator serves the source"},
		},
		Source: func(cfg *connector.SourceConfig) (stream.SourceSpec, error) {
			return New(cfg.Names(), cfg.Types(), cfg.Options)
		},
	}
	for _, p := range fieldParams {
		c.Options = append(c.Options, connector.Option{Name: fieldsPrefix + "*." + p.name, Type: connector.String, Description: p.desc})
	}
	return c
}
