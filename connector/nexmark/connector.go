package nexmark

import (
	"streamsql/connector"
	"streamsql/exec/stream"
)

// Connector is nexmark's registry entry.
func Connector() *connector.Connector {
	return &connector.Connector{
		Name:        "nexmark",
		Description: "the Nexmark benchmark's person, auction and bid events",
		Options: []connector.Option{
			{Name: optTableType, Type: connector.Enum, Values: []string{"person", "auction", "bid"}, Required: true, Description: "which of the three tables the source serves"},
			{Name: optEventNum, Type: connector.Int, Min: 0, Max: unboundedEvents - 1, Description: "the number of events (of all three tables); absent: unbounded"},
			{Name: optEventRate, Type: connector.Int, Min: 1, Max: 1_000_000_000_000, Description: "events per second of event time"},
			{Name: optBaseTime, Type: connector.String, Description: "event time of event 0: milliseconds since 1970 or a timestamp"},
			{Name: optSplitNum, Type: connector.Int, Min: 1, Max: maxSplits, Description: "generator goroutines"},
			{Name: optSeed, Type: connector.String, Description: "picks the random stream (unsigned 64-bit integer)"},
			{Name: optWallRate, Type: connector.Int, Min: 0, Max: 1 << 62, Description: "events per second of wall time; 0 or absent: unlimited"},
			{Name: optChunkSize, Type: connector.Int, Min: 1, Max: maxChunkSize, Description: "rows per chunk"},
		},
		Source: func(cfg *connector.SourceConfig) (stream.SourceSpec, error) {
			return New(cfg.Names(), cfg.Types(), cfg.Watermarks, cfg.Options)
		},
	}
}
