package httpapi

// A cache of successful HTTP basic-auth checks. Checking a password
// against a SCRAM verifier runs PBKDF2 over the role's iteration count
// (4096 rounds by default, milliseconds of CPU) by design, and a
// dashboard or a metrics scraper sends the same credentials with every
// request. A successful check is remembered for basicAuthTTL under an
// HMAC (with a key of the process's own) of the user, the role's stored
// secret and the password, never the password itself. The stored secret
// is read again on every request, so a password change (a new secret) or
// DROP ROLE (no secret) misses the cache at once; LOGIN is checked on
// every request too. Failures are not cached: guessing stays slow.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
)

// basicAuthTTL is how long a successful check is remembered.
const basicAuthTTL = time.Minute

// basicAuthCacheMax bounds the entries kept.
const basicAuthCacheMax = 4096

type basicAuthCache struct {
	key [32]byte
	now func() time.Time

	mu      sync.Mutex
	expires map[[sha256.Size]byte]time.Time
}

func newBasicAuthCache() *basicAuthCache {
	c := &basicAuthCache{now: time.Now, expires: map[[sha256.Size]byte]time.Time{}}
	if _, err := rand.Read(c.key[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return c
}

// entry is the cache key of a check of password for user, whose stored
// secret is secret.
func (c *basicAuthCache) entry(user, secret, password string) [sha256.Size]byte {
	m := hmac.New(sha256.New, c.key[:])
	// Each part with its length first, so that no two triples give the
	// same input.
	for _, s := range []string{user, secret, password} {
		m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s))))
		m.Write([]byte(s))
	}
	var k [sha256.Size]byte
	copy(k[:], m.Sum(nil))
	return k
}

// ok reports whether the check of k succeeded within the TTL.
func (c *basicAuthCache) ok(k [sha256.Size]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, found := c.expires[k]
	if found && c.now().After(exp) {
		delete(c.expires, k)
		return false
	}
	return found
}

// remember records a successful check of k.
func (c *basicAuthCache) remember(k [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.expires) >= basicAuthCacheMax {
		for e, exp := range c.expires {
			if now.After(exp) {
				delete(c.expires, e)
			}
		}
		if len(c.expires) >= basicAuthCacheMax {
			clear(c.expires)
		}
	}
	c.expires[k] = now.Add(basicAuthTTL)
}
