package format

import "streamsql/sql/sqlerr"

// FORMAT CANAL ENCODE JSON reads Canal's flat messages:
//
//	{"data": [{"id": "1", "name": "b"}], "old": [{"name": "a"}], "type": "UPDATE",
//	 "database": "shop", "table": "users", "isDdl": false, "sql": "", "pkNames": ["id"], ...}
//
// Each element of data is a row (Canal spells every value as text, which
// the column types' input functions read). INSERT inserts them, DELETE
// deletes them, UPDATE turns each into an UpdateDelete of the old image
// (the row with the fields of the matching "old" element put back) and an
// UpdateInsert of the new one. An event with isDdl true carries MySQL DDL in
// "sql", which becomes schema changes. Other types are rejected.

const (
	canalData = iota
	canalOld
	canalType
	canalIsDDL
	canalSQL
	canalDatabase
)

var canalFields = []string{"data", "old", "type", "isDdl", "sql", "database"}

func (d *jsonDecoder) canal(m *Message, out *Batch) error {
	if isNullValue(m.Value) {
		return nil
	}
	f, err := d.topFields(m, canalFields)
	if err != nil {
		return err
	}
	if f.has(canalIsDDL) && f.vals[canalIsDDL].kind == jTrue {
		return d.ddlEvent(m, out, f, canalSQL, canalDatabase, "Canal")
	}
	if !f.has(canalType) || f.vals[canalType].kind != jString {
		return errMissingField("Canal", "type")
	}
	var op Op
	switch typ := string(f.vals[canalType].str); typ {
	case "INSERT":
		op = Insert
	case "UPDATE":
		op = UpdateInsert
	case "DELETE":
		op = Delete
	default:
		return errUnknownOp("Canal", typ)
	}
	if !f.has(canalData) || f.vals[canalData].kind != jArray {
		return errMissingField("Canal", "data")
	}
	var old jsonScanner
	if op == UpdateInsert {
		if !f.has(canalOld) || f.vals[canalOld].kind != jArray {
			return errMissingField("Canal", "old")
		}
		old.reset(f.vals[canalOld].raw, &d.sc)
		if err := old.arrayStart(); err != nil {
			return err
		}
	}
	var ds jsonScanner
	ds.reset(f.vals[canalData].raw, &d.sc)
	if err := ds.arrayStart(); err != nil {
		return err
	}
	for k := range ds.elements(&err) {
		i := out.Len()
		if op != UpdateInsert {
			if err := d.fieldsInto(&ds, out, i); err != nil {
				return prefixErr(err, "data")
			}
			d.finishRow(m, out, i, op)
			continue
		}
		// The old element first, into a staging row; then the data
		// element into row i: updatePair makes both rows of them.
		more, err := old.nextElem(k == 0)
		if err != nil {
			return err
		}
		if !more {
			return sqlerr.New(sqlerr.InvalidParameterValue, "Canal UPDATE event has fewer \"old\" than \"data\" rows")
		}
		o, err := d.oldImage(&old)
		if err != nil {
			return err
		}
		if err := d.fieldsInto(&ds, out, i); err != nil {
			return prefixErr(err, "data")
		}
		d.updatePair(m, out, i, o)
	}
	return err
}
