package blackhole

import (
	"streamsql/connector"
	"streamsql/exec/stream"
)

// Connector is blackhole's registry entry: a sink that takes no options.
func Connector() *connector.Connector {
	return &connector.Connector{
		Name:        "blackhole",
		Description: "a sink that discards its rows (to measure a query)",
		Options:     []connector.Option{{Name: "type", Type: connector.String, Description: "accepted for compatibility and ignored"}},
		Sink: func(*connector.SinkConfig) (func(*stream.Env, *stream.SinkInput) (stream.SinkWriter, error), error) {
			return func(*stream.Env, *stream.SinkInput) (stream.SinkWriter, error) { return &Writer{}, nil }, nil
		},
	}
}
