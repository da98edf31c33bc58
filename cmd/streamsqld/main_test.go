package main

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"": 0, "-1": -1, "1024": 1024, "64kB": 64 << 10, "512MB": 512 << 20, "8GB": 8 << 30,
		"1.5GiB": 3 << 29, "2 TB": 2 << 40, "100b": 100,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"lots", "12XB", "-5MB", "MB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) gave no error", bad)
		}
	}
}
