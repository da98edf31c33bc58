package engine

import (
	"encoding/binary"
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
