package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestQueryParameterRules checks the one rule for query strings: a
// parameter that is not validly encoded and a parameter given twice are
// both 400 validation_error naming it, on every route; auth still comes
// first, and an unknown path is still 404.
func TestQueryParameterRules(t *testing.T) {
	_, k, g := startWithKey(t, "webhooks:read,events:read", "--plan", "org")
	tests := []struct {
		path   string
		key    string
		status int
		code   string
		field  string
	}{
		{"/v1/webhooks?page=%zz", k.Key, 400, "validation_error", "page"},
		{"/v1/webhooks?page=1&page=2", k.Key, 400, "validation_error", "page"},
		{"/v1/webhooks?per_page=%4", k.Key, 400, "validation_error", "per_page"},
		{"/v1/webhooks?page=1;per_page=5", k.Key, 400, "validation_error", "page"},
		{"/v1/events/catalog?category=deal&category=contact", k.Key, 400, "validation_error", "category"},
		{"/v1/events/catalog?category=%zz", k.Key, 400, "validation_error", "category"},
		{"/v1/webhooks/00000000-0000-4000-8000-000000000000?x=%zz", k.Key, 400, "validation_error", "x"},
		{"/v1/openapi.json?v=1&v=2", "", 400, "validation_error", "v"},
		{"/v1/webhooks?page=%zz", "", 401, "invalid_key", ""},
		{"/v1/nope?page=%zz", k.Key, 404, "not_found", ""},
		{"/v1/webhooks?page=2&per_page=10", k.Key, 200, "", ""},
		{"/v1/events/catalog?category=deal", k.Key, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := g.do(req{method: "GET", path: tt.path, key: tt.key})
			if r.Status != tt.status || r.errCode() != tt.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Raw, tt.status, tt.code)
			}
			if tt.field != "" && r.errDetails()["field"] != tt.field {
				t.Errorf("details = %v, want field %q", r.errDetails(), tt.field)
			}
		})
	}
}

// rawAnswer writes a request byte for byte (for framings Go's client never
// produces, such as an empty chunked body, or headers it refuses to send)
// and returns the answer's status, headers and body.
func rawAnswer(t *testing.T, g *gw, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(g.url, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestOversizedHeadersInTheEnvelope checks that headers over the gateway's
// limit (32 KiB) get 431 in the error envelope, and documents what cannot
// be: past net/http's own limit (64 KiB, plus its slack), and for requests
// it cannot parse, Go answers before any handler runs, in plain text.
func TestOversizedHeadersInTheEnvelope(t *testing.T) {
	_, k, g := startWithKey(t, "webhooks:read", "--plan", "org")
	hr, _ := http.NewRequest("GET", g.url+base+"/v1/webhooks", nil)
	hr.Header.Set("Authorization", "Bearer "+k.Key)
	hr.Header.Set("X-Padding", strings.Repeat("p", 40<<10))
	r := g.send(hr)
	if r.Status != 431 || r.errCode() != "request_headers_too_large" || r.errDetails()["limit_bytes"] != float64(32<<10) {
		t.Fatalf("40 KiB of headers: %d %s", r.Status, r.Raw)
	}
	// Under the limit, the same request is served.
	hr.Header.Set("X-Padding", strings.Repeat("p", 20<<10))
	if r := g.send(hr); r.Status != 200 {
		t.Fatalf("20 KiB of headers: %d %s", r.Status, r.Raw)
	}

	// Documented exceptions, answered by net/http itself.
	resp, body := rawAnswer(t, g, "GET "+base+"/v1/webhooks HTTP/1.1\r\nHost: x\r\nX-Padding: "+strings.Repeat("p", 80<<10)+"\r\n\r\n")
	if resp.StatusCode != 431 {
		t.Errorf("80 KiB of headers: %d %q", resp.StatusCode, body)
	}
	t.Logf("past net/http's limit: %d %q", resp.StatusCode, body)
	resp, body = rawAnswer(t, g, "GET "+base+"/v1/webhooks/%zz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 400 {
		t.Errorf("bad escape in the path: %d %q", resp.StatusCode, body)
	}
	t.Logf("unparseable request: %d %q", resp.StatusCode, body)
}
