package format

// FORMAT MAXWELL ENCODE JSON reads Maxwell's events:
//
//	{"database": "shop", "table": "users", "type": "update", "ts": 1700000000,
//	 "xid": 8249, "commit": true, "data": {"id": 1, "name": "b"}, "old": {"name": "a"}}
//
// insert (and bootstrap-insert) inserts data, delete deletes data, update
// is an UpdateDelete of the old image (data with the fields of "old" put
// back) and an UpdateInsert of data. table-alter events carry MySQL DDL in
// "sql", which becomes schema changes; the other DDL events (table-create,
// table-drop, database-*) and bootstrap-start/complete carry no row.
// Other types are rejected.

const (
	mxData = iota
	mxOld
	mxType
	mxSQL
	mxDatabase
)

var maxwellFields = []string{"data", "old", "type", "sql", "database"}

func (d *jsonDecoder) maxwell(m *Message, out *Batch) error {
	if isNullValue(m.Value) {
		return nil
	}
	f, err := d.topFields(m, maxwellFields)
	if err != nil {
		return err
	}
	if !f.has(mxType) || f.vals[mxType].kind != jString {
		return errMissingField("Maxwell", "type")
	}
	typ := string(f.vals[mxType].str)
	switch typ {
	case "insert", "bootstrap-insert", "delete", "update":
	case "table-alter":
		return d.ddlEvent(m, out, f, mxSQL, mxDatabase, "Maxwell")
	case "table-create", "table-drop", "database-create", "database-alter", "database-drop",
		"bootstrap-start", "bootstrap-complete":
		return nil
	default:
		return errUnknownOp("Maxwell", typ)
	}
	if !f.has(mxData) || f.vals[mxData].kind != jObject {
		return errMissingField("Maxwell", "data")
	}
	data := f.vals[mxData].raw
	i := out.Len()
	switch typ {
	case "insert", "bootstrap-insert", "delete":
		if err := d.imageInto(data, out, i, "data"); err != nil {
			return err
		}
		op := Insert
		if typ == "delete" {
			op = Delete
		}
		d.finishRow(m, out, i, op)
		return nil
	}
	// The old image is data with the fields of "old" laid over it, the
	// new one data: each is read once (updatePair).
	var o *row
	if f.has(mxOld) {
		var os jsonScanner
		os.reset(f.vals[mxOld].raw, &d.sc)
		var err error
		if o, err = d.oldImage(&os); err != nil {
			return err
		}
	}
	if err := d.imageInto(data, out, i, "data"); err != nil {
		return err
	}
	d.updatePair(m, out, i, o)
	return nil
}
