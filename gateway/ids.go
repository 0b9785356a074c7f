package gateway

// ParseID is the one rule for what a valid id is, for every id the gateway
// reads (paths: webhooks, their deliveries, API keys; and the ids the stores
// are given): a hyphenated 36-character UUID in any letter case is accepted
// and returned in the contract's lowercase canonical form (§1), the form
// PostgreSQL prints, so that a client whose platform prints UUIDs in upper
// case (Swift, some SQL consoles) reaches the same resource; anything else
// (no hyphens, braces, urn:uuid:, other lengths) is false, which every route
// answers with its 404, never 400, as an unknown id would be. It is written
// with the standard library so that the vocabulary depends on nothing else.
func ParseID(raw string) (string, bool) {
	if len(raw) != 36 {
		return "", false
	}
	b := []byte(raw)
	for i, c := range b {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			b[i] = c + ('a' - 'A')
		default:
			return "", false
		}
	}
	return string(b), true
}
