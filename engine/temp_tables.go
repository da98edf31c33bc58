package engine

import (
	"errors"
	"fmt"
	"slices"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/sqlerr"
	"streamsql/storage"
)

// Temporary relations (CREATE TEMP TABLE, SEQUENCE, VIEW), as PostgreSQL
// has them: they live in the session's own schema pg_temp_N
// (catalog/temp.go), are found first by unqualified names, and go away
// with the session. A session takes its slot N and makes the schema at
// its first temporary relation; it drops what the schema holds when it
// ends, and the server drops what a crash left behind when it starts.
//
// Catalog changes are not transactional here, so what PostgreSQL's
// transactions do to temporary tables is done by hand at the end of each
// transaction (tempTxnEnd): a temporary relation made in a transaction
// that rolls back (or in a savepoint rolled back to) is dropped, ON
// COMMIT DROP tables are dropped when their transaction ends, and ON
// COMMIT DELETE ROWS tables are emptied in every transaction's commit
// (tempBeforeCommit).

// sessionTemp is what a session knows of its temporary relations.
type sessionTemp struct {
	// slot is the session's temporary schema slot (0: none yet), schema
	// that schema's name.
	slot   int
	schema string
	// created are the temporary relations made in the open transaction
	// (or the running statement outside one), oldest first: a rollback
	// drops them.
	created []uint32
	// dropAtEnd are the ON COMMIT DROP tables of the open transaction.
	dropAtEnd []uint32
	// deleteRows are the ON COMMIT DELETE ROWS tables.
	deleteRows map[uint32]bool
}

// engineTemp hands out the temporary schema slots (guarded by Engine.mu).
type engineTemp struct {
	slots map[int]bool
}

// ensureTemp returns the session's temporary schema, taking a slot and
// making the schema on first use. A schema left by the slot's earlier
// session is emptied first, as PostgreSQL does.
func (s *Session) ensureTemp() (string, error) {
	if s.temp.schema != "" {
		return s.temp.schema, nil
	}
	e := s.e
	e.mu.Lock()
	if e.temp.slots == nil {
		e.temp.slots = map[int]bool{}
	}
	n := 1
	for e.temp.slots[n] {
		n++
	}
	e.temp.slots[n] = true
	e.mu.Unlock()
	name, err := e.cat.EnsureTempSchema(n)
	if err == nil {
		err = e.dropTemp(name)
	}
	if err != nil {
		e.releaseTempSlot(n)
		return "", err
	}
	s.temp.slot, s.temp.schema = n, name
	return name, nil
}

func (e *Engine) releaseTempSlot(n int) {
	e.mu.Lock()
	delete(e.temp.slots, n)
	e.mu.Unlock()
}

// closeTemp drops the session's temporary relations as it ends.
func (s *Session) closeTemp() {
	if s.temp.schema == "" {
		return
	}
	if err := s.e.dropTemp(s.temp.schema); err != nil {
		// The next session in the slot, or the next start, drops them.
		s.e.log.Error("dropping the temporary relations of a session", "schema", s.temp.schema, "err", err)
	}
	s.e.releaseTempSlot(s.temp.slot)
	s.temp = sessionTemp{}
}

// dropTemp drops every relation in temporary schema schema ("" for all of
// them: at start, what a crash left behind), with what depends on it.
func (e *Engine) dropTemp(schema string) error {
	var errs []error
	for _, r := range e.cat.TempRelations(schema) {
		errs = append(errs, e.dropTempRelation(r.OID))
	}
	return errors.Join(errs...)
}

// dropTempRelation drops relation oid (if it still exists) with its
// dependents and its rows.
func (e *Engine) dropTempRelation(oid uint32) error {
	if _, ok := e.cat.ByOID(oid); !ok {
		return nil // gone with a relation dropped before it
	}
	dropped, err := e.cat.DropRelation(oid, true)
	if err != nil {
		return err
	}
	txn := e.db.Begin()
	if err := e.dropData(txn, dropped); err != nil {
		txn.Rollback()
		return err
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("drop temporary relation %d: %w", oid, err)
	}
	return nil
}

// creationSchema is the schema a relation that rv names is created in:
// the session's temporary schema for CREATE TEMP, for a name qualified
// with pg_temp and for an unqualified name when search_path names pg_temp
// first; else rv's schema or the current schema. A temporary relation in
// any other schema is refused (42P16), as in PostgreSQL.
func (s *Session) creationSchema(rv *pg.RangeVar) (schema string, err error) {
	temp := rv.Relpersistence == "t"
	switch sc := rv.Schemaname; {
	case sc == catalog.TempAlias || sc != "" && sc == s.temp.schema:
		temp = true
	case catalog.IsTempSchema(sc):
		if _, ok := s.e.cat.SchemaByName(sc); ok {
			return "", sqlerr.New(sqlerr.InvalidTableDefinition, "cannot create relations in temporary schemas of other sessions")
		}
		return sc, nil // the statement reports the missing schema
	case sc != "":
		if temp {
			return "", sqlerr.New(sqlerr.InvalidTableDefinition, "cannot create temporary relation in non-temporary schema")
		}
		return sc, nil
	case !temp:
		if !s.tempFirstInPath() {
			return s.currentSchema(), nil
		}
	}
	rv.Relpersistence = "t"
	return s.ensureTemp()
}

// tempFirstInPath reports whether search_path names pg_temp before any
// schema that exists, making it the schema of new relations.
func (s *Session) tempFirstInPath() bool {
	for _, p := range splitSearchPath(s.getSearchPath()) {
		if p == catalog.TempAlias || p == s.temp.schema && p != "" {
			return true
		}
		if _, ok := s.e.cat.SchemaByName(s.expandUser(p)); ok {
			return false
		}
	}
	return false
}

// noteTempCreated records a temporary relation just made: a rollback of
// its transaction drops it, and onCommit ("delete", "drop" or "") says
// what the end of a transaction does to it.
func (s *Session) noteTempCreated(r *catalog.Relation, onCommit pg.OnCommitAction) {
	s.temp.created = append(s.temp.created, r.OID)
	switch onCommit {
	case pg.OnCommitAction_ONCOMMIT_DELETE_ROWS:
		if s.temp.deleteRows == nil {
			s.temp.deleteRows = map[uint32]bool{}
		}
		s.temp.deleteRows[r.OID] = true
	case pg.OnCommitAction_ONCOMMIT_DROP:
		s.temp.dropAtEnd = append(s.temp.dropAtEnd, r.OID)
	}
}

// checkOnCommit refuses ON COMMIT on a relation that is not temporary
// (42P16), as PostgreSQL does.
func checkOnCommit(onCommit pg.OnCommitAction, temp bool) error {
	if temp || onCommit == pg.OnCommitAction_ONCOMMIT_NOOP || onCommit == pg.OnCommitAction_ON_COMMIT_ACTION_UNDEFINED ||
		onCommit == pg.OnCommitAction_ONCOMMIT_PRESERVE_ROWS {
		return nil
	}
	return sqlerr.New(sqlerr.InvalidTableDefinition, "ON COMMIT can only be used on temporary tables")
}

// tempBeforeCommit empties the session's ON COMMIT DELETE ROWS tables in
// txn, the transaction about to commit.
func (s *Session) tempBeforeCommit(txn *storage.Txn) error {
	for oid := range s.temp.deleteRows {
		r, ok := s.e.cat.ByOID(oid)
		if !ok {
			delete(s.temp.deleteRows, oid)
			continue
		}
		if err := r.IndexedTable().Truncate(txn); err != nil {
			return err
		}
	}
	return nil
}

// tempTxnEnd is the end of a transaction (a block, or a statement outside
// one) for the temporary relations: with a rollback those it made are
// dropped, and its ON COMMIT DROP tables go either way.
func (s *Session) tempTxnEnd(committed bool) {
	var drop []uint32
	if !committed {
		drop = slices.Clone(s.temp.created)
		slices.Reverse(drop)
	}
	drop = append(drop, s.temp.dropAtEnd...)
	s.temp.created, s.temp.dropAtEnd = nil, nil
	s.dropTempList(drop)
}

// tempRollbackTo drops the temporary relations made since mark (a
// savepoint rolled back to).
func (s *Session) tempRollbackTo(mark int) {
	if mark >= len(s.temp.created) {
		return
	}
	drop := slices.Clone(s.temp.created[mark:])
	slices.Reverse(drop)
	s.temp.created = s.temp.created[:mark]
	s.dropTempList(drop)
}

func (s *Session) dropTempList(drop []uint32) {
	for _, oid := range drop {
		delete(s.temp.deleteRows, oid)
		if err := s.e.dropTempRelation(oid); err != nil {
			s.e.log.Error("dropping a temporary relation at the end of its transaction", "oid", oid, "err", err)
		}
	}
}

// refuseTempDeps refuses a persistent object (what: "materialized
// views", "sinks") that reads a temporary relation, with PostgreSQL's
// error (0A000).
func (e *Engine) refuseTempDeps(deps map[uint32]bool, what string) error {
	for oid := range deps {
		if r, ok := e.cat.ByOID(oid); ok && r.Temporary() {
			return sqlerr.New(sqlerr.FeatureNotSupported, "%s must not use temporary tables or views", what)
		}
	}
	return nil
}

// usesTemp reports whether any of deps is a temporary relation.
func (e *Engine) usesTemp(deps map[uint32]bool) bool {
	return e.refuseTempDeps(deps, "") != nil
}

// persistentPath is path without temporary schemas: what a persistent
// object (a view, materialized view or sink) keeps to bind its names
// again later, so that a temporary relation never comes to shadow them.
func persistentPath(path []string) []string {
	return slices.DeleteFunc(slices.Clone(path), catalog.IsTempSchema)
}
