package engine

import (
	"fmt"
	"regexp"
	"strings"

	"streamsql/catalog"
	"streamsql/udf"
)

// oldSerialDefault matches the default of a serial column made before
// sequences were relations: nextval('name') drew from storage's durable
// counter "seq/name", and no sequence of that name existed.
var oldSerialDefault = regexp.MustCompile(`^nextval\('((?:[^']|'')+)'\)$`)

// upgradeSerialColumns gives every serial column of an older data
// directory a sequence of its own, as CREATE TABLE makes now: owned by
// the column, its default nextval('name'::regclass), and its next value
// above every value the old counter handed out (the counter's reserved
// limit, which is at or above them all). It runs at Open, before any
// session, and changes nothing on a directory made by this version.
func (e *Engine) upgradeSerialColumns() error {
	for _, t := range e.cat.Relations() {
		if t.Kind != catalog.KindTable {
			continue
		}
		var n *catalog.Relation
		var made []*catalog.Relation
		for i, c := range t.Columns {
			m := oldSerialDefault.FindStringSubmatch(c.Default)
			if m == nil || c.Seq != 0 || c.Dropped {
				continue
			}
			name := strings.ReplaceAll(m[1], "''", "'")
			if _, ok := e.cat.Relation(t.Schema, name); ok {
				continue // a sequence (or a relation) of that name exists already
			}
			_, hi, _ := seqTypeRange(c.Type)
			def := catalog.Sequence{Type: c.Type, Start: 1, Increment: 1, Min: 1, Max: hi, Cache: 1}
			if name == t.Name+"_"+c.Name+"_seq" {
				// A serial column's own; a default naming another
				// counter may share it with other columns.
				def.OwnedBy, def.OwnedCol = t.OID, c.AttNum
			}
			q, err := e.cat.CreateRelation(&catalog.Relation{Schema: t.Schema, Name: name, Kind: catalog.KindSequence,
				Owner: t.Owner, Columns: sequenceColumns(), Sequence: &def})
			if err != nil {
				return fmt.Errorf("sequence %s of %s.%s: %w", name, t.Name, c.Name, err)
			}
			counter := "seq/" + m[1]
			used, err := e.db.SequenceExists(counter)
			if err != nil {
				return err
			}
			if used {
				// The counter's next value is above all it handed out.
				v, err := e.db.NextSequence(counter, 1)
				if err != nil {
					return err
				}
				if err := e.db.SeqSet(q.OID, v, true); err != nil {
					return err
				}
			}
			if n == nil {
				n = t.Clone()
			}
			n.Columns[i].Default = "nextval('" + strings.ReplaceAll(udf.QuoteIdent(name), "'", "''") + "'::regclass)"
			n.Columns[i].Seq = q.OID
			made = append(made, q)
		}
		if n == nil {
			continue
		}
		if _, err := e.cat.UpdateRelation(n); err != nil {
			return fmt.Errorf("serial columns of %s: %w", t.Name, err)
		}
		e.log.Info("serial columns now draw from sequences", "table", t.Schema+"."+t.Name, "sequences", len(made))
	}
	return nil
}
