package pgcatalog

import (
	"strconv"

	"streamsql/catalog"
)

// Sequences in the catalog: pg_sequence (the parameters), the
// pg_sequences view (with the last value, for those who may read it),
// information_schema.sequences, and in pg_depend the columns that own
// them.

func (s *Snapshot) sequences() []*catalog.Relation {
	var out []*catalog.Relation
	for _, r := range s.relations() {
		if r.Kind == catalog.KindSequence && r.Sequence != nil {
			out = append(out, r)
		}
	}
	return out
}

func sequenceRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.sequences() {
		q := r.Sequence
		out = append(out, row{"seqrelid": int64(r.OID), "seqtypid": int64(q.Type.OID()), "seqstart": q.Start,
			"seqincrement": q.Increment, "seqmax": q.Max, "seqmin": q.Min, "seqcache": q.Cache, "seqcycle": q.Cycle})
	}
	return out
}

func sequencesViewRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.sequences() {
		q := r.Sequence
		var last any
		if s.SequenceLast != nil {
			if v, ok := s.SequenceLast(r); ok {
				last = v
			}
		}
		out = append(out, row{"schemaname": r.Schema, "sequencename": r.Name, "sequenceowner": owner(r.Owner),
			"data_type": int64(q.Type.OID()), "start_value": q.Start, "min_value": q.Min, "max_value": q.Max,
			"increment_by": q.Increment, "cycle": q.Cycle, "cache_size": q.Cache, "last_value": last})
	}
	return out
}

func isSequenceRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.sequences() {
		q := r.Sequence
		prec := int64(64)
		switch q.Type.OID() {
		case 21:
			prec = 16
		case 23:
			prec = 32
		}
		out = append(out, row{"sequence_catalog": s.Database, "sequence_schema": r.Schema, "sequence_name": r.Name,
			"data_type": DataType(q.Type), "numeric_precision": prec, "numeric_precision_radix": int64(2), "numeric_scale": int64(0),
			"start_value": strconv.FormatInt(q.Start, 10), "minimum_value": strconv.FormatInt(q.Min, 10),
			"maximum_value": strconv.FormatInt(q.Max, 10), "increment": strconv.FormatInt(q.Increment, 10),
			"cycle_option": yesNo(q.Cycle)})
	}
	return out
}

// dependRows are pg_depend's rows of owned sequences: a sequence depends
// on the column that owns it, automatically (deptype a: serial, OWNED BY)
// or internally (i: an identity column's). They are what psql's \d of a
// sequence reads for "Owned by" and "Sequence for identity column".
func dependRows(s *Snapshot) []row {
	byOID := map[uint32]*catalog.Relation{}
	for _, r := range s.relations() {
		byOID[r.OID] = r
	}
	var out []row
	for _, q := range s.sequences() {
		t := byOID[q.Sequence.OwnedBy]
		if t == nil {
			continue
		}
		deptype := "a"
		for _, c := range t.Columns {
			if c.AttNum == q.Sequence.OwnedCol && c.Identity != 0 && c.Seq == q.OID {
				deptype = "i"
			}
		}
		out = append(out, row{"classid": int64(OIDPgClass), "objid": int64(q.OID), "objsubid": int64(0),
			"refclassid": int64(OIDPgClass), "refobjid": int64(t.OID), "refobjsubid": int64(q.Sequence.OwnedCol), "deptype": deptype})
	}
	return out
}
