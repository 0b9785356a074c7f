package gateway

import "time"

// Principal is the authenticated caller: an API key and what it may do.
type Principal struct {
	KeyID       string
	WorkspaceID string
	Permissions []Permission
	Plan        string
	Tier        string
	ExpiresAt   *time.Time
}

// Can reports whether the principal holds (or implies) the permission.
func (p *Principal) Can(perm Permission) bool {
	return p != nil && Satisfies(p.Permissions, perm)
}

// Clock tells the time. Services take one so that tests can move time without
// sleeping.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
