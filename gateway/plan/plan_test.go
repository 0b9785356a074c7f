package plan_test

import (
	"slices"
	"testing"

	"github.com/leadlex/api-gateway/gateway/plan"
)

func TestFor(t *testing.T) {
	limits := plan.Defaults()
	for _, tc := range []struct {
		plan, tier string
		want       plan.Limits
		metered    bool
	}{
		{plan.Starter, plan.TierStandard, plan.Limits{PerMinute: 10, PerDay: 100}, true},
		{plan.Pro, plan.TierStandard, plan.Limits{PerMinute: 50, PerDay: 1000}, true},
		{plan.Org, plan.TierStandard, plan.Limits{PerMinute: 200, PerDay: 10000}, true},
		{plan.Pro, plan.TierHigh, plan.Limits{PerMinute: 250, PerDay: 5000}, true},
		{plan.Org, plan.TierUnmetered, plan.Limits{}, false},
		{"unknown", plan.TierStandard, plan.Limits{PerMinute: 10, PerDay: 100}, true},
		{plan.Starter, "unknown", plan.Limits{PerMinute: 10, PerDay: 100}, true},
	} {
		t.Run(tc.plan+"/"+tc.tier, func(t *testing.T) {
			got, metered := plan.For(limits, tc.plan, tc.tier)
			if got != tc.want || metered != tc.metered {
				t.Errorf("For = %+v, %v; want %+v, %v", got, metered, tc.want, tc.metered)
			}
		})
	}
}

func TestNamesAndTiers(t *testing.T) {
	if got := plan.Names(); !slices.Equal(got, []string{"starter", "pro", "org"}) {
		t.Errorf("Names = %v", got)
	}
	if got := plan.Tiers(); !slices.Equal(got, []string{"standard", "high", "unmetered"}) {
		t.Errorf("Tiers = %v", got)
	}
	for i, tier := range plan.Tiers() {
		if r, ok := plan.TierRank(tier); !ok || r != i {
			t.Errorf("TierRank(%q) = %d, %v; want %d", tier, r, ok, i)
		}
	}
	for _, bad := range []string{"", "Standard", "premium"} {
		if plan.KnownTier(bad) || plan.KnownPlan(bad) {
			t.Errorf("%q is known", bad)
		}
	}
	if !plan.KnownPlan(plan.Default) {
		t.Error("the default plan is unknown")
	}
	d := plan.Defaults()
	d[plan.Starter] = plan.Limits{}
	if plan.Defaults()[plan.Starter].PerMinute != 10 {
		t.Error("changing Defaults' map changed the table")
	}
}
