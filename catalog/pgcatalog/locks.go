package pgcatalog

import "streamsql/sql/types"

// LockRow is one lock held or awaited, as pg_locks shows it. Which of
// the object columns apply depends on LockType: "relation" (Relation),
// "transactionid" (TransactionID), "virtualxid" (VirtualXID) or
// "advisory" (ClassID, ObjID, ObjSubID).
type LockRow struct {
	LockType           string
	Relation           uint32
	Page               int32 // with Tuple, a "tuple" lock's row
	Tuple              int16
	VirtualXID         string
	TransactionID      uint64
	ClassID, ObjID     uint32
	ObjSubID           int16
	VirtualTransaction string
	PID                int32
	Mode               string
	Granted, FastPath  bool
	// WaitStart is when an awaited lock's wait began, in Unix
	// microseconds (0 for a granted lock).
	WaitStart int64
}

// lockRows are pg_locks.
func lockRows(s *Snapshot) []row {
	if s.Locks == nil {
		return nil
	}
	var out []row
	for _, l := range s.Locks() {
		// The columns that do not apply to the lock type are NULL.
		r := row{"locktype": l.LockType, "virtualtransaction": l.VirtualTransaction, "pid": int64(l.PID),
			"mode": l.Mode, "granted": l.Granted, "fastpath": l.FastPath,
			"database": nil, "relation": nil, "page": nil, "tuple": nil, "virtualxid": nil, "transactionid": nil,
			"classid": nil, "objid": nil, "objsubid": nil, "waitstart": nil}
		switch l.LockType {
		case "relation":
			r["database"], r["relation"] = int64(OIDDatabase), int64(l.Relation)
		case "tuple":
			r["database"], r["relation"], r["page"], r["tuple"] = int64(OIDDatabase), int64(l.Relation), int64(l.Page), int64(l.Tuple)
		case "transactionid":
			r["transactionid"] = int64(l.TransactionID)
		case "virtualxid":
			r["virtualxid"] = l.VirtualXID
		case "advisory":
			r["database"], r["classid"], r["objid"], r["objsubid"] = int64(OIDDatabase), int64(l.ClassID), int64(l.ObjID), int64(l.ObjSubID)
		}
		if l.WaitStart != 0 {
			r["waitstart"] = types.Timestamp(l.WaitStart)
		}
		out = append(out, r)
	}
	return out
}
