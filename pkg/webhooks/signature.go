package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix begins every signing secret as it is shown (Standard
// Webhooks: "whsec_" and the base64 of the key's bytes).
const SecretPrefix = "whsec_"

// secretBytes is the size of a new signing key: 256 bits (the
// specification asks for 24 to 64 bytes).
const secretBytes = 32

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// newSecret returns a fresh random signing key.
func newSecret() []byte {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic("webhooks: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	return b
}

// FormatSecret returns the key's shown form, "whsec_<base64>".
func FormatSecret(key []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// ParseSecret returns the key of a secret in its shown form.
func ParseSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, errors.New("webhooks: a secret begins with " + SecretPrefix)
	}
	return base64.StdEncoding.DecodeString(rest)
}

// Sign returns one Standard Webhooks signature, "v1,<base64>": the
// HMAC-SHA256 under key of "{id}.{timestamp}.{body}", the timestamp in
// unix seconds.
func Sign(key []byte, id string, at time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(at.Unix(), 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SignatureHeader returns the webhook-signature header's value: one
// signature per key, space-separated (two during a rotation's overlap).
func SignatureHeader(keys [][]byte, id string, at time.Time, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, id, at, body)
	}
	return strings.Join(sigs, " ")
}
