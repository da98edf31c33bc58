package exec

import (
	"errors"
	"strings"
	"testing"

	"streamsql/sql/sqlerr"
)

func TestParseAndFormatMemSize(t *testing.T) {
	for in, want := range map[string]int64{
		"64MB": 64 << 20, "'1GB'": 1 << 30, "512kB": 512 << 10, "65536": 64 << 20, "100B": 100,
		"2 TB": 2 << 40, "1.5GB": 3 << 29, "4mb": 4 << 20,
	} {
		got, err := ParseMemSize(in)
		if err != nil || got != want {
			t.Errorf("ParseMemSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MB", "10 parsecs", "-5MB", "1e"} {
		if _, err := ParseMemSize(bad); err == nil {
			t.Errorf("ParseMemSize(%q) accepted", bad)
		}
	}
	// The one parser with the other spelling of a plain number: bytes.
	for in, want := range map[string]int64{"65536": 65536, "64kB": 64 << 10, "1.5GiB": 3 << 29, "8 g": 8 << 30} {
		if got, err := ParseSize(in, PlainBytes); err != nil || got != want {
			t.Errorf("ParseSize(%q, PlainBytes) = %d, %v; want %d", in, got, err, want)
		}
	}
	for n, want := range map[int64]string{64 << 20: "64MB", 1 << 30: "1GB", 1536 << 10: "1536kB", 100: "100B"} {
		if got := FormatMemSize(n); got != want {
			t.Errorf("FormatMemSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// Statements of one connection share its query_mem; all connections
// share the server's total. A refusal says which limit it hit.
func TestMemPoolsNest(t *testing.T) {
	server := NewMemPool(3 << 20)
	conn1 := NewConnPool(server, 2<<20)
	conn2 := NewConnPool(server, 2<<20)
	a := NewMemAccount(conn1, 2<<20, "")
	b := NewMemAccount(conn1, 2<<20, "")
	c := NewMemAccount(conn2, 2<<20, "")

	if err := a.Grow("Sort", 1500<<10); err != nil {
		t.Fatal(err)
	}
	// The same connection's second portal: its own limit has room, the
	// connection's has not.
	err := b.Grow("HashAgg", 1<<20)
	var se *sqlerr.Error
	if !errors.As(err, &se) || se.Code != sqlerr.OutOfMemory || !strings.Contains(se.Detail, "connection's open statements") {
		t.Fatalf("second portal: %v (%v)", err, se)
	}
	if conn1.Used() != 1500<<10 || server.Used() != 1500<<10 {
		t.Fatalf("a refusal left a reservation: conn %d, server %d", conn1.Used(), server.Used())
	}
	// Another connection: its own pool has room, the server's total not.
	if err := c.Grow("HashJoin", 1<<20); err != nil {
		t.Fatal(err)
	}
	err = c.Grow("HashJoin", 600<<10)
	if !errors.As(err, &se) || !strings.Contains(se.Detail, "-total-query-mem 3MB") {
		t.Fatalf("server total: %v (%v)", err, se)
	}
	// ForceGrow and Close: what a statement still holds goes back.
	c.ForceGrow(10 << 20)
	if c.Peak() != 11<<20 {
		t.Errorf("peak %d", c.Peak())
	}
	c.Close()
	a.Shrink(1500 << 10)
	if conn1.Used() != 0 || conn2.Used() != 0 || server.Used() != 0 {
		t.Fatalf("after close: conn1 %d, conn2 %d, server %d", conn1.Used(), conn2.Used(), server.Used())
	}
	// A closed account no longer counts in the pools.
	c.Shrink(5 << 20)
	if server.Used() != 0 {
		t.Fatalf("shrink after close reached the pool: %d", server.Used())
	}
}
