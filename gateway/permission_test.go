package gateway_test

import (
	"slices"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway"
)

func TestSatisfies(t *testing.T) {
	p := func(ps ...gateway.Permission) []gateway.Permission { return ps }
	tests := []struct {
		name     string
		held     []gateway.Permission
		required gateway.Permission
		want     bool
	}{
		{"exact read", p(gateway.PermWebhooksRead), gateway.PermWebhooksRead, true},
		{"exact write", p(gateway.PermWebhooksWrite), gateway.PermWebhooksWrite, true},
		{"write implies read", p(gateway.PermWebhooksWrite), gateway.PermWebhooksRead, true},
		{"read does not imply write", p(gateway.PermWebhooksRead), gateway.PermWebhooksWrite, false},
		{"write implies read of the same resource only", p(gateway.PermWebhooksWrite), gateway.PermEventsRead, false},
		{"publish does not imply read", p(gateway.PermEventsPublish), gateway.PermEventsRead, false},
		{"hypothetical events:write implies events:read", p("events:write"), gateway.PermEventsRead, true},
		{"events:write does not imply webhooks:read", p("events:write"), gateway.PermWebhooksRead, false},
		{"prefix of a resource is another resource", p("webhook:write"), gateway.PermWebhooksRead, false},
		{"one of several", p(gateway.PermEventsRead, gateway.PermAdminAPIKeys), gateway.PermAdminAPIKeys, true},
		{"none held", nil, gateway.PermWebhooksRead, false},
		{"empty held", p(), gateway.PermEventsRead, false},
		{"admin implies nothing else", p(gateway.PermAdminAPIKeys), gateway.PermWebhooksRead, false},
		{"case matters", p("Webhooks:Write"), gateway.PermWebhooksRead, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := gateway.Satisfies(tc.held, tc.required); got != tc.want {
				t.Errorf("Satisfies(%v, %q) = %v, want %v", tc.held, tc.required, got, tc.want)
			}
			pr := &gateway.Principal{Permissions: tc.held}
			if got := pr.Can(tc.required); got != tc.want {
				t.Errorf("Principal.Can(%q) = %v, want %v", tc.required, got, tc.want)
			}
		})
	}
}

func TestNilPrincipalCanNothing(t *testing.T) {
	var p *gateway.Principal
	for _, perm := range gateway.AllPermissions() {
		if p.Can(perm) {
			t.Errorf("nil principal can %q", perm)
		}
	}
}

func TestValidPermission(t *testing.T) {
	tests := []struct {
		perm gateway.Permission
		want bool
	}{
		{gateway.PermWebhooksRead, true},
		{gateway.PermWebhooksWrite, true},
		{gateway.PermEventsRead, true},
		{gateway.PermEventsPublish, true},
		{gateway.PermAdminAPIKeys, true},
		{"", false},
		{"public", false},
		{"events:write", false},
		{"webhooks:*", false},
		{"WEBHOOKS:READ", false},
		{" webhooks:read", false},
		{"webhooks:read ", false},
	}
	for _, tc := range tests {
		t.Run(string(tc.perm), func(t *testing.T) {
			if got := gateway.ValidPermission(tc.perm); got != tc.want {
				t.Errorf("ValidPermission(%q) = %v, want %v", tc.perm, got, tc.want)
			}
		})
	}
	all := gateway.AllPermissions()
	if len(all) != 5 {
		t.Errorf("AllPermissions() = %v, want the contract's 5", all)
	}
	if !slices.Equal(all, gateway.AllPermissions()) {
		t.Error("AllPermissions() order is not stable")
	}
}

func TestSystemClock(t *testing.T) {
	before := time.Now()
	now := gateway.SystemClock{}.Now()
	if now.Location() != time.UTC {
		t.Errorf("SystemClock location %s, want UTC", now.Location())
	}
	if now.Before(before.Add(-time.Second)) || now.After(time.Now().Add(time.Second)) {
		t.Errorf("SystemClock.Now() = %s, far from time.Now()", now)
	}
}
