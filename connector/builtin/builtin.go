// Package builtin assembles the registry of the connectors that ship with
// StreamSQL. It is the one place that imports every connector package, so
// the engine depends on the registry and not on each connector.
package builtin

import (
	"streamsql/connector"
	"streamsql/connector/blackhole"
	"streamsql/connector/datagen"
	"streamsql/connector/kafka"
	"streamsql/connector/nexmark"
	"streamsql/connector/postgres"
	"streamsql/connector/postgrescdc"
)

// Registry returns a fresh registry of the built-in connectors.
func Registry() *connector.Registry {
	r, err := connector.NewRegistry(
		datagen.Connector(),
		nexmark.Connector(),
		blackhole.Connector(),
		kafka.Connector(),
		postgrescdc.Connector(),
		postgres.Connector(),
	)
	if err != nil {
		// The built-in set is fixed: a clash is a programming error that
		// every test run would catch.
		panic(err)
	}
	return r
}
