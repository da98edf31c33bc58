package main

import (
	"strings"
	"testing"
)

// TestGoMemoryLimit checks the examples of "The process's memory" in
// docs/memory.md: the Go memory limit derived from -state-memory, the
// flag that sets it, and GOMEMLIMIT, which wins over both.
func TestGoMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"derived", nil, []string{"-state-memory", "256MB"}, `msg="Go memory limit set" bytes=536870912`},
		{"derived_large", nil, []string{"-state-memory", "2GB"}, `msg="Go memory limit set" bytes=3221225472`},
		{"flag", nil, []string{"-state-memory", "256MB", "-go-memory-limit", "1GB"}, `msg="Go memory limit set" bytes=1073741824`},
		{"environment", []string{"GOMEMLIMIT=700MiB"}, []string{"-state-memory", "256MB"}, `msg="Go memory limit taken from GOMEMLIMIT" GOMEMLIMIT=700MiB`},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startEnv(t, t.TempDir(), c.env, c.args...)
			if log := p.stderr.String(); !strings.Contains(log, c.want) {
				t.Fatalf("want a log line with %s, got:\n%s", c.want, log)
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		p := start(t, t.TempDir(), "-state-memory", "256MB", "-go-memory-limit", "-1")
		if log := p.stderr.String(); strings.Contains(log, "Go memory limit") {
			t.Fatalf("-go-memory-limit -1 set a limit:\n%s", log)
		}
	})
}
