package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Password hashes imported from another system (docs/import.md) are kept
// as they are and verified in their own algorithm until the customer's
// first successful sign-in, which replaces them with an argon2id hash of
// the service's parameters (Service.Authenticate). The formats:
//
//	$argon2id$v=19$m=…,t=…,p=…$salt$hash     (PHC; this server's own)
//	$2a$…, $2b$…, $2y$…                      (bcrypt)
//	$scrypt$ln=…,r=…,p=…$salt$hash            (passlib; standard base64, unpadded)
//	pbkdf2_sha256$iter$salt$hash              (Django; salt as text, hash in base64)
//	$pbkdf2-sha256$iter$salt$hash             (passlib; adapted base64, '.' for '+')
//	$firebase-scrypt$ln=…,r=…$salt$sep$signer$hash  (Firebase's modified scrypt; base64)
//
// Every comparison is constant-time. The parameters are bounded so that a
// crafted hash cannot make a sign-in burn unbounded CPU or memory.
const (
	maxBcryptCost       = 16
	maxPBKDF2Iterations = 10_000_000
	maxScryptLogN       = 20
	maxScryptMemory     = 256 << 20 // bytes: 128·N·r·p
)

// ErrUnsupportedHash is returned for an imported password hash in a format
// Gatehouse does not verify.
var ErrUnsupportedHash = errors.New("identity: unsupported password hash format")

// importedHash is a parsed imported hash that can check a password.
type importedHash interface {
	verify(password string) (bool, error)
}

// CheckImportedHash reports whether encoded is a password hash Gatehouse
// can verify: argon2id in PHC form or one of the imported formats above,
// with parameters in bounds. It computes no hash. The error never repeats
// the hash.
func CheckImportedHash(encoded string) error {
	if strings.HasPrefix(encoded, "$argon2id$") {
		_, err := parseArgon2(encoded)
		return err
	}
	_, err := parseImported(encoded)
	return err
}

// HashFormat names the format of a hash CheckImportedHash accepts:
// "argon2id", "bcrypt", "scrypt", "pbkdf2-sha256" (both forms) or
// "firebase-scrypt"; "" for anything else.
func HashFormat(encoded string) string {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return "argon2id"
	case isBcrypt(encoded):
		return "bcrypt"
	case strings.HasPrefix(encoded, "$scrypt$"):
		return "scrypt"
	case strings.HasPrefix(encoded, "pbkdf2_sha256$"), strings.HasPrefix(encoded, "$pbkdf2-sha256$"):
		return "pbkdf2-sha256"
	case strings.HasPrefix(encoded, "$firebase-scrypt$"):
		return "firebase-scrypt"
	}
	return ""
}

// verifyImported checks password against an imported (non-argon2id) hash.
func verifyImported(password, encoded string) (bool, error) {
	h, err := parseImported(encoded)
	if err != nil {
		return false, err
	}
	return h.verify(password)
}

func parseImported(encoded string) (importedHash, error) {
	switch HashFormat(encoded) {
	case "bcrypt":
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil || cost > maxBcryptCost {
			return nil, fmt.Errorf("%w: bcrypt hash malformed or cost above %d", ErrMalformedHash, maxBcryptCost)
		}
		return bcryptHash(encoded), nil
	case "scrypt":
		return parseScrypt(encoded)
	case "pbkdf2-sha256":
		return parsePBKDF2(encoded)
	case "firebase-scrypt":
		return parseFirebase(encoded)
	case "argon2id":
		return nil, fmt.Errorf("%w: argon2id is not an imported format", ErrUnsupportedHash)
	}
	return nil, ErrUnsupportedHash
}

func isBcrypt(s string) bool {
	return len(s) == 60 && (strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$"))
}

// bcryptHash is a bcrypt hash; x/crypto compares in constant time.
type bcryptHash string

func (h bcryptHash) verify(password string) (bool, error) {
	err := bcrypt.CompareHashAndPassword([]byte(h), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), errors.Is(err, bcrypt.ErrPasswordTooLong):
		return false, nil
	default:
		return false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
}

// scryptHash is a standard scrypt key (RFC 7914) of the password and salt.
type scryptHash struct {
	logN, r, p int
	salt, key  []byte
}

func (h scryptHash) verify(password string) (bool, error) {
	got, err := scrypt.Key([]byte(password), h.salt, 1<<h.logN, h.r, h.p, len(h.key))
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// scryptParams parses "ln=…,r=…,p=…" (p optional when withP is false).
func scryptParams(s string, withP bool) (logN, r, p int, err error) {
	p = 1
	seen := map[string]bool{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, convErr := strconv.Atoi(v)
		if !ok || convErr != nil || n <= 0 || seen[k] {
			return 0, 0, 0, ErrMalformedHash
		}
		seen[k] = true
		switch {
		case k == "ln":
			logN = n
		case k == "r":
			r = n
		case k == "p" && withP:
			p = n
		default:
			return 0, 0, 0, ErrMalformedHash
		}
	}
	if logN == 0 || r == 0 || logN > maxScryptLogN || 128*(int64(1)<<logN)*int64(r)*int64(p) > maxScryptMemory || r*p >= 1<<30 {
		return 0, 0, 0, fmt.Errorf("%w: scrypt parameters missing or too large", ErrMalformedHash)
	}
	return logN, r, p, nil
}

func parseScrypt(encoded string) (importedHash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 || parts[1] != "scrypt" {
		return nil, ErrMalformedHash
	}
	logN, r, p, err := scryptParams(parts[2], true)
	if err != nil {
		return nil, err
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[3])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[4])
	if err1 != nil || err2 != nil || len(key) < 16 {
		return nil, ErrMalformedHash
	}
	return scryptHash{logN: logN, r: r, p: p, salt: salt, key: key}, nil
}

// pbkdf2Hash is a PBKDF2-HMAC-SHA256 key of the password and salt.
type pbkdf2Hash struct {
	iter      int
	salt, key []byte
}

func (h pbkdf2Hash) verify(password string) (bool, error) {
	got, err := pbkdf2.Key(sha256.New, password, h.salt, h.iter, len(h.key))
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// passlibB64 is passlib's adapted base64: standard, unpadded, '.' for '+'.
func passlibB64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.ReplaceAll(s, ".", "+"))
}

func parsePBKDF2(encoded string) (importedHash, error) {
	var iterStr, salt, key string
	var saltBytes, keyBytes []byte
	var err1, err2 error
	if rest, ok := strings.CutPrefix(encoded, "pbkdf2_sha256$"); ok {
		// Django: the salt is used as its text, the hash is padded base64.
		parts := strings.Split(rest, "$")
		if len(parts) != 3 {
			return nil, ErrMalformedHash
		}
		iterStr, salt, key = parts[0], parts[1], parts[2]
		saltBytes = []byte(salt)
		keyBytes, err2 = base64.StdEncoding.DecodeString(key)
	} else {
		parts := strings.Split(encoded, "$")
		if len(parts) != 5 {
			return nil, ErrMalformedHash
		}
		iterStr, salt, key = parts[2], parts[3], parts[4]
		saltBytes, err1 = passlibB64(salt)
		keyBytes, err2 = passlibB64(key)
	}
	iter, err := strconv.Atoi(iterStr)
	if err != nil || iter <= 0 || iter > maxPBKDF2Iterations {
		return nil, fmt.Errorf("%w: PBKDF2 iterations missing or above %d", ErrMalformedHash, maxPBKDF2Iterations)
	}
	if err1 != nil || err2 != nil || len(saltBytes) == 0 || len(keyBytes) < 16 {
		return nil, ErrMalformedHash
	}
	return pbkdf2Hash{iter: iter, salt: saltBytes, key: keyBytes}, nil
}

// firebaseHash is Firebase Authentication's modified scrypt: the scrypt key
// (N=2^ln, r, p=1, 32 bytes) of the password and salt‖separator is the
// AES-256-CTR key (zero IV) that encrypts the project's signer key; the
// result is the stored hash (github.com/firebase/scrypt).
type firebaseHash struct {
	logN, r                   int
	salt, sep, signer, hashed []byte
}

func (h firebaseHash) verify(password string) (bool, error) {
	salt := append(append([]byte{}, h.salt...), h.sep...)
	dk, err := scrypt.Key([]byte(password), salt, 1<<h.logN, h.r, 1, 32)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	block, err := aes.NewCipher(dk)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	got := make([]byte, len(h.signer))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(got, h.signer)
	return subtle.ConstantTimeCompare(got, h.hashed) == 1, nil
}

func parseFirebase(encoded string) (importedHash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 7 || parts[1] != "firebase-scrypt" {
		return nil, ErrMalformedHash
	}
	logN, r, _, err := scryptParams(parts[2], false)
	if err != nil {
		return nil, err
	}
	var fields [4][]byte
	for i, s := range parts[3:] {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, ErrMalformedHash
		}
		fields[i] = b
	}
	if len(fields[0]) == 0 || len(fields[2]) == 0 || len(fields[3]) != len(fields[2]) {
		return nil, ErrMalformedHash
	}
	return firebaseHash{logN: logN, r: r, salt: fields[0], sep: fields[1], signer: fields[2], hashed: fields[3]}, nil
}
