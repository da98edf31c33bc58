package sqllogictest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunnerFixtures runs the runner's own fixture files on PostgreSQL and
// checks the exact counts, so a runner that passes everything (or nothing)
// is caught.
func TestRunnerFixtures(t *testing.T) {
	dsn := os.Getenv("SLT_PG_DSN")
	if dsn == "" {
		t.Skip("SLT_PG_DSN not set: no PostgreSQL to run the runner fixtures on")
	}
	dbs := &Databases{AdminDSN: dsn}
	runner := &Runner{Engine: "postgresql", RecordTimeout: 30 * time.Second, MaxFailures: 100}
	for _, tc := range []struct {
		file                    string
		passed, failed, skipped int
		reasons                 []string // substrings of the failure reasons, in order
	}{
		{"features.slt", 19, 0, 5, nil},
		{"classic.slt", 5, 0, 0, nil},
		{"failures.slt", 0, 9, 0, []string{
			"unexpected error: ERROR: column \"nope\" does not exist (SQLSTATE 42703)",
			"expected an error",
			"error does not match /23505/",
			"result mismatch", "result mismatch", "result mismatch", "result mismatch", "result mismatch",
			"statement affected 1 rows, expected 2",
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			fresh, drop, err := dbs.Create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer drop(context.Background())
			res := runner.RunFile(ctx, fresh, filepath.Join("testdata", "runner", tc.file))
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if res.Passed != tc.passed || res.Failed != tc.failed || res.Skipped != tc.skipped {
				t.Errorf("got %d passed, %d failed, %d skipped; want %d, %d, %d",
					res.Passed, res.Failed, res.Skipped, tc.passed, tc.failed, tc.skipped)
				for _, f := range res.Failures {
					t.Log(f)
				}
			}
			if tc.reasons != nil {
				if len(res.Failures) != len(tc.reasons) {
					t.Fatalf("%d failure details, want %d", len(res.Failures), len(tc.reasons))
				}
				for i, want := range tc.reasons {
					if !strings.Contains(res.Failures[i].Reason, want) {
						t.Errorf("failure %d: reason %q does not contain %q", i, res.Failures[i].Reason, want)
					}
				}
			}
		})
	}
}

// A file that cannot be parsed counts as one failure and runs nothing.
func TestRunFileParseError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.slt")
	if err := os.WriteFile(p, []byte("nonsense here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &Runner{Engine: "streamsql"}
	res := r.RunFile(context.Background(), "postgres://nobody@127.0.0.1:1/x", p)
	if res.Err == nil || res.Failed != 1 || res.Passed != 0 {
		t.Errorf("got %+v", res)
	}
}

// Skipped records never touch the server, and halt stops the file.
func TestRunSkipsWithoutServer(t *testing.T) {
	recs := parseString(t, "skipif streamsql\nstatement ok\nSELECT 1\n\nsystem ok\necho hi\n\nonlyif streamsql\nhalt\n\nstatement ok\nSELECT 1\n", FormatRS)
	r := &Runner{Engine: "streamsql"}
	res := r.Run(context.Background(), "postgres://nobody@127.0.0.1:1/x", "t", recs)
	if res.Passed != 0 || res.Failed != 0 || res.Skipped != 2 {
		t.Errorf("got %+v", res)
	}
	// With another engine neither condition holds back its record: both
	// statements run (and fail: nothing listens on port 1).
	r.Engine = "postgresql"
	res = r.Run(context.Background(), "postgres://nobody@127.0.0.1:1/x", "t", recs)
	if res.Passed != 0 || res.Failed != 2 || res.Skipped != 1 {
		t.Errorf("got %+v", res)
	}
}

// control restart calls the runner's restart hook, fails when the hook
// does, and fails a runner that has none rather than pass over it.
func TestRunRestartControl(t *testing.T) {
	recs := parseString(t, "control restart\n\ncontrol restart\n", FormatRS)
	const dsn = "postgres://nobody@127.0.0.1:1/x"
	r := &Runner{Engine: "streamsql"}
	if res := r.Run(context.Background(), dsn, "t", recs); res.Failed != 2 || res.Passed != 0 {
		t.Errorf("without a hook: got %+v", res)
	}
	calls := 0
	r.Restart = func(context.Context) error { calls++; return nil }
	if res := r.Run(context.Background(), dsn, "t", recs); res.Failed != 0 || calls != 2 {
		t.Errorf("with a hook: got %+v after %d calls", res, calls)
	}
	r.Restart = func(context.Context) error { return errors.New("no data directory") }
	if res := r.Run(context.Background(), dsn, "t", recs); res.Failed != 2 || !strings.Contains(res.Failures[0].Reason, "no data directory") {
		t.Errorf("with a failing hook: got %+v", res)
	}
}
