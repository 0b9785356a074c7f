package supabase

import (
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/store/storetest"
	"github.com/leadlex/api-gateway/gateway/webhooks"
	"github.com/leadlex/api-gateway/internal/testdb"
	"github.com/leadlex/api-gateway/internal/testpostgrest"
)

// The shared conformance suites run here against the store over the
// PostgREST wire: internal/testpostgrest speaks PostgREST's protocol over a
// real database with the project's migrations, so every request the store
// builds (filters, ordering, ranges, counts, function calls, error bodies)
// is executed for real, with the same cases the memory and postgres stores
// pass. As there, each suite shares one database; subtests use fresh
// workspaces and ids.

// wireTimeout is the store timeout against the local server: roomy, for a
// loaded machine under -race.
const wireTimeout = 30 * time.Second

// newWireStore returns a store talking to a fresh PostgREST stand-in.
func newWireStore(t *testing.T) *Store {
	t.Helper()
	return wireStoreOn(t, testpostgrest.New(t))
}

// wireStoreOn returns a store talking to srv with its key.
func wireStoreOn(t *testing.T, srv *testpostgrest.Server) *Store {
	t.Helper()
	s, err := New(srv.URL, srv.Key, wireTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWireAPIKeysConformance(t *testing.T) {
	t.Parallel()
	s := newWireStore(t)
	storetest.RunAPIKeys(t, func(*testing.T) apikeys.Store { return s })
}

// TestWireAPIKeysConformanceUnderRowCap runs the API-key suite with a
// server that caps every read at 2 rows, as Supabase's "Max rows" setting
// does at 1000: ListKeys must page through a workspace (the suite lists up to
// four keys of one workspace) instead of returning the first page as all.
func TestWireAPIKeysConformanceUnderRowCap(t *testing.T) {
	t.Parallel()
	pool, _ := testdb.New(t)
	s := wireStoreOn(t, testpostgrest.ServeWith(t, pool, testpostgrest.Options{MaxRows: 2}))
	storetest.RunAPIKeys(t, func(*testing.T) apikeys.Store { return s })
}

func TestWireWebhooksConformance(t *testing.T) {
	t.Parallel()
	s := newWireStore(t)
	storetest.RunWebhooks(t, func(*testing.T) webhooks.Store { return s })
}

func TestWireDeliveryConformance(t *testing.T) {
	t.Parallel()
	s := newWireStore(t)
	storetest.RunDelivery(t, func(*testing.T) storetest.DeliveryStore { return s })
}

// TestWireRefusesWrongKey checks the store's wiring of the service key: the
// server accepts only the key sent both as apikey and as the bearer token, so
// a store built with another key fails every call, and the error names
// neither key.
func TestWireRefusesWrongKey(t *testing.T) {
	t.Parallel()
	srv := testpostgrest.New(t)
	const wrong = "sb-wrong-service-role-key"
	s, err := New(srv.URL, wrong, wireTimeout)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Ping(t.Context())
	if err == nil {
		t.Fatal("Ping with a wrong key succeeded")
	}
	if !strings.Contains(err.Error(), "(PGRST301) ") {
		t.Errorf("error = %v, want PostgREST's PGRST301 (401)", err)
	}
	for _, secret := range []string{wrong, srv.Key} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error carries a key: %v", err)
		}
	}

	if err := wireStoreOn(t, srv).Ping(t.Context()); err != nil {
		t.Errorf("Ping with the right key: %v", err)
	}
}
