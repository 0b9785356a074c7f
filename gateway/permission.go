package gateway

import "strings"

// Permission is a `resource:action` grant held by an API key.
type Permission string

// The permissions the contract defines.
const (
	PermWebhooksRead  Permission = "webhooks:read"
	PermWebhooksWrite Permission = "webhooks:write"
	PermEventsRead    Permission = "events:read"
	PermEventsPublish Permission = "events:publish"
	PermAdminAPIKeys  Permission = "admin:api_keys"
)

// AllPermissions lists every known permission, in a stable order.
func AllPermissions() []Permission {
	return []Permission{PermWebhooksRead, PermWebhooksWrite, PermEventsRead, PermEventsPublish, PermAdminAPIKeys}
}

// ValidPermission reports whether p is a permission the gateway knows.
func ValidPermission(p Permission) bool {
	for _, k := range AllPermissions() {
		if k == p {
			return true
		}
	}
	return false
}

// Satisfies reports whether a set of held permissions grants required. By the
// contract, `X:write` implies `X:read`.
func Satisfies(held []Permission, required Permission) bool {
	for _, h := range held {
		if h == required {
			return true
		}
		if res, ok := strings.CutSuffix(string(required), ":read"); ok && string(h) == res+":write" {
			return true
		}
	}
	return false
}
