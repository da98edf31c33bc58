// Command slt runs sqllogictest files over the PostgreSQL wire protocol.
//
//	slt [-dsn DSN | -server path/to/streamsqld] [-engine streamsql|postgresql] [-v] [-rewrite] files-or-globs...
//
// With -server every file gets a fresh streamsqld on a free loopback port
// with a temporary data directory. With -dsn and -engine postgresql every file
// gets a fresh database on that server (the DSN's user must be able to create
// databases); with -dsn alone all files share the database. Arguments are
// files, globs, or directories searched recursively for .slt and .test files.
// The last line is "N passed, N failed, N skipped" over all records; the exit
// code is 1 when any record failed. -rewrite replaces the result block of each
// query whose rows differ with what the server returned (errors are never
// rewritten), for writing new files against PostgreSQL; review the diff.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"streamsql/sqllogictest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("slt", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dsn := fl.String("dsn", "", "PostgreSQL DSN to run against")
	server := fl.String("server", "", "path of a streamsqld binary; each file gets a fresh server")
	engine := fl.String("engine", "streamsql", "engine name for skipif/onlyif (streamsql or postgresql)")
	verbose := fl.Bool("v", false, "print every record as it runs")
	timeout := fl.Duration("record-timeout", 2*time.Minute, "time limit of one record")
	rewrite := fl.Bool("rewrite", false, "write the rows each mismatching query returned into its file (review the diff)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: slt [-dsn DSN | -server path/to/streamsqld] [-engine streamsql|postgresql] [-v] files-or-globs...")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if (*dsn == "") == (*server == "") || fl.NArg() == 0 {
		fl.Usage()
		return 2
	}
	files, err := expand(fl.Args())
	if err != nil {
		fmt.Fprintln(stderr, "slt:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	runner := &sqllogictest.Runner{Engine: *engine, RecordTimeout: *timeout, Rewrite: *rewrite}
	if *verbose {
		runner.Log = stdout
	}
	dbs := &sqllogictest.Databases{AdminDSN: *dsn}
	var passed, failed, skipped int
	for _, f := range files {
		res := runFile(ctx, runner, dbs, *server, *dsn, *engine, f)
		passed += res.Passed
		failed += res.Failed
		skipped += res.Skipped
		status := "PASS"
		if res.Failed > 0 {
			status = "FAIL"
		}
		fmt.Fprintf(stdout, "%s %s: %d passed, %d failed, %d skipped\n", status, f, res.Passed, res.Failed, res.Skipped)
		if res.Err != nil {
			fmt.Fprintf(stdout, "  error: %v\n", res.Err)
		}
		for _, fail := range res.Failures {
			fmt.Fprintln(stdout, indent(fail.String()))
		}
		if extra := res.Failed - len(res.Failures); extra > 0 && res.Err == nil {
			fmt.Fprintf(stdout, "  ... and %d more failures\n", extra)
		}
		if len(res.Rewrites) > 0 {
			if err := sqllogictest.ApplyRewrites(res.Rewrites); err != nil {
				fmt.Fprintln(stderr, "slt: rewrite:", err)
				return 2
			}
			fmt.Fprintf(stdout, "  rewrote %d result blocks\n", len(res.Rewrites))
		}
		if ctx.Err() != nil {
			break
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 {
		return 1
	}
	return 0
}

// runFile gives one file its fresh state and runs it.
func runFile(ctx context.Context, r *sqllogictest.Runner, dbs *sqllogictest.Databases,
	server, dsn, engine, file string) *sqllogictest.FileResult {
	switch {
	case server != "":
		s, err := sqllogictest.StartServer(ctx, server, 60*time.Second)
		if err != nil {
			return &sqllogictest.FileResult{File: file, Failed: 1, Err: err}
		}
		defer s.Stop()
		fileRunner := *r
		fileRunner.Restart = s.Restart
		res := fileRunner.RunFile(ctx, s.DSN, file)
		if exited, werr := s.Exited(); exited {
			res.Err = fmt.Errorf("server exited during the file: %v\n%s", werr, lastLines(s.Log(), 30))
			if res.Failed == 0 {
				res.Failed = 1
			}
		}
		return res
	case engine == "postgresql":
		fresh, drop, err := dbs.Create(ctx)
		if err != nil {
			return &sqllogictest.FileResult{File: file, Failed: 1, Err: err}
		}
		defer drop(context.Background())
		return r.RunFile(ctx, fresh, file)
	default:
		return r.RunFile(ctx, dsn, file)
	}
}

// expand turns arguments into a sorted, de-duplicated list of files.
func expand(args []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, a := range args {
		matches, err := filepath.Glob(a)
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s: no such file", a)
		}
		sort.Strings(matches)
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				return nil, err
			}
			if !st.IsDir() {
				add(m)
				continue
			}
			err = filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && (strings.HasSuffix(p, ".slt") || strings.HasSuffix(p, ".test")) {
					add(p)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
