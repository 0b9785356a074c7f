package gateway

import "testing"

func TestParseID(t *testing.T) {
	const canon = "7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11"
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{canon, canon, true},
		{"7A0C1F7E-8C7B-4D43-9D55-3F4C3A0F9B11", canon, true},
		{"7a0C1f7E-8c7b-4D43-9d55-3f4c3A0f9b11", canon, true},
		{"7a0c1f7e8c7b4d439d553f4c3a0f9b11", "", false},
		{"{7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11}", "", false},
		{"urn:uuid:7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11", "", false},
		{"7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b1g", "", false},
		{"", "", false},
		{"not-a-uuid", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := ParseID(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ParseID(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestCanonicalID(t *testing.T) {
	const canon = "7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11"
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{canon, canon, true},
		{"7A0C1F7E-8C7B-4D43-9D55-3F4C3A0F9B11", canon, true},
		{"{7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11}", canon, true},
		{"urn:uuid:7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11", canon, true},
		{"URN:UUID:7A0C1F7E-8C7B-4D43-9D55-3F4C3A0F9B11", canon, true},
		{"7a0c1f7e8c7b4d439d553f4c3a0f9b11", canon, true},
		{"(7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11)", "", false},
		{"urn:uuix:7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b11", "", false},
		{"7a0c1f7e-8c7b4d439d553f4c3a0f9b11-", "", false},
		{"7a0c1f7e8c7b-d439d553f4c3a0f9b11", "", false},
		{"7a0c1f7e-8c7b-4d43-9d55-3f4c3a0f9b1g", "", false},
		{"{7a0c1f7e8c7b4d439d553f4c3a0f9b11}", "", false},
		{"", "", false},
		{"not-a-uuid", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := CanonicalID(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("CanonicalID(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}
