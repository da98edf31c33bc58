// Package auth holds what StreamSQL needs to decide who a client is:
// password secrets as PostgreSQL stores them (SCRAM-SHA-256 verifiers and
// legacy md5 hashes), and host-based authentication rules in the form of
// PostgreSQL's pg_hba.conf.
//
// A role's password is never kept in clear. CREATE ROLE ... PASSWORD 'x'
// stores a SCRAM-SHA-256 verifier in PostgreSQL's text form
//
//	SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
//
// from which the server can check a SCRAM proof (and a cleartext password)
// but which does not reveal the password. A secret given already in that
// form, or as an md5 hash ("md5" and 32 hex digits), is stored as is, as
// PostgreSQL does, so that dumps of PostgreSQL roles load unchanged.
package auth

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/xdg-go/scram"
)

// DefaultIterations is PostgreSQL's scram_iterations default.
const DefaultIterations = 4096

// saltLen is the salt length PostgreSQL uses (SCRAM_DEFAULT_SALT_LEN).
const saltLen = 16

// SecretKind says how a stored secret can be checked.
type SecretKind uint8

const (
	// NoSecret: the role has no password; password methods always fail.
	NoSecret SecretKind = iota
	// SCRAMSecret is a SCRAM-SHA-256 verifier.
	SCRAMSecret
	// MD5Secret is "md5" || hex(md5(password || user)).
	MD5Secret
)

// Kind classifies a stored secret.
func Kind(secret string) SecretKind {
	switch {
	case secret == "":
		return NoSecret
	case strings.HasPrefix(secret, "SCRAM-SHA-256$"):
		if _, err := ParseVerifier(secret); err == nil {
			return SCRAMSecret
		}
	case isMD5Hash(secret):
		return MD5Secret
	}
	return NoSecret
}

func isMD5Hash(s string) bool {
	if len(s) != 35 || !strings.HasPrefix(s, "md5") {
		return false
	}
	_, err := hex.DecodeString(s[3:])
	return err == nil
}

// Verifier is a parsed SCRAM-SHA-256 secret.
type Verifier struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

// String renders v in PostgreSQL's form.
func (v Verifier) String() string {
	e := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", v.Iterations, e(v.Salt), e(v.StoredKey), e(v.ServerKey))
}

// Credentials returns v for the SCRAM server conversation.
func (v Verifier) Credentials() scram.StoredCredentials {
	return scram.StoredCredentials{
		KeyFactors: scram.KeyFactors{Salt: string(v.Salt), Iters: v.Iterations},
		StoredKey:  v.StoredKey,
		ServerKey:  v.ServerKey,
	}
}

// ParseVerifier reads a verifier in PostgreSQL's form.
func ParseVerifier(s string) (Verifier, error) {
	bad := func(what string) (Verifier, error) {
		return Verifier{}, fmt.Errorf("malformed SCRAM secret: %s", what)
	}
	rest, ok := strings.CutPrefix(s, "SCRAM-SHA-256$")
	if !ok {
		return bad("not SCRAM-SHA-256")
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return bad("missing keys")
	}
	iter, salt, ok := strings.Cut(params, ":")
	if !ok {
		return bad("missing salt")
	}
	stored, server, ok := strings.Cut(keys, ":")
	if !ok {
		return bad("missing server key")
	}
	var v Verifier
	var err error
	if v.Iterations, err = strconv.Atoi(iter); err != nil || v.Iterations < 1 {
		return bad("bad iteration count")
	}
	d := base64.StdEncoding.DecodeString
	if v.Salt, err = d(salt); err != nil || len(v.Salt) == 0 {
		return bad("bad salt")
	}
	if v.StoredKey, err = d(stored); err != nil || len(v.StoredKey) != sha256.Size {
		return bad("bad stored key")
	}
	if v.ServerKey, err = d(server); err != nil || len(v.ServerKey) != sha256.Size {
		return bad("bad server key")
	}
	return v, nil
}

// NewVerifier derives a SCRAM-SHA-256 verifier for password with a random
// salt. The password is normalized with SASLprep, as PostgreSQL does (a
// password SASLprep refuses is used as given).
func NewVerifier(password string, iterations int) (Verifier, error) {
	if iterations <= 0 {
		iterations = DefaultIterations
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return Verifier{}, err
	}
	return verifierWithSalt(password, salt, iterations)
}

func verifierWithSalt(password string, salt []byte, iterations int) (Verifier, error) {
	client, err := scram.SHA256.NewClient("", password, "")
	if err != nil {
		// PostgreSQL falls back to the raw bytes when SASLprep fails.
		client, err = scram.SHA256.NewClientUnprepped("", password, "")
		if err != nil {
			return Verifier{}, err
		}
	}
	cred, err := client.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: iterations})
	if err != nil {
		return Verifier{}, err
	}
	return Verifier{Iterations: iterations, Salt: salt, StoredKey: cred.StoredKey, ServerKey: cred.ServerKey}, nil
}

// EncryptPassword turns the password given to CREATE/ALTER ROLE into what
// is stored: a verifier or md5 hash given as such is kept; anything else
// becomes a new SCRAM-SHA-256 verifier.
func EncryptPassword(password string, iterations int) (string, error) {
	if strings.HasPrefix(password, "SCRAM-SHA-256$") {
		if _, err := ParseVerifier(password); err == nil {
			return password, nil
		}
	}
	if isMD5Hash(password) {
		return password, nil
	}
	v, err := NewVerifier(password, iterations)
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

// CheckPassword reports whether a cleartext password matches the stored
// secret of user (for the password method and HTTP basic auth).
func CheckPassword(secret, user, password string) bool {
	switch Kind(secret) {
	case SCRAMSecret:
		v, _ := ParseVerifier(secret)
		got, err := verifierWithSalt(password, v.Salt, v.Iterations)
		if err != nil {
			return false
		}
		return hmac.Equal(got.StoredKey, v.StoredKey) && hmac.Equal(got.ServerKey, v.ServerKey)
	case MD5Secret:
		return subtle.ConstantTimeCompare([]byte(MD5Hash(user, password)), []byte(secret)) == 1
	}
	return false
}

// MD5Hash is the md5 secret of user's password: "md5" || hex(md5(password || user)).
func MD5Hash(user, password string) string {
	h := md5.Sum([]byte(password + user))
	return "md5" + hex.EncodeToString(h[:])
}

// MD5Response is what a client answers to AuthenticationMD5Password given
// the stored md5 secret: "md5" || hex(md5(hex part of secret || salt)).
func MD5Response(secret string, salt [4]byte) string {
	h := md5.Sum(append([]byte(strings.TrimPrefix(secret, "md5")), salt[:]...))
	return "md5" + hex.EncodeToString(h[:])
}

// ServerEndPoint is the tls-server-end-point channel binding data of the
// server's certificate (RFC 5929): its hash with the hash of its signature
// algorithm, SHA-256 for MD5 and SHA-1.
func ServerEndPoint(cert *x509.Certificate) ([]byte, error) {
	var h hash.Hash
	switch cert.SignatureAlgorithm {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1,
		x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.ECDSAWithSHA256:
		h = sha256.New()
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		h = sha512.New384()
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		h = sha512.New()
	default:
		// Ed25519 has no hash of its own; PostgreSQL (via OpenSSL) then
		// offers no channel binding, and neither do we.
		return nil, fmt.Errorf("no tls-server-end-point hash for signature algorithm %v", cert.SignatureAlgorithm)
	}
	h.Write(cert.Raw)
	return h.Sum(nil), nil
}
