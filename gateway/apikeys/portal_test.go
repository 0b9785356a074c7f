package apikeys_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
	"github.com/leadlex/api-gateway/gateway/store/memory"
	"github.com/leadlex/api-gateway/internal/testclock"
)

// TestCreatePortalSession covers the service's own checks (the route checks
// mode and lifetime first, so these are the second line) and what a portal
// key is: a narrowly scoped child of the caller.
func TestCreatePortalSession(t *testing.T) {
	clock := testclock.New(t0)
	s := apikeys.NewService(memory.New(), clock, plans, 0)
	t.Cleanup(s.Close)
	ctx := context.Background()
	parent, plain, err := s.Create(ctx, apikeys.CreateParams{WorkspaceID: ws, Name: "parent", Permissions: []gateway.Permission{gateway.PermWebhooksWrite, gateway.PermAdminAPIKeys}, Plan: "pro", Tier: plan.TierHigh})
	if err != nil {
		t.Fatal(err)
	}
	caller, err := s.Authenticate(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	reader := &gateway.Principal{KeyID: parent.ID, WorkspaceID: ws, Permissions: []gateway.Permission{gateway.PermWebhooksRead}, Plan: "pro", Tier: plan.TierHigh}
	for _, tc := range []struct {
		name   string
		caller *gateway.Principal
		mode   string
		ttl    time.Duration
		code   gateway.Code
		field  string
	}{
		{"unknown mode", caller, "admin", time.Hour, gateway.CodeValidation, "mode"},
		{"empty mode", caller, "", time.Hour, gateway.CodeValidation, "mode"},
		{"too short", caller, apikeys.PortalReadOnly, time.Minute - time.Second, gateway.CodeValidation, "expires_in_seconds"},
		{"too long", caller, apikeys.PortalReadOnly, 24*time.Hour + time.Second, gateway.CodeValidation, "expires_in_seconds"},
		{"more than the caller holds", reader, apikeys.PortalReadWrite, time.Hour, gateway.CodeInsufficientPermissions, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, p, err := s.CreatePortalSession(ctx, tc.caller, tc.mode, tc.ttl)
			var ge *gateway.Error
			if k != nil || p != "" || !errors.As(err, &ge) || ge.Code != tc.code || (tc.field != "" && ge.Details["field"] != tc.field) {
				t.Fatalf("CreatePortalSession = %v, %q, %v; want %s (field %q)", k, p, err, tc.code, tc.field)
			}
		})
	}

	k, p, err := s.CreatePortalSession(ctx, caller, apikeys.PortalReadWrite, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !apikeys.IsPortalKey(k) || k.CreatedBy != parent.ID || k.Plan != "pro" || k.Tier != plan.TierHigh ||
		!slices.Equal(k.Permissions, []gateway.Permission{gateway.PermWebhooksWrite}) || k.ExpiresAt == nil || !k.ExpiresAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("portal key = %+v", k)
	}
	if got, err := s.Authenticate(ctx, p); err != nil || apikeys.PortalModeOf(got.Permissions) != apikeys.PortalReadWrite {
		t.Errorf("the portal key authenticates as %+v, %v", got, err)
	}
	if apikeys.IsPortalKey(parent) {
		t.Error("an ordinary key counts as a portal key")
	}
	// Only portal keys can be revoked as portal sessions.
	if err := s.RevokePortalSession(ctx, caller, parent.ID); gateway.CodeOf(err) != gateway.CodeNotFound {
		t.Errorf("revoking an ordinary key as a session: %v", err)
	}
	if err := s.RevokePortalSession(ctx, caller, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, p); !errors.Is(err, apikeys.ErrRevoked) {
		t.Errorf("after revoking: %v, want revoked", err)
	}
}
