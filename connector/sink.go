package connector

import (
	"context"
	"strings"

	"streamsql/exec/stream"
	"streamsql/format"
	"streamsql/sql/sqlerr"
)

// Sink options shared by the sinks that address rows by key.
const (
	// OptPrimaryKey names the sink's key columns, comma-separated.
	OptPrimaryKey = "primary_key"
	// OptForceAppendOnly lets FORMAT PLAIN drop the deletes of a
	// retracting input instead of refusing it.
	OptForceAppendOnly = "force_append_only"
	// OptTombstonesOnDelete makes FORMAT DEBEZIUM follow a delete's event
	// with a tombstone (a null value) of its key, as Debezium's
	// tombstones.on.delete does.
	OptTombstonesOnDelete = "tombstones.on.delete"
)

// SinkPrimaryKey resolves the primary_key option against the sink's
// columns: the column positions in key order. Without the option it is
// the input's stream key when that is among the sink's columns, else nil.
func SinkPrimaryKey(opts Options, in *stream.SinkInput) ([]int, error) {
	v := strings.TrimSpace(opts.Get(OptPrimaryKey))
	if v == "" {
		return in.StreamKey, nil
	}
	var pk []int
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		pos := -1
		for i, n := range in.Names {
			if n == name {
				pos = i
				break
			}
		}
		if pos < 0 {
			for i, n := range in.Names {
				if strings.EqualFold(n, name) {
					pos = i
					break
				}
			}
		}
		if pos < 0 {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "primary_key column %q of sink %q does not exist", name, in.Name).
				WithHint("The sink's columns are %s.", strings.Join(in.Names, ", "))
		}
		pk = append(pk, pos)
	}
	return pk, nil
}

// SinkChangeEncoder adapts a format.ChangeEncoder to the sink log: it
// encodes chunks into log records.
type SinkChangeEncoder struct {
	enc *format.ChangeEncoder
	ops []format.Op
}

// NewSinkChangeEncoder returns the log encoder of a sink with the given
// FORMAT ... ENCODE and options. FORMAT PLAIN over an input that is not
// append-only is refused unless force_append_only is set. topic names the
// schema registry subjects of ENCODE AVRO (<topic>-key, <topic>-value),
// registered here.
func NewSinkChangeEncoder(ctx context.Context, cfg *SinkConfig, in *stream.SinkInput, topic string) (*SinkChangeEncoder, error) {
	pk, err := SinkPrimaryKey(cfg.Options, in)
	if err != nil {
		return nil, err
	}
	force, _ := ParseBool(cfg.Options.Get(OptForceAppendOnly))
	if cfg.Format == "PLAIN" && !in.AppendOnly && !force {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported,
			"the query of sink %q is not append-only: FORMAT PLAIN cannot write its updates and deletes", in.Name).
			WithHint("Use FORMAT UPSERT or FORMAT DEBEZIUM with primary_key, or set force_append_only = 'true' to drop updates' old rows and deletes.")
	}
	if cfg.Format != "PLAIN" && strings.TrimSpace(cfg.Options.Get(OptPrimaryKey)) == "" && len(pk) == 0 {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "FORMAT %s sink %q needs a primary key", cfg.Format, in.Name).
			WithHint("Add primary_key = 'col[, ...]' to the WITH clause.")
	}
	if cfg.Format == "PLAIN" && strings.TrimSpace(cfg.Options.Get(OptPrimaryKey)) == "" {
		// PLAIN messages carry a key only when the sink names one.
		pk = nil
	}
	tombstones := true
	if v := cfg.Options.Get(OptTombstonesOnDelete); v != "" {
		tombstones, _ = ParseBool(v)
	}
	enc, err := format.NewChangeEncoder(ctx, format.ChangeEncoderConfig{Format: cfg.Format, Encode: cfg.Encode,
		Options: cfg.EncodeOptions, Topic: topic, NoTombstones: !tombstones,
		Names: in.Names, Types: in.Types, PrimaryKey: pk, ForceAppendOnly: force, Name: in.Name})
	if err != nil {
		return nil, err
	}
	return &SinkChangeEncoder{enc: enc}, nil
}

// Encode appends c's messages to buf as log records.
func (e *SinkChangeEncoder) Encode(buf []byte, c *stream.Chunk) ([]byte, int, error) {
	e.ops = e.ops[:0]
	for _, op := range c.Ops[:c.N] {
		e.ops = append(e.ops, format.Op(op))
	}
	return e.enc.EncodeFramed(buf, c.Cols, e.ops, c.N, stream.SinkRecordFrame{})
}
