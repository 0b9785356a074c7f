package signature_test

import (
	"errors"
	"testing"
	"time"

	gwsig "github.com/leadlex/api-gateway/gateway/signature"
	"github.com/leadlex/api-gateway/routes/webhooks/signature"
)

// TestForwarderVerifiesWhatGatewaySigns: a receiver still importing the old
// path verifies what the gateway signs, and refuses a tampered body with the
// error gateway/signature reports.
func TestForwarderVerifiesWhatGatewaySigns(t *testing.T) {
	const secret = "whsec_0123456789abcdef0123456789abcdef0123456789abcdef"
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"e-1"}`)
	h := gwsig.Headers("d-1", now, body, secret)
	if err := signature.Verify(h, body, secret, 5*time.Minute, now); err != nil {
		t.Fatalf("Verify of a gateway-signed delivery: %v", err)
	}
	if err := signature.Verify(h, []byte(`{"id":"e-2"}`), secret, 5*time.Minute, now); !errors.Is(err, gwsig.ErrSignature) {
		t.Errorf("Verify of a tampered body = %v, want %v", err, gwsig.ErrSignature)
	}
	if signature.HeaderSignature != gwsig.HeaderSignature || signature.ErrTimestamp != gwsig.ErrTimestamp {
		t.Error("the forwarder's names differ from gateway/signature's")
	}
}
