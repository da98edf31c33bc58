package auth

import (
	"strings"
	"testing"
)

// pgVerifier and pgMD5 were made by PostgreSQL 15 for the role
// hba_fixture_tmp with the password "correct horse".
const (
	pgVerifier = "SCRAM-SHA-256$4096:6ailY/wiJ8Q5RT7P+Cq/5Q==$ekrW77u/RUEc5v+0Ximfa4OctHuxa2KP63PKqWkOMUQ=:gdTx1+hmRC9PpcXaatO4itGzJgNCkd0bVSr38ornVho="
	pgMD5      = "md53bbc0c2309b3cfe7d413ced7b7b74daa"
)

func TestPostgreSQLSecrets(t *testing.T) {
	if Kind(pgVerifier) != SCRAMSecret || Kind(pgMD5) != MD5Secret || Kind("plain") != NoSecret {
		t.Fatalf("kinds: %v %v %v", Kind(pgVerifier), Kind(pgMD5), Kind("plain"))
	}
	if !CheckPassword(pgVerifier, "hba_fixture_tmp", "correct horse") {
		t.Error("PostgreSQL's verifier does not accept its password")
	}
	if CheckPassword(pgVerifier, "hba_fixture_tmp", "correct horse!") {
		t.Error("PostgreSQL's verifier accepts a wrong password")
	}
	if !CheckPassword(pgMD5, "hba_fixture_tmp", "correct horse") || CheckPassword(pgMD5, "other", "correct horse") {
		t.Error("md5 secret check")
	}
	if MD5Hash("hba_fixture_tmp", "correct horse") != pgMD5 {
		t.Errorf("MD5Hash = %s, want %s", MD5Hash("hba_fixture_tmp", "correct horse"), pgMD5)
	}
	v, err := ParseVerifier(pgVerifier)
	if err != nil || v.String() != pgVerifier || v.Iterations != 4096 {
		t.Fatalf("round trip: %v %v", v, err)
	}
	// The same salt and iterations give PostgreSQL's keys.
	again, err := verifierWithSalt("correct horse", v.Salt, v.Iterations)
	if err != nil || again.String() != pgVerifier {
		t.Errorf("derived %s, want %s (%v)", again, pgVerifier, err)
	}
}

func TestEncryptPassword(t *testing.T) {
	s, err := EncryptPassword("s3cret", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, "SCRAM-SHA-256$4096:") || strings.Contains(s, "s3cret") {
		t.Fatalf("stored %q", s)
	}
	if !CheckPassword(s, "u", "s3cret") || CheckPassword(s, "u", "S3cret") {
		t.Error("check against a new verifier")
	}
	s2, _ := EncryptPassword("s3cret", 0)
	if s2 == s {
		t.Error("two verifiers of one password share a salt")
	}
	for _, given := range []string{pgVerifier, pgMD5} {
		if got, err := EncryptPassword(given, 0); err != nil || got != given {
			t.Errorf("EncryptPassword(%q) = %q, %v; want it kept", given, got, err)
		}
	}
	for _, bad := range []string{"SCRAM-SHA-256$x", "SCRAM-SHA-256$4096:abc$def:ghi", "SCRAM-SHA-256$0:" + strings.Repeat("A", 24) + "$a:b"} {
		if _, err := ParseVerifier(bad); err == nil {
			t.Errorf("ParseVerifier(%q) accepted", bad)
		}
	}
}
