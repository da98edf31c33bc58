package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"streamsql/auth"
	"streamsql/httpapi"
	"streamsql/internal/sqltest"
)

// HTTP basic auth against a SCRAM verifier is checked once and then
// served from a cache: with a verifier of 300,000 PBKDF2 rounds, ten more
// requests take less time than three checks would. A password change,
// NOLOGIN and DROP ROLE take effect on the next request.
func TestBasicAuthCache(t *testing.T) {
	e, dsn := serve(t)
	conn := sqltest.Connect(t, dsn)
	slow, err := auth.EncryptPassword("wonderland", 300_000)
	if err != nil {
		t.Fatal(err)
	}
	run := func(q string) {
		t.Helper()
		sqltest.Exec(t, conn, q)
	}
	run("CREATE ROLE alice LOGIN PASSWORD '" + slow + "'")
	hba, err := auth.ParseHBA(strings.NewReader("host all all 127.0.0.1/32 scram-sha-256\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.RequireAuth(httpapi.New(e, nil), hba, e, nil))
	defer srv.Close()
	get := func(user, password string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		req.SetBasicAuth(user, password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	start := time.Now()
	if code := get("alice", "wonderland"); code != 200 {
		t.Fatalf("first request: %d", code)
	}
	first := time.Since(start)
	start = time.Now()
	for i := 0; i < 10; i++ {
		if code := get("alice", "wonderland"); code != 200 {
			t.Fatalf("request %d: %d", i+2, code)
		}
	}
	if ten := time.Since(start); ten > 3*first {
		t.Errorf("10 requests after the first took %s, the first (one password check) %s: the check is not cached", ten, first)
	} else {
		t.Logf("first request %s, the next 10 %s", first, ten)
	}
	if code := get("alice", "wonderland!"); code != 401 {
		t.Fatalf("a wrong password: %d", code)
	}

	run("ALTER ROLE alice PASSWORD 'looking-glass'")
	if code := get("alice", "wonderland"); code != 401 {
		t.Fatalf("the old password after a change: %d", code)
	}
	if code := get("alice", "looking-glass"); code != 200 {
		t.Fatalf("the new password: %d", code)
	}
	run("ALTER ROLE alice NOLOGIN")
	if code := get("alice", "looking-glass"); code != 401 {
		t.Fatalf("after NOLOGIN: %d", code)
	}
	run("ALTER ROLE alice LOGIN")
	if code := get("alice", "looking-glass"); code != 200 {
		t.Fatalf("after LOGIN again: %d", code)
	}
	run("DROP ROLE alice")
	if code := get("alice", "looking-glass"); code != 401 {
		t.Fatalf("after DROP ROLE: %d", code)
	}
}
