package apikeys_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/apikeys"
)

// TestKnown checks that a key stays known after its cache entry went stale,
// and that only keys verified live are known: not unknown or malformed
// ones, not a key revoked here, not one past its expiry.
func TestKnown(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, live := f.create(t, apikeys.CreateParams{})
	expiry := t0.Add(2 * cacheTTL)
	_, expiring := f.create(t, apikeys.CreateParams{ExpiresAt: &expiry})
	revokedK, revoked := f.create(t, apikeys.CreateParams{})
	unknown, _ := apikeys.Generate()
	for _, k := range []string{live, expiring, revoked} {
		if f.svc.Known(k) {
			t.Fatal("known before it was ever verified")
		}
		if _, err := f.svc.Authenticate(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.Revoke(ctx, ws, revokedK.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(cacheTTL + time.Second)
	if f.svc.Cached(live) || !f.svc.Known(live) {
		t.Errorf("stale entry: cached %v known %v, want false true", f.svc.Cached(live), f.svc.Known(live))
	}
	if !f.svc.Known(expiring) {
		t.Error("a live key with an expiry ahead is not known")
	}
	f.clock.Advance(cacheTTL)
	for name, k := range map[string]string{"expired": expiring, "revoked": revoked, "unknown": unknown, "malformed": "wbk_nope"} {
		if f.svc.Known(k) {
			t.Errorf("%s key is known", name)
		}
	}
}
