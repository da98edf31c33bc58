package engine

import (
	"strings"
	"unicode"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// statementNames are the SQL names of the statements whose parse node
// name does not spell them (PostgreSQL's command tags).
var statementNames = map[string]string{
	"CreatedbStmt":            "CREATE DATABASE",
	"DropdbStmt":              "DROP DATABASE",
	"AlterDatabaseStmt":       "ALTER DATABASE",
	"CreateSeqStmt":           "CREATE SEQUENCE",
	"AlterSeqStmt":            "ALTER SEQUENCE",
	"CreateTrigStmt":          "CREATE TRIGGER",
	"CreateEventTrigStmt":     "CREATE EVENT TRIGGER",
	"AlterEventTrigStmt":      "ALTER EVENT TRIGGER",
	"CreatePlangStmt":         "CREATE LANGUAGE",
	"CreateFdwStmt":           "CREATE FOREIGN DATA WRAPPER",
	"AlterFdwStmt":            "ALTER FOREIGN DATA WRAPPER",
	"CreateForeignServerStmt": "CREATE SERVER",
	"AlterForeignServerStmt":  "ALTER SERVER",
	"CreateForeignTableStmt":  "CREATE FOREIGN TABLE",
	"CreateUserMappingStmt":   "CREATE USER MAPPING",
	"RuleStmt":                "CREATE RULE",
	"CheckPointStmt":          "CHECKPOINT",
	"LockStmt":                "LOCK TABLE",
	"SecLabelStmt":            "SECURITY LABEL",
	"CreateTableAsStmt":       "CREATE TABLE AS",
	"ClusterStmt":             "CLUSTER",
	"VacuumStmt":              "VACUUM",
	"CompositeTypeStmt":       "CREATE TYPE",
	"CreateEnumStmt":          "CREATE TYPE",
	"CreateRangeStmt":         "CREATE TYPE",
	"CreateAmStmt":            "CREATE ACCESS METHOD",
	"CreateOpClassStmt":       "CREATE OPERATOR CLASS",
	"CreateOpFamilyStmt":      "CREATE OPERATOR FAMILY",
	"AlterOpFamilyStmt":       "ALTER OPERATOR FAMILY",
	"CreateConversionStmt":    "CREATE CONVERSION",
	"CreateCastStmt":          "CREATE CAST",
	"CreateStatsStmt":         "CREATE STATISTICS",
	"CreatePublicationStmt":   "CREATE PUBLICATION",
	"CreateSubscriptionStmt":  "CREATE SUBSCRIPTION",
	"DeclareCursorStmt":       "DECLARE CURSOR",
	"ClosePortalStmt":         "CLOSE",
	"FetchStmt":               "FETCH",
	"DoStmt":                  "DO",
	"CallStmt":                "CALL",
	"ReassignOwnedStmt":       "REASSIGN OWNED",
	"DropOwnedStmt":           "DROP OWNED",
	"ImportForeignSchemaStmt": "IMPORT FOREIGN SCHEMA",
	"CreateTransformStmt":     "CREATE TRANSFORM",
	"AlterSystemStmt":         "ALTER SYSTEM",
	"LoadStmt":                "LOAD",
	"RefreshMatViewStmt":      "REFRESH MATERIALIZED VIEW",
	"ReindexStmt":             "REINDEX",
	"MergeStmt":               "MERGE",
}

// statementName names the statement of parse node n as SQL does
// ("DECLARE CURSOR", "CREATE TRIGGER"), for messages about it.
func statementName(n *pg.Node) string {
	kind := strings.TrimPrefix(nodeKind(n), "pg_query.")
	kind = strings.TrimPrefix(kind, "Node_")
	switch {
	case n.GetDefineStmt() != nil:
		return "CREATE " + objectName(n.GetDefineStmt().Kind)
	case n.GetDropStmt() != nil:
		return "DROP " + objectName(n.GetDropStmt().RemoveType)
	case n.GetRenameStmt() != nil:
		return "ALTER " + objectName(n.GetRenameStmt().RenameType)
	case n.GetCommentStmt() != nil:
		return "COMMENT ON " + objectName(n.GetCommentStmt().Objtype)
	}
	if name, ok := statementNames[kind]; ok {
		return name
	}
	// The others spell their statement in words: AlterCollationStmt is
	// ALTER COLLATION.
	var words []string
	start := 0
	base := strings.TrimSuffix(kind, "Stmt")
	for i, r := range base {
		if i > 0 && unicode.IsUpper(r) {
			words = append(words, strings.ToUpper(base[start:i]))
			start = i
		}
	}
	words = append(words, strings.ToUpper(base[start:]))
	return strings.Join(words, " ")
}

// objectName is the SQL name of an object type: OBJECT_FOREIGN_TABLE is
// FOREIGN TABLE.
func objectName(t pg.ObjectType) string {
	return strings.ReplaceAll(strings.TrimPrefix(t.String(), "OBJECT_"), "_", " ")
}
