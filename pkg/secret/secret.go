// Package secret turns the system secret (GATEHOUSE_SECRET) into the keys
// Gatehouse uses: one that encrypts data at rest (signing keys), one that
// keys the hash of client secrets, and one that keys the HMAC of opaque
// tokens. Each key is derived with HKDF-SHA256 under its own label, so no
// key is ever used for two jobs and the system secret itself is never used
// directly.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"sync"
)

// MinLength is the minimum length of the system secret in bytes.
const MinLength = 32

// Purposes, used as HKDF info labels. Changing one invalidates everything
// derived from it.
const (
	purposeEncryption = "gatehouse/v1/encryption-at-rest"
	purposeClientHash = "gatehouse/v1/client-secret-hash"
	purposeTokenHMAC  = "gatehouse/v1/token-hmac"
	purposeCSRF       = "gatehouse/v1/csrf"
	purposePairwise   = "gatehouse/v1/pairwise-subject"
	purposeRecovery   = "gatehouse/v1/recovery-code-hash"
	purposeSignIn     = "gatehouse/v1/sign-in-pending"
	purposeEmailToken = "gatehouse/v1/email-token-hash"
	purposeSealToken  = "gatehouse/v1/sealed-access-token"
)

// ErrTooShort is returned for a system secret shorter than MinLength.
var ErrTooShort = fmt.Errorf("secret: the system secret must be at least %d bytes", MinLength)

// ErrDecrypt is returned when sealed data cannot be opened: it was sealed
// under another system secret, or it was altered.
var ErrDecrypt = errors.New("secret: cannot decrypt: wrong system secret or corrupted data")

// Keys holds the keys derived from one system secret.
type Keys struct {
	aead       cipher.AEAD
	clientHash []byte
	tokenHMAC  []byte
	csrf       []byte
	pairwise   []byte
	recovery   []byte
	signIn     []byte
	emailToken []byte
	sealToken  []byte

	clientMACs sync.Pool // of HMACs keyed with clientHash, reset before use
}

// Derive derives every key from the system secret.
func Derive(system []byte) (*Keys, error) {
	if len(system) < MinLength {
		return nil, ErrTooShort
	}
	enc, err := derive(system, purposeEncryption)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, fmt.Errorf("secret: aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: gcm: %w", err)
	}
	clientHash, err := derive(system, purposeClientHash)
	if err != nil {
		return nil, err
	}
	tokenHMAC, err := derive(system, purposeTokenHMAC)
	if err != nil {
		return nil, err
	}
	csrf, err := derive(system, purposeCSRF)
	if err != nil {
		return nil, err
	}
	pairwise, err := derive(system, purposePairwise)
	if err != nil {
		return nil, err
	}
	recovery, err := derive(system, purposeRecovery)
	if err != nil {
		return nil, err
	}
	signIn, err := derive(system, purposeSignIn)
	if err != nil {
		return nil, err
	}
	emailToken, err := derive(system, purposeEmailToken)
	if err != nil {
		return nil, err
	}
	sealToken, err := derive(system, purposeSealToken)
	if err != nil {
		return nil, err
	}
	return &Keys{aead: aead, clientHash: clientHash, tokenHMAC: tokenHMAC, csrf: csrf, pairwise: pairwise, recovery: recovery, signIn: signIn,
		emailToken: emailToken, sealToken: sealToken}, nil
}

func derive(system []byte, purpose string) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, system, nil, purpose, 32)
	if err != nil {
		return nil, fmt.Errorf("secret: derive %s: %w", purpose, err)
	}
	return k, nil
}

// Seal encrypts plaintext with AES-256-GCM under a fresh random nonce. The
// additional data binds the ciphertext to its context (for example a key
// id), so a sealed value moved to another row does not open.
func (k *Keys) Seal(plaintext, additional []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("secret: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	return k.aead.Seal(nonce, nonce, plaintext, additional)
}

// Open decrypts what Seal produced with the same additional data.
func (k *Keys) Open(sealed, additional []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, ErrDecrypt
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], additional)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}

// PairwiseSubject returns the pairwise subject identifier of a local
// subject for a sector (OpenID Connect Core §8.1): an HMAC-SHA256 of both
// under a key derived from the system secret, so it is stable for the
// sector, different across sectors, and cannot be linked back without the
// secret.
func (k *Keys) PairwiseSubject(sector, subject string) string {
	m := hmac.New(sha256.New, k.pairwise)
	m.Write([]byte(sector))
	m.Write([]byte{0})
	m.Write([]byte(subject))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CSRFKey returns the key of the hosted pages' CSRF tokens and signed
// consent decisions.
func (k *Keys) CSRFKey() []byte { return k.csrf }

// RecoveryCodeKey returns the key of the HMAC-SHA256 under which recovery
// codes are stored. The codes are random and long enough that a fast keyed
// hash protects them; a slow password hash would add nothing.
func (k *Keys) RecoveryCodeKey() []byte { return k.recovery }

// SignInKey returns the key that signs the pending state of a sign-in
// between its first and second factor (pkg/signin).
func (k *Keys) SignInKey() []byte { return k.signIn }

// TokenHMACKey returns the 32-byte key for fosite's opaque token HMACs.
func (k *Keys) TokenHMACKey() []byte { return k.tokenHMAC }

// SealedTokenKey returns the 32-byte key that encrypts and authenticates
// sealed access tokens (pkg/oidc): self-contained tokens whose holder
// cannot read or alter them.
func (k *Keys) SealedTokenKey() []byte { return k.sealToken }

// EmailTokenKey keys the hashes of mailed links and codes
// (pkg/selfservice): the store keeps only those hashes.
func (k *Keys) EmailTokenKey() []byte { return k.emailToken }

// HashClientSecret returns the keyed hash under which a client secret is
// stored: HMAC-SHA256 with a key derived from the system secret. Client
// secrets are generated by the server with 256 bits of entropy, so a fast
// keyed hash is as safe as a slow one and costs microseconds to check; the
// key means a stolen database alone does not let anyone test guesses.
func (k *Keys) HashClientSecret(secret []byte) []byte {
	m, _ := k.clientMACs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, k.clientHash)
	} else {
		m.Reset()
	}
	m.Write(secret)
	sum := m.Sum(nil)
	k.clientMACs.Put(m)
	return sum
}

// CompareClientSecret reports, in constant time, whether secret hashes to
// hash.
func (k *Keys) CompareClientSecret(hash, secret []byte) bool {
	return subtle.ConstantTimeCompare(hash, k.HashClientSecret(secret)) == 1
}

// NewRandomString returns n random bytes encoded as unpadded base64url.
func NewRandomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("secret: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
