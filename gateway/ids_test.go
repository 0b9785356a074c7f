package gateway

import "testing"

// TestIDRules holds both entry points to one table: what a path accepts
// (ParseID) and what a store accepts (CanonicalID).
func TestIDRules(t *testing.T) {
	const canon = "7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11"
	for _, tc := range []struct {
		in          string
		path, store bool // whether ParseID, CanonicalID accept it (as canon)
	}{
		{canon, true, true},
		{"7A0C1F7E-8C7B-4D43-9D55-3F4C3A0F9B11", true, true},
		{"7a0C1f7E-8c7b-4D43-9d55-3f4c3A0f9b11", true, true},
		{"7a0c1f7e8c7b4d439d553f4c3a0f9b11", false, true},
		{"{7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11}", false, true},
		{"urn:uuid:7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11", false, true},
		{"URN:UUID:7A0C1F7E-8C7B-4D43-9D55-3F4C3A0F9B11", false, true},
		{"(7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11)", false, false},
		{"urn:uuix:7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11", false, false},
		{"7a0c1f7e-8c7b4d439d553f4c3a0f9b11-", false, false},
		{"7a0c1f7e8c7b-d439d553f4c3a0f9b11", false, false},
		{"{7a0c1f7e8c7b4d439d553f4c3a0f9b11}", false, false},
		{"7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b1g", false, false},
		{"", false, false},
		{"not-a-uuid", false, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			for _, rule := range []struct {
				name  string
				parse func(string) (string, bool)
				ok    bool
			}{{"ParseID", ParseID, tc.path}, {"CanonicalID", CanonicalID, tc.store}} {
				want := ""
				if rule.ok {
					want = canon
				}
				if got, ok := rule.parse(tc.in); got != want || ok != rule.ok {
					t.Errorf("%s(%q) = %q, %v; want %q, %v", rule.name, tc.in, got, ok, want, rule.ok)
				}
			}
		})
	}
}
