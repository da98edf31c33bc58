// Package sqllogictest runs sqllogictest files against a PostgreSQL-compatible
// server over the wire protocol and reports, per file, how many records passed,
// failed and were skipped.
//
// A file is a list of records separated by blank lines. Each record is a
// statement (which must succeed or fail), a query (whose rows are compared with
// an expected result) or a directive (hash-threshold, halt, include, control,
// sleep). Records may be preceded by conditions (`skipif <engine>`,
// `onlyif <engine>`) and by `connection <name>`, which runs the record on a
// second named session of the same database.
//
// Two dialects of the format exist and a file's dialect follows from its name
// (see DetectFormat), unless its first line is "# format: classic" or
// "# format: rs":
//
//   - Classic (SQLite's sqllogictest), files ending in ".test": the type letters
//     after `query` format each value (I integer, truncated toward zero; R with
//     three decimals; T text), every value sits on a line of its own with rows
//     in row-major order, and a result may be given as
//     "N values hashing to <md5>", the MD5 of the formatted values each followed
//     by a newline. NULL prints "NULL", the empty string "(empty)".
//
//   - sqllogictest-rs (DataFusion, RisingWave), files ending in ".slt" or
//     ".slt.part": one row per line, values in the server's text format
//     separated by whitespace, compared after collapsing runs of whitespace.
//     It adds `statement error <regex>`, `query error <regex>`, multi-line
//     expected errors after `----`, `include <glob>`, `retry N backoff <dur>`
//     and `statement count N`. RisingWave's `system ok` blocks and `let`
//     records inspect that system's internals: they are skipped and counted as
//     skipped, and so is any later record that refers to a variable a skipped
//     `let` would have set.
//
// `control restart` restarts the server a file runs on, keeping its data,
// where the runner has a way to (Runner.Restart; TestSQLLogic restarts its
// streamsqld): state that must survive a restart is checked in .slt files
// that say so. The file's sessions connect again after it.
//
// Expected results are always compared the way their own text says: a hash
// line is compared as a hash whatever the threshold, value lines as values.
// Query labels are read but not cross-checked between queries.
//
// Each file must start from an empty database; the runner itself only
// connects to the DSN it is given. StartServer starts a private streamsqld for
// one file and CreateDatabase makes a fresh database on a PostgreSQL server, so
// the same files also check that their expectations hold on PostgreSQL.
package sqllogictest
