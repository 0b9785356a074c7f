package apikeys_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/store/memory"
	"github.com/leadlex/api-gateway/internal/testclock"
)

// touchStore is the memory store with a TouchKey that can block or fail.
type touchStore struct {
	*memory.Store
	gate chan struct{} // when set, TouchKey waits for it to close
	fail error
}

func (s *touchStore) TouchKey(ctx context.Context, id string, at time.Time) error {
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.fail != nil {
		return s.fail
	}
	return s.Store.TouchKey(ctx, id, at)
}

// usageFixture is a service whose finished touches arrive on writes.
type usageFixture struct {
	clock  *testclock.Clock
	store  *touchStore
	svc    *apikeys.Service
	writes chan time.Time
}

func newUsageFixture(t *testing.T, store *touchStore) *usageFixture {
	t.Helper()
	f := &usageFixture{clock: testclock.New(t0), store: store, writes: make(chan time.Time, 2*apikeys.TouchQueue)}
	f.svc = apikeys.NewService(store, f.clock, plans, cacheTTL)
	apikeys.OnTouch(f.svc, func(_ string, at time.Time, err error) {
		if err == nil {
			f.writes <- at
		}
	})
	t.Cleanup(f.svc.Close)
	return f
}

// wait returns the next finished write, failing the test after 10 s.
func (f *usageFixture) wait(t *testing.T) time.Time {
	t.Helper()
	select {
	case at := <-f.writes:
		return at
	case <-time.After(10 * time.Second):
		t.Fatal("no last_used_at write arrived")
		return time.Time{}
	}
}

// none asserts that no further write arrives within a short grace period.
func (f *usageFixture) none(t *testing.T) {
	t.Helper()
	select {
	case at := <-f.writes:
		t.Fatalf("unexpected last_used_at write for %v", at)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestLastUsedAtIsDebouncedPerMinute(t *testing.T) {
	f := newUsageFixture(t, &touchStore{Store: memory.New()})
	k, plain := newFixtureKey(t, f.svc)

	steps := []struct {
		name    string
		advance time.Duration
		uses    int
		write   bool
	}{
		{"first use is recorded", 0, 5, true},
		{"30 s later: still fresh", 30 * time.Second, 5, false},
		{"59 s after the write: still fresh", 29 * time.Second, 1, false},
		{"a minute after the write: recorded again", time.Second, 3, true},
	}
	for _, st := range steps {
		f.clock.Advance(st.advance)
		for range st.uses {
			if _, err := f.svc.Authenticate(context.Background(), plain); err != nil {
				t.Fatalf("%s: Authenticate: %v", st.name, err)
			}
		}
		if !st.write {
			f.none(t)
			continue
		}
		if at := f.wait(t); !at.Equal(f.clock.Now()) {
			t.Fatalf("%s: wrote %v, want %v", st.name, at, f.clock.Now())
		}
		f.none(t) // one write for all the uses
		stored, err := f.store.KeyByID(context.Background(), ws, k.ID)
		if err != nil || stored.LastUsedAt == nil || !stored.LastUsedAt.Equal(f.clock.Now()) {
			t.Fatalf("%s: stored last_used_at = %v, %v; want %v", st.name, stored.LastUsedAt, err, f.clock.Now())
		}
	}
}

var fixturePerms = []gateway.Permission{gateway.PermWebhooksRead}

// newFixtureKey issues a key through svc.
func newFixtureKey(t *testing.T, svc *apikeys.Service) (*apikeys.Key, string) {
	t.Helper()
	k, plain, err := svc.Create(context.Background(), apikeys.CreateParams{WorkspaceID: ws, Permissions: fixturePerms})
	if err != nil {
		t.Fatal(err)
	}
	return k, plain
}

func TestLastUsedAtNeverBlocksOrFailsARequest(t *testing.T) {
	tests := []struct {
		name  string
		store func() *touchStore
	}{
		{"database hangs", func() *touchStore { return &touchStore{Store: memory.New(), gate: make(chan struct{})} }},
		{"database fails", func() *touchStore { return &touchStore{Store: memory.New(), fail: errors.New("connection refused")} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := tc.store()
			f := newUsageFixture(t, store)
			_, plain := newFixtureKey(t, f.svc)
			// More due writes than the queue holds, one a minute apart: a
			// writer on the request path, or a blocking enqueue, would
			// hang here (the test's timeout is the failure).
			var wg sync.WaitGroup
			for range apikeys.TouchQueue + 200 {
				f.clock.Advance(time.Minute)
				wg.Go(func() {
					if _, err := f.svc.Authenticate(context.Background(), plain); err != nil {
						t.Errorf("Authenticate: %v", err)
					}
				})
				wg.Wait()
			}
			if store.gate != nil {
				close(store.gate)
			}
		})
	}
}

func TestCloseStopsTheWriter(t *testing.T) {
	f := newUsageFixture(t, &touchStore{Store: memory.New()})
	_, plain := newFixtureKey(t, f.svc)
	if _, err := f.svc.Authenticate(context.Background(), plain); err != nil {
		t.Fatal(err)
	}
	f.wait(t)
	f.svc.Close()
	f.svc.Close() // twice is fine
	f.clock.Advance(time.Hour)
	if _, err := f.svc.Authenticate(context.Background(), plain); err != nil {
		t.Fatalf("Authenticate after Close: %v", err)
	}
	f.none(t)

	// A service that never recorded a use closes at once.
	apikeys.NewService(memory.New(), f.clock, plans, cacheTTL).Close()
}

// BenchmarkAuthenticateCached measures the hot path of a warm key, which now
// includes noting its use for last_used_at: go test -run '^$' -bench
// AuthenticateCached ./gateway/apikeys/
func BenchmarkAuthenticateCached(b *testing.B) {
	clock := testclock.New(t0)
	svc := apikeys.NewService(memory.New(), clock, plans, cacheTTL)
	b.Cleanup(svc.Close)
	_, plain, err := svc.Create(context.Background(), apikeys.CreateParams{WorkspaceID: ws, Permissions: fixturePerms})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Authenticate(context.Background(), plain); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Authenticate(context.Background(), plain); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
