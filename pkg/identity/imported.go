package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"

	"github.com/gatehouse-id/gatehouse/internal/argon2"
)

// Password hashes imported from another system (docs/import.md) are kept
// as they are and verified in their own algorithm until the customer's
// first successful sign-in, which replaces them with an argon2id hash of
// the service's parameters (Service.Authenticate). The formats:
//
//	$argon2id$v=19$m=…,t=…,p=…$salt$hash     (PHC; this server's own)
//	$argon2i$v=19$m=…,t=…,p=…$salt$hash      (PHC; rehashed to argon2id)
//	$2a$…, $2b$…, $2y$…                      (bcrypt)
//	$scrypt$ln=…,r=…,p=…$salt$hash            (passlib and PHC; standard base64, unpadded)
//	pbkdf2_sha256$iter$salt$hash              (Django; salt as text, hash in base64)
//	pbkdf2_sha512$iter$salt$hash              (Django's form with SHA-512, from custom hashers)
//	$pbkdf2-sha256$iter$salt$hash             (passlib; adapted base64, '.' for '+')
//	$pbkdf2-sha256$i=iter[,l=len]$salt$hash   (PHC; standard or adapted base64, unpadded)
//	$pbkdf2-sha512$…                          (the same two with SHA-512)
//	$firebase-scrypt$ln=…,r=…$salt$sep$signer$hash  (Firebase's modified scrypt; base64)
//
// Every comparison is constant-time. The parameters are bounded so that a
// crafted hash cannot make a sign-in burn unbounded CPU or memory.
const (
	maxBcryptCost       = 16
	maxPBKDF2Iterations = 10_000_000
	maxScryptLogN       = 20
	maxScryptMemory     = 256 << 20 // bytes: 128·N·r·p
	maxArgon2MemoryKiB  = 256 << 10 // 256 MiB
	maxArgon2Passes     = 16
	maxArgon2Lanes      = 16
)

// ErrUnsupportedHash is returned for an imported password hash in a format
// Gatehouse does not verify.
var ErrUnsupportedHash = errors.New("identity: unsupported password hash format")

// importedHash is a parsed imported hash that can check a password. mem
// is the hashing slot's argon2 work area, for the kinds that use one.
type importedHash interface {
	verify(mem *argon2.Memory, password string) (bool, error)
}

// CheckImportedHash reports whether encoded is a password hash Gatehouse
// can verify: argon2id in PHC form or one of the imported formats above,
// with parameters in bounds. It computes no hash. The error never repeats
// the hash.
func CheckImportedHash(encoded string) error {
	if strings.HasPrefix(encoded, "$argon2id$") {
		a, err := parseArgon2(encoded)
		if err != nil {
			return err
		}
		return checkArgon2Bounds(a.params)
	}
	_, err := parseImported(encoded)
	return err
}

// checkArgon2Bounds refuses argon2 parameters that would make one sign-in
// take unbounded memory or time.
func checkArgon2Bounds(p Argon2Params) error {
	if p.MemoryKiB > maxArgon2MemoryKiB || p.Iterations > maxArgon2Passes || p.Parallelism > maxArgon2Lanes {
		return fmt.Errorf("%w: argon2 parameters above m=%d,t=%d,p=%d", ErrMalformedHash, maxArgon2MemoryKiB, maxArgon2Passes, maxArgon2Lanes)
	}
	return nil
}

// HashFormat names the format of a hash CheckImportedHash accepts:
// "argon2id", "bcrypt", "scrypt", "pbkdf2-sha256" (every form),
// "firebase-scrypt", "argon2i" or "pbkdf2-sha512"; "" for anything else.
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
	case strings.HasPrefix(encoded, "$argon2i$"):
		return "argon2i"
	case strings.HasPrefix(encoded, "pbkdf2_sha512$"), strings.HasPrefix(encoded, "$pbkdf2-sha512$"):
		return "pbkdf2-sha512"
	}
	return ""
}

// verifyImported checks password against an imported (non-argon2id) hash;
// an argon2i one is computed in mem.
func verifyImported(mem *argon2.Memory, password, encoded string) (bool, error) {
	h, err := parseImported(encoded)
	if err != nil {
		return false, err
	}
	return h.verify(mem, password)
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
	case "pbkdf2-sha256", "pbkdf2-sha512":
		return parsePBKDF2(encoded)
	case "firebase-scrypt":
		return parseFirebase(encoded)
	case "argon2i":
		return parseArgon2i(encoded)
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

func (h bcryptHash) verify(_ *argon2.Memory, password string) (bool, error) {
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

func (h scryptHash) verify(_ *argon2.Memory, password string) (bool, error) {
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

// pbkdf2Hash is a PBKDF2-HMAC key (SHA-256 or SHA-512) of the password and
// salt.
type pbkdf2Hash struct {
	sha512    bool
	iter      int
	salt, key []byte
}

func (h pbkdf2Hash) verify(_ *argon2.Memory, password string) (bool, error) {
	var got []byte
	var err error
	if h.sha512 {
		got, err = pbkdf2.Key(sha512.New, password, h.salt, h.iter, len(h.key))
	} else {
		got, err = pbkdf2.Key(sha256.New, password, h.salt, h.iter, len(h.key))
	}
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// passlibB64 decodes passlib's adapted base64 (standard, unpadded, '.' for
// '+'), and so also standard base64 without padding.
func passlibB64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.ReplaceAll(s, ".", "+"))
}

// parsePBKDF2 parses Django's form (pbkdf2_sha256$…, pbkdf2_sha512$…),
// passlib's ($pbkdf2-sha256$29000$…) and PHC's ($pbkdf2-sha256$i=29000$…,
// optionally ",l=" the key's length).
func parsePBKDF2(encoded string) (importedHash, error) {
	var h pbkdf2Hash
	var iterStr string
	var err1, err2 error
	if rest, ok := strings.CutPrefix(encoded, "pbkdf2_sha256$"); ok || strings.HasPrefix(encoded, "pbkdf2_sha512$") {
		// Django: the salt is used as its text, the hash is padded base64.
		if !ok {
			rest, h.sha512 = strings.TrimPrefix(encoded, "pbkdf2_sha512$"), true
		}
		parts := strings.Split(rest, "$")
		if len(parts) != 3 {
			return nil, ErrMalformedHash
		}
		iterStr, h.salt = parts[0], []byte(parts[1])
		h.key, err2 = base64.StdEncoding.DecodeString(parts[2])
	} else {
		parts := strings.Split(encoded, "$")
		if len(parts) != 5 {
			return nil, ErrMalformedHash
		}
		h.sha512 = parts[1] == "pbkdf2-sha512"
		iterStr = parts[2]
		keyLen := -1
		if params, ok := strings.CutPrefix(parts[2], "i="); ok {
			var lenStr string
			iterStr, lenStr, _ = strings.Cut(params, ",")
			if lenStr != "" {
				n, err := strconv.Atoi(strings.TrimPrefix(lenStr, "l="))
				if !strings.HasPrefix(lenStr, "l=") || err != nil {
					return nil, ErrMalformedHash
				}
				keyLen = n
			}
		}
		h.salt, err1 = passlibB64(parts[3])
		h.key, err2 = passlibB64(parts[4])
		if keyLen >= 0 && keyLen != len(h.key) {
			return nil, ErrMalformedHash
		}
	}
	iter, err := strconv.Atoi(iterStr)
	if err != nil || iter <= 0 || iter > maxPBKDF2Iterations {
		return nil, fmt.Errorf("%w: PBKDF2 iterations missing or above %d", ErrMalformedHash, maxPBKDF2Iterations)
	}
	if err1 != nil || err2 != nil || len(h.salt) == 0 || len(h.key) < 16 {
		return nil, ErrMalformedHash
	}
	h.iter = iter
	return h, nil
}

// argon2iHash is an argon2i (not argon2id) key, version 19.
type argon2iHash argon2Hash

func (h argon2iHash) verify(mem *argon2.Memory, password string) (bool, error) {
	p := h.params
	got := mem.Key([]byte(password), h.salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(h.want)))
	return subtle.ConstantTimeCompare(got, h.want) == 1, nil
}

// parseArgon2i parses $argon2i$v=19$m=…,t=…,p=…$salt$hash, as argon2id's
// PHC string with the other name, within the import's bounds.
func parseArgon2i(encoded string) (importedHash, error) {
	rest, ok := strings.CutPrefix(encoded, "$argon2i$")
	if !ok {
		return nil, ErrMalformedHash
	}
	a, err := parseArgon2("$argon2id$" + rest)
	if err != nil {
		return nil, err
	}
	if err := checkArgon2Bounds(a.params); err != nil {
		return nil, err
	}
	return argon2iHash(a), nil
}

// firebaseHash is Firebase Authentication's modified scrypt: the scrypt key
// (N=2^ln, r, p=1, 32 bytes) of the password and salt‖separator is the
// AES-256-CTR key (zero IV) that encrypts the project's signer key; the
// result is the stored hash (github.com/firebase/scrypt).
type firebaseHash struct {
	logN, r                   int
	salt, sep, signer, hashed []byte
}

func (h firebaseHash) verify(_ *argon2.Memory, password string) (bool, error) {
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
