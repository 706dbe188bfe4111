package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/argon2"
)

// Argon2Params are the argon2id parameters of new password hashes
// (RFC 9106). Hashes keep the parameters they were made with, so changing
// these affects only new and upgraded hashes.
type Argon2Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// OWASPMinimum is OWASP's minimum recommendation: 19 MiB, 2 passes, 1 lane.
var OWASPMinimum = Argon2Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1}

const (
	saltBytes = 16
	keyBytes  = 32
)

// ErrMalformedHash is returned for a stored hash that cannot be parsed.
var ErrMalformedHash = errors.New("identity: malformed password hash")

// HashPassword returns the PHC string of an argon2id hash of password:
// $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func HashPassword(password string, p Argon2Params) (string, error) {
	return hashPassword(&argon2.Memory{}, password, p)
}

// hashPassword is HashPassword computing in mem.
func hashPassword(mem *argon2.Memory, password string, p Argon2Params) (string, error) {
	salt := make([]byte, saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("identity: salt: %w", err)
	}
	key := mem.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, keyBytes)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// argon2Hash is a parsed argon2id PHC string.
type argon2Hash struct {
	params     Argon2Params
	salt, want []byte
}

// parseArgon2 parses $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func parseArgon2(encoded string) (argon2Hash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return argon2Hash{}, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return argon2Hash{}, ErrMalformedHash
	}
	var h Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.MemoryKiB, &h.Iterations, &h.Parallelism); err != nil ||
		h.MemoryKiB == 0 || h.Iterations == 0 || h.Parallelism == 0 {
		return argon2Hash{}, ErrMalformedHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return argon2Hash{}, ErrMalformedHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return argon2Hash{}, ErrMalformedHash
	}
	return argon2Hash{params: h, salt: salt, want: want}, nil
}

// VerifyPassword reports whether password matches the PHC hash, comparing in
// constant time, and whether the hash should be remade with p (its
// parameters are weaker). It verifies argon2id only; Service.Authenticate
// also verifies imported hashes (CheckImportedHash).
func VerifyPassword(password, encoded string, p Argon2Params) (ok, rehash bool, err error) {
	return verifyPassword(&argon2.Memory{}, password, encoded, p)
}

// verifyPassword is VerifyPassword computing in mem.
func verifyPassword(mem *argon2.Memory, password, encoded string, p Argon2Params) (ok, rehash bool, err error) {
	a, err := parseArgon2(encoded)
	if err != nil {
		return false, false, err
	}
	h := a.params
	got := mem.IDKey([]byte(password), a.salt, h.Iterations, h.MemoryKiB, h.Parallelism, uint32(len(a.want)))
	ok = subtle.ConstantTimeCompare(got, a.want) == 1
	rehash = h.MemoryKiB < p.MemoryKiB || h.Iterations < p.Iterations || h.Parallelism < p.Parallelism
	return ok, rehash, nil
}
