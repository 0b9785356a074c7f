// Package plan holds the rate-limit plans and tiers, in one table each: which
// plan names exist and their default limits, which tiers exist, how they are
// ordered and how each scales its plan's limits. Configuration, the API key
// rules, the stores and the rate limiter all read them from here; the SQL
// check constraints of the first migration (which is immutable) list the same
// names, and the stores' conformance suite creates a key with every plan and
// tier on every store, so that the two cannot drift.
package plan

// The plans.
const (
	Starter = "starter"
	Pro     = "pro"
	Org     = "org"
	// Default is the plan of a key created without one, and the limits a
	// key with an unknown plan gets.
	Default = Starter
)

// The tiers, in rank order.
const (
	TierStandard  = "standard"
	TierHigh      = "high"
	TierUnmetered = "unmetered"
)

// Limits are a plan's requests per minute and per UTC day.
type Limits struct {
	PerMinute int
	PerDay    int
}

// plans is the one table of plans and their default limits (contract §5).
var plans = []struct {
	name   string
	limits Limits
}{
	{Starter, Limits{PerMinute: 10, PerDay: 100}},
	{Pro, Limits{PerMinute: 50, PerDay: 1000}},
	{Org, Limits{PerMinute: 200, PerDay: 10000}},
}

// tiers is the one table of tiers, in rank order, with the factor each
// applies to its plan's limits; 0 means no limit at all.
var tiers = []struct {
	name   string
	factor int
}{
	{TierStandard, 1},
	{TierHigh, 5},
	{TierUnmetered, 0},
}

// Names lists the plans, in the table's order.
func Names() []string {
	out := make([]string, len(plans))
	for i, p := range plans {
		out[i] = p.name
	}
	return out
}

// Tiers lists the tiers, lowest first.
func Tiers() []string {
	out := make([]string, len(tiers))
	for i, t := range tiers {
		out[i] = t.name
	}
	return out
}

// KnownPlan reports whether name is a plan.
func KnownPlan(name string) bool {
	for _, p := range plans {
		if p.name == name {
			return true
		}
	}
	return false
}

// TierRank returns a tier's rank (standard 0, high 1, unmetered 2), and
// false for an unknown tier.
func TierRank(tier string) (int, bool) {
	for i, t := range tiers {
		if t.name == tier {
			return i, true
		}
	}
	return 0, false
}

// KnownTier reports whether tier is a tier.
func KnownTier(tier string) bool {
	_, ok := TierRank(tier)
	return ok
}

// Defaults returns the plans' default limits, by name; the caller may
// change the map (configuration overrides it).
func Defaults() map[string]Limits {
	out := make(map[string]Limits, len(plans))
	for _, p := range plans {
		out[p.name] = p.limits
	}
	return out
}

// For returns a key's limits: its plan's, as configured in limits (an
// unknown plan counts as Default), scaled by its tier (an unknown tier
// counts as standard), and false for an unmetered key, which has no limit.
func For(limits map[string]Limits, planName, tier string) (Limits, bool) {
	l, ok := limits[planName]
	if !ok {
		l = limits[Default]
	}
	factor := 1
	if r, ok := TierRank(tier); ok {
		factor = tiers[r].factor
	}
	if factor == 0 {
		return Limits{}, false
	}
	return Limits{PerMinute: l.PerMinute * factor, PerDay: l.PerDay * factor}, true
}
