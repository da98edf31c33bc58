package engine

import (
	"encoding/binary"
	"fmt"

	"streamsql/exec/stream"
	"streamsql/storage"
)

// RewindKafkaIngest sets the committed position of table's Kafka ingest
// to offset in partition 0 and restarts the ingest, as a crash right
// after that position's commit would leave it.
func (e *Engine) RewindKafkaIngest(table string, offset int64) error {
	r, err := e.cat.Resolve([]string{"public"}, table)
	if err != nil {
		return err
	}
	e.stopIngest(r.OID)
	// The source driver's layout of a discovered split set: 0xd1, then
	// the split id and its position (the offset, 8 bytes).
	pos := []byte{0xd1, 1, '0', 8}
	pos = binary.BigEndian.AppendUint64(pos, uint64(offset))
	txn := e.db.Begin()
	if err := txn.Set(ingestPosKey(r.OID), pos); err != nil {
		txn.Rollback()
		return err
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	return e.startIngest(r)
}

// ChangeLogKeys counts the keys of subscription oid's change log.
func (e *Engine) ChangeLogKeys(oid uint32) (int, error) {
	lo, hi := stream.ChangeLogSpan(oid)
	it, err := e.db.Latest().NewIter(lo, hi)
	if err != nil {
		return 0, err
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n, it.Close()
}

// StateLayout returns the state layout stored with view and, when set is
// not empty, stores set in its place, as a view created by a version that
// planned its definition differently would have.
func (e *Engine) StateLayout(view, set string) (string, error) {
	r, err := e.cat.Resolve([]string{"public"}, view)
	if err != nil {
		return "", err
	}
	was := r.StateLayout
	if set != "" {
		c := r.Clone()
		c.StateLayout = set
		if _, err := e.cat.UpdateRelation(c); err != nil {
			return "", err
		}
	}
	return was, nil
}

// TableLogKeys counts the changes in table's changelog.
func (e *Engine) TableLogKeys(table string) (int, error) {
	r, err := e.cat.Resolve([]string{"public"}, table)
	if err != nil {
		return 0, err
	}
	return storage.LogChanges(e.db.Latest(), r.OID)
}

// DowngradeSerialColumn turns serial column col of table back into what
// an older version stored: no sequence relation, the default
// nextval('<table>_<col>_seq') drawing from the durable counter
// "seq/<table>_<col>_seq", which has handed out values up to handedOut.
func (e *Engine) DowngradeSerialColumn(table, col string, handedOut int64) error {
	t, err := e.cat.Resolve([]string{"public"}, table)
	if err != nil {
		return err
	}
	n := t.Clone()
	name := table + "_" + col + "_seq"
	for i := range n.Columns {
		if n.Columns[i].Name == col {
			q, ok := e.cat.ByOID(n.Columns[i].Seq)
			if !ok {
				return fmt.Errorf("column %s has no sequence", col)
			}
			if _, err := e.cat.DropRelation(q.OID, false); err != nil {
				return err
			}
			if err := e.db.SeqDrop(q.OID); err != nil {
				return err
			}
			n.Columns[i].Default, n.Columns[i].Seq = "nextval('"+name+"')", 0
		}
	}
	if _, err := e.cat.UpdateRelation(n); err != nil {
		return err
	}
	_, err = e.db.NextSequence("seq/"+name, handedOut)
	return err
}

// CreateWithoutSharing makes the views created until it is called again
// with false plan an aggregation read twice twice, as views created
// before aggregations were shared.
func CreateWithoutSharing(on bool) { createWithoutSharing = on }
