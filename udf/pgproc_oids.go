package udf

// pgProcOIDs maps "name(argument types)" to PostgreSQL 15's pg_proc oid.
var pgProcOIDs = map[string]uint32{}
