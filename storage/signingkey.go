package storage

import "time"

// KeyState is the life-cycle state of a signing key.
type KeyState string

// The states a signing key moves through, in order.
const (
	// KeyActive keys sign new tokens; there is at most one per algorithm.
	KeyActive KeyState = "active"
	// KeyPublished keys no longer sign but stay in the JWKS so that tokens
	// they signed still verify.
	KeyPublished KeyState = "published"
	// KeyRetired keys are gone from the JWKS; their private part is erased.
	KeyRetired KeyState = "retired"
)

// SigningKey is an asymmetric key used to sign ID tokens and other JWTs.
type SigningKey struct {
	// ID is the key id ("kid").
	ID string
	// Algorithm is the JWS algorithm, e.g. "RS256" or "ES256".
	Algorithm string
	// State says whether the key signs, is only published, or is retired.
	State KeyState
	// SealedPrivateKey is the private key, PKCS #8 DER encrypted with the
	// key-encryption key derived from the system secret. Empty once retired.
	SealedPrivateKey []byte
	// PublicJWK is the public key as a JSON Web Key.
	PublicJWK []byte
	// CreatedAt is when the key was generated.
	CreatedAt time.Time
	// DeactivatedAt is when the key stopped signing (zero while active).
	DeactivatedAt time.Time
	// RetiredAt is when the key left the JWKS (zero until retired).
	RetiredAt time.Time
}
