// Package storetest holds the conformance suites of the stores: one suite per
// domain store, RunAPIKeys (apikeys*.go), RunWebhooks (webhooks*.go) and
// RunDelivery (delivery*.go), each split into files by topic, with the
// assertions they share in check.go. The memory, postgres and supabase stores run every suite,
// the supabase one over the PostgREST wire, so that the behaviour the domain
// services rely on (errors, ordering, limits under concurrency, the decisions
// the SQL functions make) cannot differ between the store used in development
// and the ones used in production. The package imports the domains it tests
// and never a route or an HTTP package.
package storetest

import (
	"context"
	"testing"
	"time"
)

// suiteCase is one subtest of a suite: its name and the test, given a store.
type suiteCase[S any] struct {
	name string
	fn   func(t *testing.T, s S)
}

// runSuite runs every case in its own subtest, one after the other, each on
// the store newStore returns for it.
func runSuite[S any](t *testing.T, newStore func(t *testing.T) S, tests []suiteCase[S]) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// base is a time outside UTC and with microseconds, so that the suites notice
// a store that keeps the caller's zone or drops sub-second precision.
// Microseconds are what timestamptz holds.
var base = time.Date(2026, 11, 27, 9, 30, 15, 123456000, time.FixedZone("UTC+2", 2*60*60))

// ctx bounds every store call, so that a store that hangs fails the test
// instead of the whole test binary.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func ptr[T any](v T) *T { return &v }
