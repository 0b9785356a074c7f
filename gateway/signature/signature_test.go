package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	secret  = "whsec_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f"
	other   = "whsec_000102030405060708090a0b0c0d0e0f1011121314151617"
	id      = "6b0f5f0e-2a4c-4a8e-9f77-0c2d1b3a4e5f"
	payload = `{"id":"e1","type":"contact.created","created_at":"2026-04-17T14:23:05Z","workspace_id":"w1","data":{"id":"c1"}}`
)

var ts = time.Date(2026, 4, 17, 14, 23, 6, 0, time.UTC)

// TestLeadLexSignatureIsTheDocumentedHMAC recomputes the documented value
// independently: HMAC-SHA256 keyed with the secret's bytes, "whsec_" included.
func TestLeadLexSignatureIsTheDocumentedHMAC(t *testing.T) {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(payload))
	if got, want := LeadLex([]byte(payload), secret), "sha256="+hex.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestStandardSignatureUsesTheDecodedKey follows the Standard Webhooks spec:
// the key is base64-decoded from the part after whsec_.
func TestStandardSignatureUsesTheDecodedKey(t *testing.T) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) != 36 {
		t.Fatalf("key: %d bytes, %v", len(key), err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + ".1776435786." + payload))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	got, err := Standard(id, ts, []byte(payload), secret)
	if err != nil || got != want {
		t.Fatalf("got %s %v, want %s", got, err, want)
	}
}

func TestHeaders(t *testing.T) {
	h := Headers(id, ts, []byte(payload), secret, other)
	want := map[string]string{
		"Content-Type": "application/json", "User-Agent": "LeadLex-Webhook/1.0",
		HeaderDeliveryID: id, HeaderTimestamp: "2026-04-17T14:23:06Z", HeaderWebhookID: id, HeaderWebhookTime: "1776435786",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	if parts := strings.Split(h.Get(HeaderSignature), ","); len(parts) != 2 || parts[0] != LeadLex([]byte(payload), secret) {
		t.Errorf("%s = %q", HeaderSignature, h.Get(HeaderSignature))
	}
	if parts := strings.Fields(h.Get(HeaderWebhookSig)); len(parts) != 2 {
		t.Errorf("%s = %q", HeaderWebhookSig, h.Get(HeaderWebhookSig))
	}
}

func TestVerify(t *testing.T) {
	body := []byte(payload)
	signed := Headers(id, ts, body, secret)
	rotated := Headers(id, ts, body, other, secret)
	tamper := func(name, value string) http.Header {
		h := signed.Clone()
		h.Set(name, value)
		return h
	}
	tests := []struct {
		name   string
		h      http.Header
		body   string
		secret string
		now    time.Time
		want   error
	}{
		{"valid", signed, payload, secret, ts, nil},
		{"valid a minute later", signed, payload, secret, ts.Add(time.Minute), nil},
		{"rotation: old secret", rotated, payload, secret, ts, nil},
		{"rotation: new secret", rotated, payload, other, ts, nil},
		{"wrong secret", signed, payload, other, ts, ErrSignature},
		{"body changed", signed, payload + " ", secret, ts, ErrSignature},
		{"replayed later", signed, payload, secret, ts.Add(6 * time.Minute), ErrTimestamp},
		{"from the future", signed, payload, secret, ts.Add(-6 * time.Minute), ErrTimestamp},
		{"timestamp moved", tamper(HeaderWebhookTime, "1776435000"), payload, secret, time.Unix(1776435000, 0), ErrSignature},
		{"id changed", tamper(HeaderWebhookID, "other"), payload, secret, ts, ErrSignature},
		{"no headers", http.Header{}, payload, secret, ts, ErrMissingHeaders},
		{"garbage timestamp", tamper(HeaderWebhookTime, "soon"), payload, secret, ts, ErrTimestamp},
		{"LeadLex signature forged", tamper(HeaderSignature, "sha256=00"), payload, secret, ts, ErrSignature},
		{"LeadLex timestamp stale", tamper(HeaderTimestamp, "2020-01-01T00:00:00Z"), payload, secret, ts, ErrTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(tt.h, []byte(tt.body), tt.secret, 5*time.Minute, tt.now); err != tt.want {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(payload, "1776435786", "v1,abc", "sha256=00")
	f.Fuzz(func(t *testing.T, body, tsText, std, ours string) {
		h := http.Header{}
		h.Set(HeaderWebhookID, id)
		h.Set(HeaderWebhookTime, tsText)
		h.Set(HeaderWebhookSig, std)
		h.Set(HeaderSignature, ours)
		h.Set(HeaderTimestamp, ts.Format(time.RFC3339))
		// Forged headers never verify.
		if Verify(h, []byte(body), secret, time.Hour, ts) == nil {
			t.Fatalf("forged headers verified: %v", h)
		}
	})
}
