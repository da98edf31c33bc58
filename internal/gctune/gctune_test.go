package gctune

import (
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"testing"
)

// TestApply checks the settings in a fresh process each: the defaults
// without GOGC and GOMEMLIMIT, explicit values, and the environment
// winning over both.
func TestApply(t *testing.T) {
	if os.Getenv("GCTUNE_CHILD") != "" {
		percent, _ := strconv.Atoi(os.Getenv("GCTUNE_PERCENT"))
		limit, _ := strconv.ParseInt(os.Getenv("GCTUNE_LIMIT"), 10, 64)
		s := Apply(percent, limit)
		// The runtime's own view, not what Apply says.
		gotPercent := debug.SetGCPercent(-1)
		gotLimit := debug.SetMemoryLimit(-1)
		os.Stdout.WriteString(strconv.Itoa(gotPercent) + " " + strconv.FormatInt(gotLimit, 10) + " " +
			strconv.FormatBool(s.FromEnvGOGC) + " " + strconv.FormatBool(s.FromEnvMemLim) + "\n")
		return
	}
	soft := strconv.FormatInt(SoftLimit(), 10)
	if SoftLimit() <= 0 {
		t.Fatalf("SoftLimit() = %d on a Linux machine", SoftLimit())
	}
	for _, tc := range []struct {
		name, percent, limit string
		env                  []string
		want                 string
	}{
		{"defaults", "0", "0", nil, "400 " + soft + " false false"},
		{"explicit", "250", "1073741824", nil, "250 1073741824 false false"},
		{"no limit", "0", "-1", nil, "400 9223372036854775807 false false"},
		{"GOGC wins", "0", "0", []string{"GOGC=150"}, "150 " + soft + " true false"},
		{"GOMEMLIMIT wins", "300", "0", []string{"GOMEMLIMIT=2GiB"}, "300 2147483648 false true"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestApply$")
		cmd.Env = append(os.Environ(), "GCTUNE_CHILD=1", "GCTUNE_PERCENT="+tc.percent, "GCTUNE_LIMIT="+tc.limit, "GOGC=", "GOMEMLIMIT=")
		cmd.Env = filterEmpty(append(cmd.Env, tc.env...))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := string(out)
		if len(got) < len(tc.want) || got[:len(tc.want)] != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// filterEmpty drops GOGC= and GOMEMLIMIT= entries that a later entry does
// not replace, so that the child sees them unset rather than empty.
func filterEmpty(env []string) []string {
	last := map[string]string{}
	var order []string
	for _, kv := range env {
		k := kv
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				k = kv[:i]
				break
			}
		}
		if _, ok := last[k]; !ok {
			order = append(order, k)
		}
		last[k] = kv
	}
	var out []string
	for _, k := range order {
		if last[k] == k+"=" {
			continue
		}
		out = append(out, last[k])
	}
	return out
}
