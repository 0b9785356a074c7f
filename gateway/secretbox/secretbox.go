// Package secretbox encrypts small secrets at rest (webhook signing secrets,
// stored idempotent responses) with AES-256-GCM under the configured key.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// version is the first byte of every sealed value, so that a later key or
// algorithm rotation can tell old values from new ones.
const version byte = 1

// ErrOpen means a value could not be decrypted: wrong key, wrong associated
// data, or tampering. It deliberately says no more.
var ErrOpen = errors.New("secretbox: cannot open sealed value")

// Box seals and opens values under one key.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secretbox: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext bound to aad (e.g. the owning row's id, so that a
// ciphertext copied to another row does not open) and returns base64 text.
func (b *Box) Seal(plaintext, aad []byte) (string, error) {
	out := make([]byte, 1+b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		return "", err
	}
	out = b.aead.Seal(out, out[1:], plaintext, aad)
	return base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value produced by Seal with the same aad.
func (b *Box) Open(sealed string, aad []byte) ([]byte, error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	ns := b.aead.NonceSize()
	if err != nil || len(raw) < 1+ns+b.aead.Overhead() || raw[0] != version {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, raw[1:1+ns], raw[1+ns:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
