package engine_test

import (
	"context"
	"strings"
	"testing"

	"streamsql/engine"
)

// COPY TO in the text format writes a backslash, the control characters
// PostgreSQL names by a letter and the delimiter as backslash sequences,
// and every other byte as it is, exactly as PostgreSQL does.
func TestCopyToTextEscapes(t *testing.T) {
	_, conn := startConn(t, engine.Options{})
	ctx := context.Background()
	const value = `E'a\\b\nc\td\re\bf\fg\vh|i,j\001k'`
	for _, tc := range []struct{ sql, want string }{
		{"COPY (SELECT " + value + ", 2) TO STDOUT", "a\\\\b\\nc\\td\\re\\bf\\fg\\vh|i,j\x01k\t2\n"},
		{"COPY (SELECT " + value + ", 2) TO STDOUT (DELIMITER '|')", "a\\\\b\\nc\\td\\re\\bf\\fg\\vh\\|i,j\x01k|2\n"},
		{"COPY (SELECT " + value + ", 2) TO STDOUT (DELIMITER ',')", "a\\\\b\\nc\\td\\re\\bf\\fg\\vh|i\\,j\x01k,2\n"},
	} {
		var out strings.Builder
		if _, err := conn.PgConn().CopyTo(ctx, &out, tc.sql); err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		if out.String() != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.sql, out.String(), tc.want)
		}
	}
}
