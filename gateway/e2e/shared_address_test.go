package e2e

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadlex/api-gateway/gateway/apikeys"
)

// TestValidKeyNotLockedOutByItsAddress checks that failed guesses from one
// address (a shared NAT) do not lock out the valid keys behind it: once the
// address is over its failure budget, a key the instance has verified
// before still gets in after its cache entry went stale, and a key new to
// the instance gets in too while the address's few lookups last. Guesses,
// garbage and revoked keys from that address stay 429.
func TestValidKeyNotLockedOutByItsAddress(t *testing.T) {
	e := newEnv(t)
	ws := uuid.NewString()
	known := e.createKey(ws, "webhooks:read", "--plan", "org")
	fresh := e.createKey(ws, "webhooks:read", "--plan", "org")
	revoked := e.createKey(ws, "webhooks:read", "--plan", "org")
	g := e.start(map[string]string{"IP_RATE_LIMIT_PER_MINUTE": "5", "KEY_CACHE_TTL": "1s"})
	list := func(k string) reply { return g.do(req{method: "GET", path: "/v1/webhooks", key: k}) }
	for _, k := range []string{known.Key, revoked.Key} {
		if r := list(k); r.Status != 200 {
			t.Fatalf("warm-up: %d %s", r.Status, r.Raw)
		}
	}
	e.cli("keys", "revoke", revoked.ID)

	guess := func() reply {
		k, _ := apikeys.Generate()
		return list(k)
	}
	for i := range 5 {
		if r := guess(); r.Status != 401 {
			t.Fatalf("guess %d: %d %s", i, r.Status, r.Raw)
		}
	}
	if r := guess(); r.Status != 429 || r.errCode() != "rate_limited" {
		t.Fatalf("over budget: %d %s", r.Status, r.Raw)
	}
	time.Sleep(1100 * time.Millisecond) // every cache entry is stale now

	if r := list(fresh.Key); r.Status != 200 {
		t.Fatalf("a valid key new to the instance, from a blocked address: %d %s", r.Status, r.Raw)
	}
	if r := list(known.Key); r.Status != 200 {
		t.Fatalf("a known valid key, from a blocked address: %d %s", r.Status, r.Raw)
	}
	// The neighbour keeps guessing: always 429, and its lookups run out.
	for i := range 20 {
		if r := guess(); r.Status != 429 {
			t.Fatalf("guess %d from a blocked address: %d %s", i, r.Status, r.Raw)
		}
	}
	for _, h := range []string{"", "wbk_nope"} {
		if r := list(h); r.Status != 429 {
			t.Errorf("%q from a blocked address: %d %s", h, r.Status, r.Raw)
		}
	}
	if r := list(revoked.Key); r.Status != 429 {
		t.Errorf("a revoked key from a blocked address: %d %s", r.Status, r.Raw)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := list(known.Key); r.Status != 200 {
		t.Fatalf("a known valid key after the address's lookups ran out: %d %s", r.Status, r.Raw)
	}
}
