package format

// Change encoders: a changelog (rows with ops) as sink messages.
//
// A ChangeEncoder turns chunks of changes into keyed messages in one of
// the envelopes FORMAT PLAIN | UPSERT | DEBEZIUM names for a sink, the
// mirror image of what the decoders read:
//
//   - PLAIN: each inserted row is a message; the key is the primary key
//     (a JSON object) when the sink names one, absent otherwise. Deletes
//     are refused unless the sink forces append-only, in which case they
//     are dropped and an update's new version is an insert.
//   - UPSERT: the key is the primary key as a JSON object; an insert or
//     an update's new version is the row, a delete a tombstone (a null
//     value). An update that keeps the key writes only the new row.
//   - DEBEZIUM: the key is the primary key; the value is a Debezium change
//     event {"before", "after", "op", "ts_ms", "source"} in the converter's
//     schemaless form: op "c" for an insert, "u" for an update (the
//     update's delete/insert pair as one event), "d" for a delete. With
//     tombstones (the default, as Debezium's tombstones.on.delete), a
//     delete's event is followed by a tombstone of its key, so that a
//     compacted topic forgets the row.
//
// ENCODE AVRO writes the same envelopes as Avro datums in the Confluent
// wire format (avro_encode.go): the value schema (the row, or Debezium's
// envelope around it) is registered as subject <topic>-value and the key
// schema as <topic>-key (the TopicNameStrategy) when the encoder is made.

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Emit receives one encoded message; key and value are nil when absent
// (hasKey, hasValue false) and valid only during the call.
type Emit func(key, value []byte, hasKey, hasValue bool)

// Frame lays out the messages EncodeFramed appends into one buffer (a
// sink log's records): Open appends what goes before a message's value
// (its key and room for the value's length), Close completes the message
// once its value is written at buf[start:].
type Frame interface {
	Open(buf, key []byte, hasKey, hasValue bool) []byte
	Close(buf []byte, start int) []byte
}

// ChangeEncoder encodes changes into messages of one envelope.
type ChangeEncoder struct {
	format      string
	pk          []int
	forceAppend bool
	source      []byte // Debezium's "source" object
	enc         *JSONEncoder
	avro        *AvroEncoder
	keyID       int32 // Avro: the registered ids of the key and value schemas
	valID       int32
	tombstones  bool
	key, old    []byte
	val         []byte
	now         func() time.Time
	// frame and out are set during EncodeFramed: messages are appended
	// to out, values written in place.
	frame Frame
	out   []byte
}

// ChangeEncoderConfig configures a ChangeEncoder.
type ChangeEncoderConfig struct {
	// Format is PLAIN, UPSERT or DEBEZIUM; Encode JSON or AVRO.
	Format, Encode string
	// Options are the options after ENCODE (AVRO: schema.registry and its
	// credentials).
	Options map[string]string
	// Topic names the registry subjects of ENCODE AVRO: <Topic>-key and
	// <Topic>-value.
	Topic string
	// NoTombstones turns off DEBEZIUM's tombstone after a delete.
	NoTombstones bool
	// Names and Types are the columns.
	Names []string
	Types []types.T
	// PrimaryKey are the key columns (needed by UPSERT and DEBEZIUM).
	PrimaryKey []int
	// ForceAppendOnly drops deletes under FORMAT PLAIN instead of failing.
	ForceAppendOnly bool
	// Name is the sink's name, for Debezium's source block.
	Name string
}

// NewChangeEncoder returns the encoder of cfg. With ENCODE AVRO it
// registers the key and value schemas in the schema registry.
func NewChangeEncoder(ctx context.Context, cfg ChangeEncoderConfig) (*ChangeEncoder, error) {
	if cfg.Encode != "JSON" && cfg.Encode != "AVRO" {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "sink encoding %s is not supported; use ENCODE JSON or ENCODE AVRO", cfg.Encode)
	}
	e := &ChangeEncoder{format: cfg.Format, pk: cfg.PrimaryKey, forceAppend: cfg.ForceAppendOnly,
		tombstones: !cfg.NoTombstones, now: time.Now}
	if cfg.Encode == "JSON" {
		e.enc = NewJSONEncoder(cfg.Names, cfg.Types)
	}
	switch cfg.Format {
	case "PLAIN":
	case "UPSERT", "DEBEZIUM":
		if len(cfg.PrimaryKey) == 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "FORMAT %s needs a primary key: add primary_key = 'col[, ...]' to the sink's WITH clause", cfg.Format)
		}
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "sink format %s is not supported", cfg.Format)
	}
	if cfg.Encode == "AVRO" {
		if err := e.registerAvro(ctx, cfg); err != nil {
			return nil, err
		}
		return e, nil
	}
	e.source = append(e.source, `{"connector":"streamsql","name":`...)
	e.source = appendJSONText(e.source, cfg.Name)
	e.source = append(e.source, '}')
	return e, nil
}

// registerAvro derives the Avro schemas of the sink's key and value and
// registers them under the topic's subjects.
func (e *ChangeEncoder) registerAvro(ctx context.Context, cfg ChangeEncoderConfig) error {
	spec := Spec{Format: cfg.Format, Encode: cfg.Encode, Options: cfg.Options}
	reg, err := newSchemaRegistry(spec)
	if err != nil {
		return err
	}
	if cfg.Topic == "" {
		return sqlerr.New(sqlerr.InvalidParameterValue, "ENCODE AVRO needs a topic to name its schema registry subjects")
	}
	e.avro = NewAvroEncoder(cfg.Names, cfg.Types)
	name := AvroName(cfg.Name)
	const ns = "streamsql"
	value := e.avro.Schema(name, ns, nil)
	if cfg.Format == "DEBEZIUM" {
		value = `{"type":"record","name":"Envelope","namespace":"` + ns + "." + name + `","fields":[` +
			`{"name":"before","type":["null",` + value + `],"default":null},` +
			`{"name":"after","type":["null","` + ns + "." + name + `"],"default":null},` +
			`{"name":"op","type":"string"},` +
			`{"name":"ts_ms","type":["null","long"],"default":null},` +
			`{"name":"source","type":{"type":"record","name":"Source","fields":[` +
			`{"name":"connector","type":"string"},{"name":"name","type":"string"}]}}]}`
		e.source = appendAvroString(appendAvroString(e.source[:0], "streamsql"), cfg.Name)
	}
	if e.valID, err = reg.register(ctx, cfg.Topic+"-value", value); err != nil {
		return fmt.Errorf("sink %q: register the value schema: %w", cfg.Name, err)
	}
	if len(e.pk) > 0 {
		key := e.avro.Schema(name+"_key", ns, e.pk)
		if e.keyID, err = reg.register(ctx, cfg.Topic+"-key", key); err != nil {
			return fmt.Errorf("sink %q: register the key schema: %w", cfg.Name, err)
		}
	}
	return nil
}

// appendKey appends the key message of row i.
func (e *ChangeEncoder) appendKey(buf []byte, i int) []byte {
	if e.avro != nil {
		return e.avro.AppendFields(AppendConfluentHeader(buf, e.keyID), i, e.pk)
	}
	return e.enc.AppendFields(buf, i, e.pk)
}

// appendRow appends row i as a value message.
func (e *ChangeEncoder) appendRow(buf []byte, i int) []byte {
	if e.avro != nil {
		return e.avro.AppendRow(AppendConfluentHeader(buf, e.valID), i)
	}
	return e.enc.AppendRow(buf, i)
}

// appendDebezium appends the Debezium event of rows before and after (-1
// when absent).
func (e *ChangeEncoder) appendDebezium(buf []byte, before, after int, code byte, tsMillis int64) []byte {
	if e.avro != nil {
		buf = AppendConfluentHeader(buf, e.valID)
		for _, r := range [2]int{before, after} {
			if r < 0 {
				buf = append(buf, 0)
			} else {
				buf = e.avro.AppendRow(append(buf, 2), r)
			}
		}
		buf = append(buf, 2, code) // op: a string of length 1
		buf = appendAvroLong(append(buf, 2), tsMillis)
		return append(buf, e.source...)
	}
	buf = append(buf, `{"before":`...)
	if before >= 0 {
		buf = e.enc.AppendRow(buf, before)
	} else {
		buf = append(buf, "null"...)
	}
	buf = append(buf, `,"after":`...)
	if after >= 0 {
		buf = e.enc.AppendRow(buf, after)
	} else {
		buf = append(buf, "null"...)
	}
	buf = append(buf, `,"op":"`...)
	buf = append(buf, code, '"')
	buf = append(buf, `,"ts_ms":`...)
	buf = strconv.AppendInt(buf, tsMillis, 10)
	buf = append(buf, `,"source":`...)
	buf = append(buf, e.source...)
	return append(buf, '}')
}

// EncodeFramed is Encode appending every message to buf as frame lays it
// out, each value encoded straight into buf (not into a scratch buffer
// and copied). It returns the buffer and how many messages it appended.
func (e *ChangeEncoder) EncodeFramed(buf []byte, cols []arrow.Array, ops []Op, n int, frame Frame) ([]byte, int, error) {
	e.frame, e.out = frame, buf
	count, err := e.Encode(cols, ops, n, nil)
	buf = e.out
	e.frame, e.out = nil, nil
	return buf, count, err
}

// putRow emits row i as the value of a message with the current key.
func (e *ChangeEncoder) putRow(emit Emit, i int, hasKey bool) {
	if e.frame != nil {
		e.out = e.frame.Open(e.out, e.key, hasKey, true)
		start := len(e.out)
		e.out = e.frame.Close(e.appendRow(e.out, i), start)
		return
	}
	e.val = e.appendRow(e.val[:0], i)
	emit(e.key, e.val, hasKey, true)
}

// putTombstone emits a message of the current key without a value.
func (e *ChangeEncoder) putTombstone(emit Emit) {
	if e.frame != nil {
		e.out = e.frame.Open(e.out, e.key, true, false)
		e.out = e.frame.Close(e.out, len(e.out))
		return
	}
	emit(e.key, nil, true, false)
}

// putDebezium emits the Debezium event of rows before and after as the
// value of a message with the current key.
func (e *ChangeEncoder) putDebezium(emit Emit, before, after int, code byte, tsMillis int64) {
	if e.frame != nil {
		e.out = e.frame.Open(e.out, e.key, true, true)
		start := len(e.out)
		e.out = e.frame.Close(e.appendDebezium(e.out, before, after, code, tsMillis), start)
		return
	}
	e.val = e.appendDebezium(e.val[:0], before, after, code, tsMillis)
	emit(e.key, e.val, true, true)
}

// Encode emits the messages of n changes: cols are the columns, ops the
// changes' ops. It returns how many messages it emitted.
func (e *ChangeEncoder) Encode(cols []arrow.Array, ops []Op, n int, emit Emit) (int, error) {
	if e.avro != nil {
		e.avro.Bind(cols)
	} else {
		e.enc.Bind(cols)
	}
	tsMillis := e.now().UnixMilli()
	count := 0
	hasKey := len(e.pk) > 0
	for i := 0; i < n; i++ {
		op := ops[i]
		if hasKey {
			e.key = e.appendKey(e.key[:0], i)
		}
		switch e.format {
		case "PLAIN":
			if op == Delete || op == UpdateDelete {
				if !e.forceAppend {
					return count, sqlerr.New(sqlerr.FeatureNotSupported,
						"the sink's input is not append-only: FORMAT PLAIN cannot write a %s", op).
						WithHint("Use FORMAT UPSERT or DEBEZIUM with a primary_key, or set force_append_only = 'true' to drop deletes.")
				}
				continue
			}
			e.putRow(emit, i, hasKey)
		case "UPSERT":
			switch op {
			case Insert, UpdateInsert:
				e.putRow(emit, i, true)
			case Delete:
				e.putTombstone(emit)
			case UpdateDelete:
				// The new version follows; its upsert replaces the row
				// unless the update changed the key.
				if i+1 < n && ops[i+1] == UpdateInsert {
					e.old = append(e.old[:0], e.key...)
					next := e.appendKey(e.val[:0], i+1)
					if bytes.Equal(next, e.old) {
						continue
					}
				}
				e.putTombstone(emit)
			}
		case "DEBEZIUM":
			var before, after int = -1, -1
			code := byte('c')
			switch op {
			case Insert, UpdateInsert:
				after = i
			case Delete:
				before, code = i, 'd'
			case UpdateDelete:
				before, code = i, 'd'
				if i+1 < n && ops[i+1] == UpdateInsert {
					next := e.appendKey(e.val[:0], i+1)
					if bytes.Equal(next, e.key) {
						after, code = i+1, 'u'
						i++
					}
				}
			}
			e.putDebezium(emit, before, after, code, tsMillis)
			if code == 'd' && e.tombstones {
				e.putTombstone(emit)
				count++
			}
		default:
			return count, fmt.Errorf("unknown sink format %s", e.format)
		}
		count++
	}
	if e.avro != nil {
		if err := e.avro.Err(); err != nil {
			return count, err
		}
	}
	return count, nil
}
