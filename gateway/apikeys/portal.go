package apikeys

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/leadlex/api-gateway/gateway"
)

// Portal sessions (issue 12). A portal link carries a short-lived key in its
// fragment; that key is an ordinary child key of the key that asked for the
// link, so it expires no later than its parent, is revoked with it, and
// holds only what the portal needs: webhooks:read, or webhooks:write (which
// implies it) for a read-write link.
const (
	// PortalReadOnly links can look at webhooks, logs and the catalog.
	PortalReadOnly = "read_only"
	// PortalReadWrite links can also create, edit, rotate, delete, retry
	// and send test events.
	PortalReadWrite = "read_write"

	// PortalDefaultTTL is a link's lifetime when none is asked for.
	PortalDefaultTTL = time.Hour
	// PortalMinTTL and PortalMaxTTL bound the lifetime a caller may ask for.
	PortalMinTTL = time.Minute
	PortalMaxTTL = 24 * time.Hour
)

// portalNamePrefix names every portal session key, so that
// DELETE /v1/portal-sessions/{id} revokes only those, and key listings show
// what a key is for.
const portalNamePrefix = "portal session ("

// PortalPermissions returns the permissions of a portal key of mode, and
// false for an unknown mode.
func PortalPermissions(mode string) ([]gateway.Permission, bool) {
	switch mode {
	case PortalReadOnly:
		return []gateway.Permission{gateway.PermWebhooksRead}, true
	case PortalReadWrite:
		return []gateway.Permission{gateway.PermWebhooksWrite}, true
	}
	return nil, false
}

// PortalModeOf returns the mode a set of permissions allows in the portal:
// read_write with webhooks:write, else read_only.
func PortalModeOf(perms []gateway.Permission) string {
	if gateway.Satisfies(perms, gateway.PermWebhooksWrite) {
		return PortalReadWrite
	}
	return PortalReadOnly
}

// IsPortalKey reports whether k was minted by CreatePortalSession.
func IsPortalKey(k *Key) bool { return strings.HasPrefix(k.Name, portalNamePrefix) }

// CreatePortalSession mints the key of a portal link for caller: mode's
// permissions, the caller's plan and tier, expiring ttl from now (capped at
// the caller's own expiry), created by the caller. A mode or ttl out of
// range is a validation_error naming the field; permissions the caller
// lacks are insufficient_permissions; a caller revoked meanwhile is the
// *AuthError that says so.
func (s *Service) CreatePortalSession(ctx context.Context, caller *gateway.Principal, mode string, ttl time.Duration) (*Key, string, error) {
	perms, ok := PortalPermissions(mode)
	if !ok {
		return nil, "", gateway.E(gateway.CodeValidation, fmt.Sprintf("Unknown mode %q; use %s or %s.", mode, PortalReadOnly, PortalReadWrite)).
			WithDetails(map[string]any{"field": "mode", "allowed": []string{PortalReadOnly, PortalReadWrite}})
	}
	if ttl < PortalMinTTL || ttl > PortalMaxTTL {
		return nil, "", gateway.E(gateway.CodeValidation, fmt.Sprintf("expires_in_seconds must be from %d to %d.", int(PortalMinTTL.Seconds()), int(PortalMaxTTL.Seconds()))).
			WithDetails(map[string]any{"field": "expires_in_seconds"})
	}
	if err := Covers(caller, perms, caller.Tier, "grant"); err != nil {
		return nil, "", err
	}
	expires := s.clock.Now().Add(ttl).UTC().Truncate(time.Second)
	return s.Create(ctx, CreateParams{
		WorkspaceID: caller.WorkspaceID,
		Name:        portalNamePrefix + mode + ")",
		Description: "Key of a webhook portal link; revoke it with DELETE /v1/portal-sessions/{id}.",
		Permissions: perms,
		Plan:        caller.Plan,
		Tier:        caller.Tier,
		ExpiresAt:   &expires,
		CreatedBy:   caller.KeyID,
	})
}

// RevokePortalSession revokes the portal key id of caller's workspace (and
// anything minted from it): not_found unless it is a portal key of that
// workspace, and, as for every revocation, only if the caller covers it.
func (s *Service) RevokePortalSession(ctx context.Context, caller *gateway.Principal, id string) error {
	k, err := s.Get(ctx, caller.WorkspaceID, id)
	if gateway.CodeOf(err) == gateway.CodeNotFound || (err == nil && !IsPortalKey(k)) {
		return gateway.E(gateway.CodeNotFound, "No portal session with that id.")
	}
	if err != nil {
		return err
	}
	return s.RevokeAs(ctx, caller, k.ID)
}
