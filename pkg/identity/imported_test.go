package identity

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/argon2"
	"github.com/gatehouse-id/gatehouse/storage"
)

// The password of the known-answer vectors computed here.
const kaPassword = "correct horse battery staple"

// importedVectors are known answers made with tools independent of this
// package: Python's hashlib (pbkdf2_hmac, scrypt) for PBKDF2 and scrypt,
// golang.org/x/crypto/bcrypt for bcrypt, and the published vectors of
// OpenWall's crypt_blowfish and of Firebase's scrypt (github.com/firebase/scrypt).
var importedVectors = []struct {
	name, format, password, hash string
}{
	{"bcrypt $2a$ (x/crypto/bcrypt, cost 10)", "bcrypt", kaPassword,
		"$2a$10$Tmr2PcZrYWJB/baMNv0NzeSdSXVv3Xt7S9eAQNBH/.1Zs4j5ERqdO"},
	{"bcrypt $2y$ (PHP's prefix, same hash)", "bcrypt", kaPassword,
		"$2y$10$Tmr2PcZrYWJB/baMNv0NzeSdSXVv3Xt7S9eAQNBH/.1Zs4j5ERqdO"},
	{"bcrypt $2b$ (OpenBSD's prefix, same hash)", "bcrypt", kaPassword,
		"$2b$10$Tmr2PcZrYWJB/baMNv0NzeSdSXVv3Xt7S9eAQNBH/.1Zs4j5ERqdO"},
	{"bcrypt, crypt_blowfish's published vector", "bcrypt", "U*U",
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	// hashlib.scrypt(pw, salt=b"\x10\x20\x30\x40saltysalt!", n=2**14, r=8, p=1, dklen=32)
	{"scrypt, passlib's form", "scrypt", kaPassword,
		"$scrypt$ln=14,r=8,p=1$ECAwQHNhbHR5c2FsdCE$5/yIhCGljJ0XGSDC2gx9SDNRzATGKzpYXj4ddd7gmHA"},
	// hashlib.pbkdf2_hmac("sha256", pw, b"seasalt2024XyZ", 600000)
	{"PBKDF2-SHA256, Django's form", "pbkdf2-sha256", kaPassword,
		"pbkdf2_sha256$600000$seasalt2024XyZ$ckpOZxEjD2YUXnmmplYAyw+Phzq1IzuUP7nmvKMBXpo="},
	// hashlib.pbkdf2_hmac("sha256", pw, sha256(b"\x02")[:16]..., 29000), passlib's ab64 ('.' for '+')
	{"PBKDF2-SHA256, passlib's form", "pbkdf2-sha256", kaPassword,
		"$pbkdf2-sha256$29000$bjQLnP.zepicpUTmu3gKLA$JGJZIVc.kNQaHeXIL2PyiUIv/0v1iOturWSWq9erQW8"},
	// hashlib.pbkdf2_hmac("sha512", pw, b"pepperSalt2026", 210000): Django's
	// shape with SHA-512, as custom hashers write it (Django itself has none).
	{"PBKDF2-SHA512, Django's form", "pbkdf2-sha512", kaPassword,
		"pbkdf2_sha512$210000$pepperSalt2026$rYvUVHAPOAcQuhw4doRWxxLDMo8PrF66noYnwJNlDNGDhaq7eTyUOY4iSVC/RjcLdwG+cVCv4/UtKkx8rg3QHQ=="},
	// hashlib.pbkdf2_hmac("sha256", pw, bytes(range(16)), 29000), standard base64 unpadded
	{"PBKDF2-SHA256, PHC form", "pbkdf2-sha256", kaPassword,
		"$pbkdf2-sha256$i=29000$AAECAwQFBgcICQoLDA0ODw$m/kLywdyNwK9GV2kWntRGvZzmeiVsuqehNWlLst2eWY"},
	// hashlib.pbkdf2_hmac("sha512", pw, bytes(range(16)), 25000), passlib's ab64
	{"PBKDF2-SHA512, passlib's form", "pbkdf2-sha512", kaPassword,
		"$pbkdf2-sha512$25000$AAECAwQFBgcICQoLDA0ODw$SD45rjg2efG3ODIHQeklcrq1rgpKrbMw16UwshxvBWLgNENeDWMvNiO.Lj6BUMRx4V/sPJndUTpKWVbG79Akig"},
	// the same, 32 bytes, PHC form with the key's length
	{"PBKDF2-SHA512, PHC form with l=", "pbkdf2-sha512", kaPassword,
		"$pbkdf2-sha512$i=25000,l=32$AAECAwQFBgcICQoLDA0ODw$SD45rjg2efG3ODIHQeklcrq1rgpKrbMw16UwshxvBWI"},
	// The reference implementation's README (github.com/P-H-C/phc-winner-argon2):
	// echo -n password | argon2 somesalt -t 2 -m 16 -p 4 -l 24
	{"argon2i, the reference implementation's example", "argon2i", "password",
		"$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"},
	// github.com/firebase/scrypt README: signer key jxspr8…, separator Bw==,
	// rounds 8, mem_cost 14, salt 42xEC+ixf3L2lw==, password user1password.
	{"Firebase scrypt, the published vector", "firebase-scrypt", "user1password",
		"$firebase-scrypt$ln=14,r=8$42xEC+ixf3L2lw==$Bw==$" +
			"jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==$" +
			"lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="},
}

func TestImportedHashesVerifyTheirKnownAnswers(t *testing.T) {
	for _, v := range importedVectors {
		t.Run(v.name, func(t *testing.T) {
			if got := HashFormat(v.hash); got != v.format {
				t.Fatalf("HashFormat = %q, want %q", got, v.format)
			}
			if err := CheckImportedHash(v.hash); err != nil {
				t.Fatalf("CheckImportedHash: %v", err)
			}
			if ok, err := verifyImported(&argon2.Memory{}, v.password, v.hash); !ok || err != nil {
				t.Fatalf("the right password: ok=%v err=%v", ok, err)
			}
			if ok, err := verifyImported(&argon2.Memory{}, v.password+"!", v.hash); ok || err != nil {
				t.Fatalf("a wrong password: ok=%v err=%v", ok, err)
			}
		})
	}
}

func TestImportedHashesMalformedOrUnboundedAreRefused(t *testing.T) {
	for _, bad := range []string{
		"", "plain", "md5$abc$def", "$1$salt$hash", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$aGFzaA",
		"$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", // cost above the bound
		"$scrypt$ln=24,r=8,p=1$c2FsdA$5/yIhCGljJ0XGSDC2gx9SDNRzATGKzpYXj4ddd7gmHA",
		"$scrypt$ln=14,r=8$c2FsdA$!!",
		"$scrypt$ln=14,r=8,p=1,x=1$c2FsdA$5/yIhCGljJ0XGSDC2gx9SDNRzATGKzpYXj4ddd7gmHA",
		"pbkdf2_sha256$0$salt$ckpOZxEjD2YUXnmmplYAyw+Phzq1IzuUP7nmvKMBXpo=",
		"pbkdf2_sha256$99999999999$salt$ckpOZxEjD2YUXnmmplYAyw+Phzq1IzuUP7nmvKMBXpo=",
		"$pbkdf2-sha256$29000$bjQLnP.zepicpUTmu3gKLA",
		"$firebase-scrypt$ln=14,r=8$42xEC+ixf3L2lw==$Bw==$AAAA$AA==",
		"$argon2i$v=19$m=1048576,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",  // 1 GiB
		"$argon2id$v=19$m=65536,t=200,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", // 200 passes
		"$argon2i$v=16$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",    // version 16
		"$pbkdf2-sha512$i=25000,l=31$AAECAwQFBgcICQoLDA0ODw$SD45rjg2efG3ODIHQeklcrq1rgpKrbMw16UwshxvBWI",
		"$pbkdf2-sha512$i=0$AAECAwQFBgcICQoLDA0ODw$SD45rjg2efG3ODIHQeklcrq1rgpKrbMw16UwshxvBWI",
		"pbkdf2_sha1$260000$salt$ckpOZxEjD2YUXnmmplYAyw+Phzq1IzuUP7nmvKMBXpo=",
	} {
		if err := CheckImportedHash(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("the error repeats the hash: %v", err)
		}
	}
}

// usersInMemory is a UserStore of one map, enough to watch a rehash.
type usersInMemory map[string]storage.User

func (m usersInMemory) CreateUser(_ context.Context, u storage.User) error { m[u.ID] = u; return nil }
func (m usersInMemory) GetUser(_ context.Context, id string) (storage.User, error) {
	if u, ok := m[id]; ok {
		return u, nil
	}
	return storage.User{}, storage.ErrNotFound
}
func (m usersInMemory) GetUserRecent(ctx context.Context, id string) (storage.User, error) {
	return m.GetUser(ctx, id)
}
func (m usersInMemory) GetUserByEmail(_ context.Context, email string) (storage.User, error) {
	for _, u := range m {
		if u.Email == email {
			return u, nil
		}
	}
	return storage.User{}, storage.ErrNotFound
}
func (m usersInMemory) UpdateUser(_ context.Context, id string, update func(storage.User) (storage.User, error)) error {
	u, ok := m[id]
	if !ok {
		return storage.ErrNotFound
	}
	u, err := update(u)
	if err != nil {
		return err
	}
	m[id] = u
	return nil
}

func TestAuthenticateUpgradesAnImportedHashOnTheFirstSignIn(t *testing.T) {
	ctx := context.Background()
	for _, v := range importedVectors {
		t.Run(v.name, func(t *testing.T) {
			users := usersInMemory{"u1": {ID: "u1", Email: "ada@example.com", PasswordHash: v.hash}}
			s := NewService(users, fast, PasswordPolicy{MinLength: 8})
			if _, err := s.Authenticate(ctx, "ada@example.com", v.password+"x"); !errors.Is(err, ErrInvalidCredentials) {
				t.Fatalf("a wrong password: %v", err)
			}
			if users["u1"].PasswordHash != v.hash {
				t.Fatal("a failed sign-in changed the hash")
			}
			if _, err := s.Authenticate(ctx, "ada@example.com", v.password); err != nil {
				t.Fatalf("the right password: %v", err)
			}
			upgraded := users["u1"].PasswordHash
			if !strings.HasPrefix(upgraded, "$argon2id$v=19$m=8192,t=1,p=1$") {
				t.Fatalf("not rehashed to the service's argon2id: %.20s…", upgraded)
			}
			if _, err := s.Authenticate(ctx, "ada@example.com", v.password); err != nil {
				t.Fatalf("the upgraded hash: %v", err)
			}
			if users["u1"].PasswordHash != upgraded {
				t.Fatal("a current argon2id hash was rehashed again")
			}
		})
	}
}

// BenchmarkVerifyImported is the cost of one sign-in's check of each
// imported format, at the parameters of the vectors above (bcrypt cost 10,
// scrypt N=2^14, Django's 600,000 PBKDF2 iterations, passlib's 29,000,
// Firebase's N=2^14).
func BenchmarkVerifyImported(b *testing.B) {
	for _, v := range importedVectors {
		if strings.HasPrefix(v.hash, "$2y$") || strings.HasPrefix(v.hash, "$2b$") || strings.Contains(v.name, "crypt_blowfish") {
			continue
		}
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				if ok, err := verifyImported(&argon2.Memory{}, v.password, v.hash); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
	b.Run("argon2id at OWASP's minimum, for comparison", func(b *testing.B) {
		h, _ := HashPassword(kaPassword, OWASPMinimum)
		for b.Loop() {
			_, _, _ = VerifyPassword(kaPassword, h, OWASPMinimum)
		}
	})
}
