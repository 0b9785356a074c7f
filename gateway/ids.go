package gateway

import "github.com/google/uuid"

// PathID is the one rule for every id in a path (webhooks, their deliveries,
// API keys): a hyphenated 36-character UUID in any letter case is accepted
// and returned in the contract's lowercase canonical form (§1), so that a
// client whose platform prints UUIDs in upper case (Swift, some SQL
// consoles) reaches the same resource; anything else (no hyphens, braces,
// urn:uuid:, other lengths) is false, which every route answers with its
// 404, never 400, as an unknown id would be.
func PathID(raw string) (string, bool) {
	if len(raw) != 36 {
		return "", false
	}
	u, err := uuid.Parse(raw)
	if err != nil {
		return "", false
	}
	return u.String(), true
}
