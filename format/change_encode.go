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
//     update's delete/insert pair as one event), "d" for a delete.

import (
	"bytes"
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

// ChangeEncoder encodes changes into messages of one envelope.
type ChangeEncoder struct {
	format      string
	pk          []int
	forceAppend bool
	source      []byte // Debezium's "source" object
	enc         *JSONEncoder
	key, old    []byte
	val         []byte
	now         func() time.Time
}

// ChangeEncoderConfig configures a ChangeEncoder.
type ChangeEncoderConfig struct {
	// Format is PLAIN, UPSERT or DEBEZIUM; Encode JSON.
	Format, Encode string
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

// NewChangeEncoder returns the encoder of cfg.
func NewChangeEncoder(cfg ChangeEncoderConfig) (*ChangeEncoder, error) {
	if cfg.Encode != "JSON" {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "sink encoding %s is not supported; use ENCODE JSON", cfg.Encode)
	}
	e := &ChangeEncoder{format: cfg.Format, pk: cfg.PrimaryKey, forceAppend: cfg.ForceAppendOnly,
		enc: NewJSONEncoder(cfg.Names, cfg.Types), now: time.Now}
	switch cfg.Format {
	case "PLAIN":
	case "UPSERT", "DEBEZIUM":
		if len(cfg.PrimaryKey) == 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "FORMAT %s needs a primary key: add primary_key = 'col[, ...]' to the sink's WITH clause", cfg.Format)
		}
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "sink format %s is not supported", cfg.Format)
	}
	e.source = append(e.source, `{"connector":"streamsql","name":`...)
	e.source = appendJSONText(e.source, cfg.Name)
	e.source = append(e.source, '}')
	return e, nil
}

// Encode emits the messages of n changes: cols are the columns, ops the
// changes' ops. It returns how many messages it emitted.
func (e *ChangeEncoder) Encode(cols []arrow.Array, ops []Op, n int, emit Emit) (int, error) {
	e.enc.Bind(cols)
	tsMillis := e.now().UnixMilli()
	count := 0
	hasKey := len(e.pk) > 0
	for i := 0; i < n; i++ {
		op := ops[i]
		if hasKey {
			e.key = e.enc.AppendFields(e.key[:0], i, e.pk)
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
			e.val = e.enc.AppendRow(e.val[:0], i)
			emit(e.key, e.val, hasKey, true)
		case "UPSERT":
			switch op {
			case Insert, UpdateInsert:
				e.val = e.enc.AppendRow(e.val[:0], i)
				emit(e.key, e.val, true, true)
			case Delete:
				emit(e.key, nil, true, false)
			case UpdateDelete:
				// The new version follows; its upsert replaces the row
				// unless the update changed the key.
				if i+1 < n && ops[i+1] == UpdateInsert {
					e.old = append(e.old[:0], e.key...)
					next := e.enc.AppendFields(e.val[:0], i+1, e.pk)
					if bytes.Equal(next, e.old) {
						continue
					}
				}
				emit(e.key, nil, true, false)
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
					next := e.enc.AppendFields(e.val[:0], i+1, e.pk)
					if bytes.Equal(next, e.key) {
						after, code = i+1, 'u'
						i++
					}
				}
			}
			e.val = append(e.val[:0], `{"before":`...)
			if before >= 0 {
				e.val = e.enc.AppendRow(e.val, before)
			} else {
				e.val = append(e.val, "null"...)
			}
			e.val = append(e.val, `,"after":`...)
			if after >= 0 {
				e.val = e.enc.AppendRow(e.val, after)
			} else {
				e.val = append(e.val, "null"...)
			}
			e.val = append(e.val, `,"op":"`...)
			e.val = append(e.val, code, '"')
			e.val = append(e.val, `,"ts_ms":`...)
			e.val = strconv.AppendInt(e.val, tsMillis, 10)
			e.val = append(e.val, `,"source":`...)
			e.val = append(e.val, e.source...)
			e.val = append(e.val, '}')
			emit(e.key, e.val, true, true)
		default:
			return count, fmt.Errorf("unknown sink format %s", e.format)
		}
		count++
	}
	return count, nil
}
