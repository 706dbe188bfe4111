package oidc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strings"
	"sync"
	"time"
)

// timeOrderedTokens makes fosite-compatible opaque access tokens whose
// storage key sorts by issue time.
//
// A fosite HMAC token is base64url(key) "." base64url(HMAC(secret, key)),
// and fosite stores it under the HMAC: random, so every new token lands on a
// random page of the store's index, one page write per token. Here the key
// starts with the issue time in milliseconds (6 bytes, then 32 random
// bytes), and the storage key is that time in hex followed by the HMAC: new
// tokens land at the end of the index, and a batch of them costs a page or
// two. The token validates with fosite's unchanged HMAC check, the random
// part keeps 256 bits of entropy, and the store still holds only the HMAC
// (and an issue time that it records anyway), never anything a token could
// be rebuilt from.
type timeOrderedTokens struct {
	secret []byte           // fosite's global secret; its first 32 bytes key the HMAC
	hasher func() hash.Hash // fosite's HMAC hash (SHA-512/256)
	macs   sync.Pool        // of keyed HMACs, reset before each use
}

const (
	timePrefixBytes = 6
	randomBytes     = 32
	// timePrefixChars is the base64url length of the 6-byte time prefix:
	// 6 bytes are exactly 8 characters, so the prefix never shares a
	// character with the random part.
	timePrefixChars = 8
)

var tokenB64 = base64.RawURLEncoding

// generate returns a new token (without its gate_at_ prefix) and its
// storage key.
func (t *timeOrderedTokens) generate(now time.Time) (token, storageKey string, err error) {
	var key [timePrefixBytes + randomBytes]byte
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(now.UnixMilli()))
	copy(key[:], ms[8-timePrefixBytes:])
	if _, err := rand.Read(key[timePrefixBytes:]); err != nil {
		return "", "", err
	}
	var sum [sha512.Size]byte
	sig := tokenB64.AppendEncode(nil, t.mac(sum[:0], key[:]))
	tok := make([]byte, 0, tokenB64.EncodedLen(len(key))+1+len(sig))
	tok = append(append(tokenB64.AppendEncode(tok, key[:]), '.'), sig...)
	sk := make([]byte, 0, 2*timePrefixBytes+len(sig))
	sk = append(hex.AppendEncode(sk, key[:timePrefixBytes]), sig...)
	return string(tok), string(sk), nil
}

// storageKey returns the storage key of a token (without its prefix), or
// "" for a malformed one, which then matches nothing.
func (t *timeOrderedTokens) storageKey(token string) string {
	key, sig, ok := strings.Cut(token, ".")
	if !ok || len(key) < timePrefixChars || sig == "" {
		return ""
	}
	prefix, err := tokenB64.DecodeString(key[:timePrefixChars])
	if err != nil {
		return ""
	}
	return hex.EncodeToString(prefix) + sig
}

// mac appends fosite's HMAC of data to dst: keyed with the first 32 bytes
// of the global secret. Keyed HMACs are pooled: keying one costs two hash
// blocks, resetting it none.
func (t *timeOrderedTokens) mac(dst, data []byte) []byte {
	m, _ := t.macs.Get().(hash.Hash)
	if m == nil {
		hasher := t.hasher
		if hasher == nil {
			hasher = sha512.New512_256
		}
		var k [32]byte
		copy(k[:], t.secret)
		m = hmac.New(hasher, k[:])
	} else {
		m.Reset()
	}
	m.Write(data)
	dst = m.Sum(dst)
	t.macs.Put(m)
	return dst
}
