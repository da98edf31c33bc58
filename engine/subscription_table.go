package engine

// Durable subscriptions on a table. A table's rows commit with each DML
// statement, not at epoch barriers, so the table itself cannot hand a
// FULL cursor a snapshot that lines up with an epoch of the change log.
// A subscription on a table therefore runs a feed job of its own: a
// materialized copy of the table's columns (SELECT cols FROM table),
// whose materialize step writes the change log exactly as a view's does,
// in the same epoch batch as the copy. Cursors, retention, positions and
// privileges are then those of a subscription on a view; the cost is a
// second copy of the table's rows, for as long as the subscription lives.
//
// The feed job's id, which is also the id of the copy's key span, is
// tableFeedBase plus the subscription's OID: catalog OIDs grow one by one
// from catalog.FirstUserOID and stay far below the gap between
// tableFeedBase and tempJobBase. The subscription records the columns it
// logs (the table's visible columns when it was created), so a column
// added to the table later changes neither the copy nor the log.

import (
	"context"
	"fmt"
	"strings"

	"streamsql/catalog"
	"streamsql/exec/stream"
	"streamsql/lower"
	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
	"streamsql/storage"
	"streamsql/udf"
)

// tableFeedBase is the first id of the feed jobs of subscriptions on
// tables.
const tableFeedBase = 0xE000_0000

// tableFeedID is the id of the feed job of subscription sub on a table.
func tableFeedID(sub uint32) uint32 { return tableFeedBase + sub }

// onTable reports whether subscription r follows a table: only those
// record the columns they log.
func onTable(r *catalog.Relation) bool { return len(r.Columns) > 0 }

// loggedView is the id of the materialize step that writes the change
// log of subscription r: its view's, or its feed job's for a table.
func loggedView(r *catalog.Relation) uint32 {
	if onTable(r) {
		return tableFeedID(r.OID)
	}
	return r.DependsOn[0]
}

// subscriptionColumns are the columns subscription r logs: those it
// recorded (on a table), or its view's visible columns.
func subscriptionColumns(r, view *catalog.Relation) []catalog.Column {
	if onTable(r) {
		return r.VisibleColumns()
	}
	return view.VisibleColumns()
}

// subscriptionStore is the storage whose rows a FULL cursor of r reads:
// the view, or the feed job's copy of the table.
func subscriptionStore(r, view *catalog.Relation) *storage.Table {
	if !onTable(r) {
		return view.Table()
	}
	c := &catalog.Relation{OID: tableFeedID(r.OID), Name: r.Name, Kind: catalog.KindMatView, Columns: r.Columns, ViewKey: r.ViewKey}
	return c.Table()
}

// newTableSubscription fills in subscription r on table t before it is
// created: the columns it logs and the feed job's definition.
func newTableSubscription(r, t *catalog.Relation) {
	var names []string
	for _, c := range t.VisibleColumns() {
		r.Columns = append(r.Columns, catalog.Column{Name: c.Name, Type: c.Type, NotNull: c.NotNull})
		names = append(names, udf.QuoteIdent(c.Name))
	}
	r.Definition = "SELECT " + strings.Join(names, ", ") + " FROM " + udf.QuoteIdent(t.Schema) + "." + udf.QuoteIdent(t.Name)
}

// tableFeedSpec plans the feed job of subscription r on a table.
func (e *Engine) tableFeedSpec(r *catalog.Relation) (stream.JobSpec, *lower.StreamPlan, error) {
	stmts, err := parser.Parse(r.Definition)
	if err != nil || len(stmts) != 1 || stmts[0].AST.GetSelectStmt() == nil {
		return stream.JobSpec{}, nil, fmt.Errorf("subscription %s has an unreadable definition", r.Name)
	}
	var names []string
	for _, c := range r.VisibleColumns() {
		names = append(names, c.Name)
	}
	id := tableFeedID(r.OID)
	p := e.streamPlanner(r.Definition, catalog.OwnerOf(r))
	opts := lower.StreamOptions{ViewID: id, Name: r.Name, ColNames: names, Parallelism: 1}
	plan, err := e.planStream(p, stmts[0].AST.GetSelectStmt(), opts)
	if err != nil {
		return stream.JobSpec{}, nil, err
	}
	spec := stream.JobSpec{ID: id, Name: r.Name, Plan: plan.Root, StateIDs: r.StateTables, Upstreams: plan.Upstreams,
		Tables: plan.Tables, Role: catalog.OwnerOf(r)}
	return spec, plan, nil
}

// startTableSubscription plans and starts the feed job of subscription
// r, just created, and returns once the copy holds the table's rows; the
// log starts at the barrier after that (refreshChangeLogs), as it does
// for a new subscription on a view. On failure the caller drops r.
func (e *Engine) startTableSubscription(ctx context.Context, r *catalog.Relation) (*catalog.Relation, error) {
	if r.OID >= tempJobBase-tableFeedBase {
		return r, fmt.Errorf("subscription OID %d is past the range of feed jobs", r.OID)
	}
	_, plan, err := e.tableFeedSpec(r)
	if err != nil {
		return r, err
	}
	n := r.Clone()
	n.ViewKey = plan.Key
	if err := e.allocState(n, plan.Root); err != nil {
		return r, err
	}
	updated, err := e.cat.UpdateRelation(n)
	if err != nil {
		return r, err
	}
	spec, _, err := e.tableFeedSpec(updated)
	if err == nil {
		err = e.coord.Add(ctx, spec)
	}
	return updated, err
}

// resumeTableSubscriptions resumes, after a restart and before the
// coordinator runs, the feed jobs of the subscriptions on tables that
// committed an epoch, and returns the others: startTableFeeds starts
// those once it runs.
func (e *Engine) resumeTableSubscriptions() (fresh []*catalog.Relation) {
	for _, r := range e.cat.Relations() {
		if r.Kind != catalog.KindSubscription || !onTable(r) {
			continue
		}
		spec, _, err := e.tableFeedSpec(r)
		var ok bool
		if err == nil {
			ok, err = e.coord.HasCommitted(spec.ID)
		}
		if err == nil && !ok {
			fresh = append(fresh, r)
			continue
		}
		if err == nil {
			err = e.coord.Resume(spec)
		}
		if err != nil {
			e.log.Error("cannot resume the feed job of a subscription", "subscription", r.Name, "err", err)
		}
	}
	return fresh
}

// startTableFeeds starts afresh the feed jobs of subscriptions on tables
// whose first epoch never committed; each one's log starts once its copy
// holds the table.
func (e *Engine) startTableFeeds(fresh []*catalog.Relation) {
	for _, r := range fresh {
		spec, _, err := e.tableFeedSpec(r)
		if err == nil {
			err = e.coord.Add(context.Background(), spec)
		}
		if err == nil {
			err = e.refreshChangeLogs(context.Background(), loggedView(r))
		}
		if err != nil {
			e.log.Error("cannot start the feed job of a subscription", "subscription", r.Name, "err", err)
		}
	}
}

// checkTableSubscriptionReader refuses a reader of subscription r on
// table t whom t's row-level security binds, unless it is r's owner: the
// copy holds the rows its owner's policies let through.
func (s *Session) checkTableSubscriptionReader(r, t *catalog.Relation) error {
	if !onTable(r) || s.currentUser() == catalog.OwnerOf(r) {
		return nil
	}
	bound, err := s.e.rowSecurityBinds(t, s.currentUser(), true)
	if err != nil {
		return err
	}
	if bound {
		return sqlerr.New(sqlerr.InsufficientPrivilege, "subscription %q follows table %q, which has row-level security: only its owner can read it", r.Name, t.Name).
			WithHint("Create a subscription of your own on the table.")
	}
	return nil
}
