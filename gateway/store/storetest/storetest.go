// Package storetest holds the conformance suites of the stores: one suite per
// domain store (RunWebhooks, and the others as they move here), split into
// files by topic. The memory, postgres and supabase stores run every suite,
// the supabase one over the PostgREST wire, so that the behaviour the domain
// services rely on (errors, ordering, limits under concurrency, the decisions
// the SQL functions make) cannot differ between the store used in development
// and the ones used in production. The package imports the domains it tests
// and never a route or an HTTP package.
package storetest
