package secretbox

import (
	"bytes"
	"strings"
	"testing"
)

func newBox(t *testing.T, fill byte) *Box {
	t.Helper()
	b, err := New(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	b := newBox(t, 7)
	secret := "whsec_0123456789abcdef0123456789abcdef0123456789abcdef"
	sealed, err := b.Seal([]byte(secret), []byte("row-1"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, secret) || strings.Contains(sealed, "whsec_") {
		t.Fatalf("sealed value contains the plaintext: %q", sealed)
	}
	again, _ := b.Seal([]byte(secret), []byte("row-1"))
	if again == sealed {
		t.Error("two seals of one value are equal: nonce reuse")
	}
	got, err := b.Open(sealed, []byte("row-1"))
	if err != nil || string(got) != secret {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestOpenRejects(t *testing.T) {
	b := newBox(t, 7)
	sealed, _ := b.Seal([]byte("secret"), []byte("row-1"))
	tampered := []byte(sealed)
	tampered[len(tampered)-2] ^= 1
	tests := []struct {
		name   string
		box    *Box
		sealed string
		aad    string
	}{
		{"wrong aad", b, sealed, "row-2"},
		{"wrong key", newBox(t, 8), sealed, "row-1"},
		{"tampered", b, string(tampered), "row-1"},
		{"not base64", b, "***", "row-1"},
		{"too short", b, "AQID", "row-1"},
		{"empty", b, "", "row-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.box.Open(tt.sealed, []byte(tt.aad)); err != ErrOpen {
				t.Fatalf("Open err = %v, want ErrOpen", err)
			}
		})
	}
}

func TestNewRejectsShortKey(t *testing.T) {
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("New accepted a 16-byte key")
	}
}
