package gateway

import "strings"

// What a valid id is, decided here once for the whole gateway. Every id is a
// UUID; the canonical form is the contract's (§1) and PostgreSQL's: 36
// characters, lower-case hex, hyphens at 8, 13, 18 and 23. Two entry points
// share one parser:
//
//   - ParseID is the rule for ids a client sends in a path (webhooks, their
//     deliveries, API keys): the hyphenated form only, in any letter case.
//   - CanonicalID is the rule for ids the stores and the operator CLI are
//     given: every text form of a UUID (RFC 9562), also {braced},
//     urn:uuid: and unhyphenated, as PostgreSQL's uuid input accepts.
//
// Both return the canonical form. The parser is written with the standard
// library so that the vocabulary depends on nothing else.

// ParseID returns the canonical form of a hyphenated 36-character UUID in
// any letter case, so that a client whose platform prints UUIDs in upper
// case (Swift, some SQL consoles) reaches the same resource; anything else
// (no hyphens, braces, urn:uuid:, other lengths) is false, which every route
// answers with its 404, never 400, as an unknown id would be.
func ParseID(raw string) (string, bool) {
	if len(raw) != 36 {
		return "", false
	}
	return hyphenated(raw)
}

// CanonicalID returns the canonical form of any text form of a UUID: the
// hyphenated one, {braced}, with a urn:uuid: prefix (any case), or 32 hex
// digits without hyphens; false for anything else.
func CanonicalID(raw string) (string, bool) {
	switch len(raw) {
	case 36:
		return hyphenated(raw)
	case 38:
		if raw[0] != '{' || raw[37] != '}' {
			return "", false
		}
		return hyphenated(raw[1:37])
	case 45:
		if !strings.EqualFold(raw[:9], "urn:uuid:") {
			return "", false
		}
		return hyphenated(raw[9:])
	case 32:
		return hyphenated(raw[:8] + "-" + raw[8:12] + "-" + raw[12:16] + "-" + raw[16:20] + "-" + raw[20:])
	}
	return "", false
}

// hyphenated parses the 36-character form, in any letter case.
func hyphenated(s string) (string, bool) {
	b := []byte(s)
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
