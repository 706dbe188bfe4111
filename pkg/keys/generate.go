package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/storage"
)

// generate makes a new key of alg, ready to be activated: its kid is the
// RFC 7638 thumbprint of the public key, its private part is PKCS #8 DER
// sealed under the system secret with the kid as additional data, and its
// public part is a JWK with kid, alg and use.
func (m *Manager) generate(alg string) (storage.SigningKey, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, m.rsaBits)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return storage.SigningKey{}, fmt.Errorf("generate key: unsupported algorithm %q", alg)
	}
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}

	kid, err := thumbprint(priv.Public())
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	public, err := json.Marshal(publicJWK(priv.Public(), kid, alg))
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("generate %s key: encode public key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("generate %s key: encode private key: %w", alg, err)
	}
	sealed := m.sealer.Seal(der, []byte(kid))
	clear(der)

	return storage.SigningKey{
		ID:               kid,
		Algorithm:        alg,
		State:            storage.KeyActive,
		SealedPrivateKey: sealed,
		PublicJWK:        public,
		CreatedAt:        m.now().UTC(),
	}, nil
}

// publicJWK returns the go-jose v4 JWK of a public key as it is published.
func publicJWK(pub crypto.PublicKey, kid, alg string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}
}

// thumbprint returns the RFC 7638 JWK thumbprint of pub (SHA-256,
// base64url without padding), which is the key's kid.
func thumbprint(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}
