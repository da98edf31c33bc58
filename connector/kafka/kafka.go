// Package kafka is the Kafka connector: a topic's records become rows of
// a source (FORMAT PLAIN) or changes of a table (FORMAT UPSERT, DEBEZIUM,
// CANAL, MAXWELL), decoded by the format package; and a sink's changes
// become records of a topic, exactly once (sink.go).
//
// The topic's partitions are the source's splits. Each partition has
// its own watermark and the source's is their minimum (the source driver
// generates them, exec/stream/source_watermark.go); with
// watermark.idle.timeout a partition without records for that long stops
// holding it back. The source driver
// (exec/stream) spreads them over the source's parallel readers and lists
// them again every partition.discovery.interval, so partitions added to
// the topic later are read too (from their start). Each reader fetches
// its partitions at explicit offsets with franz-go's kgo client (reader.go;
// metadata and start offsets through its admin API, kadm): no consumer group and no
// offsets committed to Kafka. A partition's position is the offset of
// its next record, and the positions are part of StreamSQL's epoch commit:
// after a crash the job resumes every partition at the offset recorded
// with the last committed epoch, so each record reaches the views exactly
// once.
//
// A record that cannot be decoded is not an error of the job: it is
// counted, kept in the rejects relation with its partition, offset, first
// bytes and the reason, and reading goes on with the next record.
package kafka

import (
	"slices"
	"strings"

	"streamsql/connector"
)

// Option names, in RisingWave's spelling.
const (
	optTopic            = "topic"
	optBootstrap        = "properties.bootstrap.server"
	optStartupMode      = "scan.startup.mode"
	optStartupMillis    = "scan.startup.timestamp.millis"
	optClientID         = "properties.client.id"
	optSecurityProtocol = "properties.security.protocol"
	optSASLMechanism    = "properties.sasl.mechanism"
	optSASLUser         = "properties.sasl.username"
	optSASLPassword     = "properties.sasl.password"
	optSSLCA            = "properties.ssl.ca.location"
	optSSLCert          = "properties.ssl.certificate.location"
	optSSLKey           = "properties.ssl.key.location"
	optSSLKeyPassword   = "properties.ssl.key.password"
	optSSLSkipVerify    = "properties.ssl.endpoint.identification.algorithm"
	optDiscovery        = "partition.discovery.interval"
	optMaxBatch         = "max.batch.rows"
	optIdleTimeout      = "watermark.idle.timeout"
	// Sink only.
	optTransactionalID = "properties.transactional.id"
	optDeliveryTimeout = "delivery.timeout"
	optTopicCreate     = "topic.create"
	optTopicPartitions = "topic.partitions"
	optTopicReplicas   = "topic.replication.factor"
	optCompression     = "properties.compression.type"
)

// clientOptions are the options of the connection to the brokers that
// sources and sinks share.
func clientOptions() []connector.Option {
	return []connector.Option{
		{Name: optClientID, Type: connector.String, Default: "streamsql", Description: "the client id sent to the brokers"},
		{Name: optSecurityProtocol, Type: connector.Enum, Values: []string{"plaintext", "sasl_plaintext", "ssl", "sasl_ssl"}, Default: "plaintext",
			Description: "transport: plain or TLS, with or without SASL"},
		{Name: optSASLMechanism, Type: connector.Enum, Values: []string{"plain", "scram-sha-256", "scram-sha-512"}, Default: "plain",
			Description: "SASL mechanism"},
		{Name: optSASLUser, Type: connector.String, Description: "SASL user name"},
		{Name: optSASLPassword, Type: connector.String, Secret: true, Description: "SASL password"},
		{Name: optSSLCA, Type: connector.String, Description: "PEM file of the CA certificates that sign the brokers' certificates"},
		{Name: optSSLCert, Type: connector.String, Description: "PEM file of the client certificate (mutual TLS)"},
		{Name: optSSLKey, Type: connector.String, Description: "PEM file of the client key (mutual TLS)"},
		{Name: optSSLKeyPassword, Type: connector.String, Secret: true, Description: "password of an encrypted client key"},
		{Name: optSSLSkipVerify, Type: connector.Enum, Values: []string{"https", "none"}, Default: "https",
			Description: "'none' skips the check of the broker's host name"},
	}
}

// Connector is kafka's registry entry.
func Connector() *connector.Connector {
	return &connector.Connector{
		Name:        "kafka",
		Description: "records of a Kafka topic, exactly once",
		Options: slices.Concat([]connector.Option{
			{Name: optTopic, Type: connector.String, Required: true, Description: "the topic to read"},
			{Name: optBootstrap, Type: connector.HostPorts, Required: true, Description: "brokers to start from, host:port[,host:port...]"},
			{Name: optStartupMode, Type: connector.Enum, Values: []string{"earliest", "latest", "timestamp"}, Default: "earliest",
				Description: "where a new source starts in each partition"},
			{Name: optStartupMillis, Type: connector.Int, Min: 0, Max: 1 << 62,
				Description: "with scan.startup.mode 'timestamp': the first record at or after this time (Unix milliseconds)"},
		}, clientOptions(), []connector.Option{
			{Name: optDiscovery, Type: connector.Duration, Default: "10s", Description: "how often new partitions are looked for"},
			{Name: optIdleTimeout, Type: connector.Duration,
				Description: "a partition with no record for this long stops holding the watermark back, until its next record"},
			{Name: optMaxBatch, Type: connector.Int, Min: 1, Max: 1 << 16, Default: "4096", Description: "most records per chunk"},
		}),
		// The change envelopes (UPSERT, DEBEZIUM, CANAL, MAXWELL) need a
		// table to apply their changes to; sources take FORMAT PLAIN.
		Formats: []string{"PLAIN JSON", "PLAIN CSV", "PLAIN BYTES", "PLAIN AVRO"},
		TableFormats: []string{"PLAIN JSON", "PLAIN CSV", "PLAIN AVRO", "UPSERT JSON", "UPSERT AVRO",
			"DEBEZIUM JSON", "DEBEZIUM AVRO", "CANAL JSON", "MAXWELL JSON"},
		Source:      newSpec,
		Sink:        newSink,
		SinkOptions: sinkOptions(),
		SinkFormats: sinkFormats,
	}
}

// brokers splits the bootstrap list.
func brokers(v string) []string {
	var out []string
	for _, b := range strings.Split(v, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}
