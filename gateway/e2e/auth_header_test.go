package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode"
)

// TestAuthorizationOnlyHTTPWhitespace checks that only SP and HTAB may
// surround or separate the parts of an Authorization header: every other
// Unicode space (U+00A0, U+2003, U+3000, U+0085 and the rest) makes the
// credential malformed instead of being trimmed away.
func TestAuthorizationOnlyHTTPWhitespace(t *testing.T) {
	e := newEnv(t)
	k := e.createKey(workspaceA, "webhooks:read", "--plan", "org", "--tier", "high")
	// Every refusal spends the address's failure budget; there are many.
	g := e.start(map[string]string{"IP_RATE_LIMIT_PER_MINUTE": "100000"})
	get := func(h string) reply {
		hr, _ := http.NewRequest("GET", g.url+base+"/v1/webhooks", nil)
		hr.Header.Set("Authorization", h)
		return g.send(hr)
	}
	var spaces []rune
	for r := rune(0x80); r <= 0x3000; r++ {
		if unicode.IsSpace(r) {
			spaces = append(spaces, r)
		}
	}
	spaces = append(spaces, 0xFEFF)
	for _, must := range []rune{0x00A0, 0x2003, 0x3000, 0x0085} {
		if !strings.ContainsRune(string(spaces), must) {
			t.Fatalf("U+%04X not tested", must)
		}
	}
	for _, r := range spaces {
		for _, h := range []string{
			string(r) + "Bearer " + k.Key,
			"Bearer" + string(r) + k.Key,
			"Bearer " + string(r) + k.Key,
			"Bearer " + k.Key + string(r),
		} {
			t.Run(fmt.Sprintf("U+%04X at %d", r, strings.IndexRune(h, r)), func(t *testing.T) {
				r := get(h)
				if r.Status != 401 || r.errCode() != "invalid_key" || r.errDetails()["reason"] != "malformed" {
					t.Fatalf("%d %s, want 401 malformed", r.Status, r.Raw)
				}
			})
		}
	}
	for _, h := range []string{"Bearer\t" + k.Key, "bearer  " + k.Key + "\t"} {
		if r := get(h); r.Status != 200 {
			t.Errorf("%q: %d %s", h[:8], r.Status, r.Raw)
		}
	}
	// ASCII controls (VT, FF, the separators) never reach the handler: Go
	// refuses the header, and either way the key is not accepted.
	for _, ctl := range []byte{0x0b, 0x0c, 0x1c, 0x1f} {
		resp, body := rawAnswer(t, g, "GET "+base+"/v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+k.Key+string(ctl)+"\r\nConnection: close\r\n\r\n")
		if resp.StatusCode == 200 {
			t.Errorf("control 0x%02x: 200 %s", ctl, body)
		}
	}
}

// TestOneAuthorizationAndIdempotencyKeyHeader checks that a request with
// two Authorization headers is 401 whichever comes first (a proxy may read
// the other one), and one with two Idempotency-Key headers is 400 naming
// the header, with nothing created.
func TestOneAuthorizationAndIdempotencyKeyHeader(t *testing.T) {
	e, k, g := startWithKey(t, "webhooks:write", "--plan", "org")
	for name, values := range map[string][]string{
		"valid twice":        {"Bearer " + k.Key, "Bearer " + k.Key},
		"valid then garbage": {"Bearer " + k.Key, "Bearer wbk_nope"},
		"garbage then valid": {"Basic dXNlcjpwYXNz", "Bearer " + k.Key},
	} {
		t.Run(name, func(t *testing.T) {
			hr, _ := http.NewRequest("POST", g.url+base+"/v1/webhooks", strings.NewReader(hookBody("https://93.184.215.14/two-auth")))
			hr.Header.Set("Content-Type", "application/json")
			for _, v := range values {
				hr.Header.Add("Authorization", v)
			}
			r := g.send(hr)
			if r.Status != 401 || r.errCode() != "invalid_key" || r.errDetails()["reason"] != "multiple_authorization_headers" {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
	}
	hr, _ := http.NewRequest("POST", g.url+base+"/v1/webhooks", strings.NewReader(hookBody("https://93.184.215.14/two-idem")))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+k.Key)
	hr.Header.Add("Idempotency-Key", "first")
	hr.Header.Add("Idempotency-Key", "second")
	r := g.send(hr)
	if r.Status != 400 || r.errCode() != "validation_error" || r.errDetails()["field"] != "Idempotency-Key" {
		t.Fatalf("two Idempotency-Key headers: %d %s", r.Status, r.Raw)
	}
	if n := e.count("webhooks", workspaceA); n != 0 {
		t.Errorf("%d webhooks created", n)
	}
}
