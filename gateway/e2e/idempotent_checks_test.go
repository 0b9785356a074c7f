package e2e

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestIdempotentReplayPassesTheFreshChecks checks that a retry with the key
// of a kept 201 is refused exactly as a fresh request would be (content
// type, JSON rules) instead of getting the kept answer with the webhook's
// secret; that a request the checks refuse keeps nothing under its key; and
// that the access log of idempotent requests keeps the error's cause.
func TestIdempotentReplayPassesTheFreshChecks(t *testing.T) {
	e, k, g := startWithKey(t, "webhooks:write", "--plan", "org")
	body := hookBody("https://93.184.215.14/idem-checks")
	send := func(ikey, ctype, body string) reply {
		return g.do(req{method: "POST", path: "/v1/webhooks", key: k.Key, body: body, ctype: ctype, headers: map[string]string{"Idempotency-Key": ikey}})
	}
	first := send("checks-1", "", body)
	if first.Status != 201 {
		t.Fatalf("first: %d %s\n%s", first.Status, first.Raw, g.Logs())
	}
	tests := []struct {
		name, ctype, body string
		status            int
		code              string
	}{
		{"text/plain", "text/plain", body, 415, "unsupported_media_type"},
		{"form", "application/x-www-form-urlencoded", body, 415, "unsupported_media_type"},
		{"malformed JSON", "", body[:len(body)-1], 400, "invalid_json"},
		{"unknown field", "", strings.TrimSuffix(body, "}") + `, "secret": "x"}`, 400, "validation_error"},
		{"missing url", "", `{"events": ["contact.created"]}`, 400, "missing_required_field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send("checks-1", tt.ctype, tt.body)
			if r.Status != tt.status || r.errCode() != tt.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Raw, tt.status, tt.code)
			}
			if bytes.Contains(r.Raw, []byte("whsec_")) || r.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("replayed the kept 201: %s", r.Raw)
			}
		})
	}
	if again := send("checks-1", "", body); again.Status != 201 || !bytes.Equal(again.Raw, first.Raw) {
		t.Errorf("proper retry: %d %s", again.Status, again.Raw)
	}
	if n := e.count("webhooks", workspaceA); n != 1 {
		t.Errorf("%d webhooks, want 1", n)
	}

	t.Run("a refused request keeps nothing", func(t *testing.T) {
		b := hookBody("https://93.184.215.14/idem-checks-2")
		if r := send("checks-2", "text/plain", b); r.Status != 415 {
			t.Fatalf("text/plain: %d %s", r.Status, r.Raw)
		}
		if r := send("checks-2", "", b); r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("corrected retry: %d %v %s", r.Status, r.Header, r.Raw)
		}
	})

	t.Run("the access log keeps the cause", func(t *testing.T) {
		r := send("checks-3", "", hookBody("https://10.0.0.1/private"))
		if r.Status != 400 || r.errCode() != "invalid_url" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		line := accessLine(t, g, r.Header.Get("X-Request-ID"))
		if line["error_code"] != "invalid_url" {
			t.Fatalf("access log line without the cause: %v", line)
		}
	})
}

// accessLine waits for the access log line of one request: the process's
// output reaches the test through a pipe, a little after the response.
func accessLine(t *testing.T, g *gw, requestID string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, line := range strings.Split(g.Logs(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["request_id"] == requestID && m["msg"] == "request" {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access log line for request %s", requestID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
