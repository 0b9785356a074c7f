// Package signature signs LeadLex webhook deliveries and verifies them. The
// gateway signs with it; receivers written in Go can import it to verify:
//
//	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
//	if err := signature.Verify(r.Header, body, secret, 5*time.Minute, time.Now()); err != nil {
//		http.Error(w, "bad signature", http.StatusUnauthorized)
//		return
//	}
//
// Every delivery carries two schemes. LeadLex's own: X-LeadLex-Signature is
// "sha256=" and the lowercase hex HMAC-SHA256 of the raw body, keyed with the
// secret string exactly as issued ("whsec_…" included). And Standard Webhooks
// (standardwebhooks.com): webhook-signature is "v1," and the base64
// HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>", keyed with the
// base64 decoding of the part after "whsec_", so the official verifiers
// accept it given the secret unchanged. Only the second binds the timestamp,
// which is what stops a captured delivery from being replayed later. During
// a secret rotation each header carries one signature per secret.
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names and values of a delivery.
const (
	HeaderDeliveryID  = "X-LeadLex-Delivery-ID"
	HeaderTimestamp   = "X-LeadLex-Timestamp"
	HeaderSignature   = "X-LeadLex-Signature"
	HeaderWebhookID   = "webhook-id"
	HeaderWebhookTime = "webhook-timestamp"
	HeaderWebhookSig  = "webhook-signature"
	UserAgent         = "LeadLex-Webhook/1.0"
	secretPrefix      = "whsec_"
)

// Verification errors.
var (
	ErrMissingHeaders = errors.New("signature: missing signature headers")
	ErrTimestamp      = errors.New("signature: timestamp outside the tolerance")
	ErrSignature      = errors.New("signature: no signature matches")
)

// LeadLex returns the X-LeadLex-Signature entry for one secret.
func LeadLex(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// standardKey is the Standard Webhooks key: the base64 decoding of the part
// after "whsec_" (our 48 hex characters are valid base64: 36 bytes).
func standardKey(secret string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
}

// Standard returns the webhook-signature entry for one secret.
func Standard(id string, ts time.Time, body []byte, secret string) (string, error) {
	key, err := standardKey(secret)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// Headers returns every header of a delivery signed with the given secrets,
// the current one first (during a rotation, the previous one second).
func Headers(deliveryID string, ts time.Time, body []byte, secrets ...string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	h.Set(HeaderDeliveryID, deliveryID)
	h.Set(HeaderTimestamp, ts.UTC().Format(time.RFC3339))
	h.Set(HeaderWebhookID, deliveryID)
	h.Set(HeaderWebhookTime, strconv.FormatInt(ts.Unix(), 10))
	var ours, std []string
	for _, s := range secrets {
		ours = append(ours, LeadLex(body, s))
		if v, err := Standard(deliveryID, ts, body, s); err == nil {
			std = append(std, v)
		}
	}
	h.Set(HeaderSignature, strings.Join(ours, ","))
	h.Set(HeaderWebhookSig, strings.Join(std, " "))
	return h
}

// VerifyLeadLex checks X-LeadLex-Signature against the secret and that
// X-LeadLex-Timestamp is within tolerance of now. (This scheme does not sign
// the timestamp; prefer Verify or VerifyStandard against replays.)
func VerifyLeadLex(h http.Header, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	sig, tsText := h.Get(HeaderSignature), h.Get(HeaderTimestamp)
	if sig == "" || tsText == "" {
		return ErrMissingHeaders
	}
	ts, err := time.Parse(time.RFC3339, tsText)
	if err != nil || !within(ts, now, tolerance) {
		return ErrTimestamp
	}
	want := []byte(LeadLex(body, secret))
	for _, got := range strings.Split(sig, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(got)), want) {
			return nil
		}
	}
	return ErrSignature
}

// VerifyStandard checks the Standard Webhooks headers: webhook-timestamp
// within tolerance of now, and a v1 signature over id, timestamp and body.
func VerifyStandard(h http.Header, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	id, tsText, sig := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTime), h.Get(HeaderWebhookSig)
	if id == "" || tsText == "" || sig == "" {
		return ErrMissingHeaders
	}
	secs, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || !within(time.Unix(secs, 0), now, tolerance) {
		return ErrTimestamp
	}
	want, err := Standard(id, time.Unix(secs, 0), body, secret)
	if err != nil {
		return ErrSignature
	}
	for _, got := range strings.Fields(sig) {
		if hmac.Equal([]byte(got), []byte(want)) {
			return nil
		}
	}
	return ErrSignature
}

// Verify checks both schemes; a delivery passes only if both do.
func Verify(h http.Header, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	if err := VerifyStandard(h, body, secret, tolerance, now); err != nil {
		return err
	}
	return VerifyLeadLex(h, body, secret, tolerance, now)
}

func within(ts, now time.Time, tolerance time.Duration) bool {
	d := now.Sub(ts)
	return d <= tolerance && d >= -tolerance
}
