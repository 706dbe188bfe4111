package server_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"

	"github.com/gatehouse-id/gatehouse/internal/browser"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// importedHashKinds are hashes of one password in every format an import
// accepts, each computed here with the real algorithm (x/crypto, the
// standard library) at a low cost, in the form the issue names.
func importedHashKinds(t *testing.T, password string) map[string]string {
	t.Helper()
	salt := []byte("0123456789abcdef")
	b64, ab64 := base64.RawStdEncoding.EncodeToString, func(b []byte) string {
		return strings.ReplaceAll(base64.RawStdEncoding.EncodeToString(b), "+", ".")
	}
	pbkdf := func(h func() hash.Hash, iter, n int) []byte {
		k, err := pbkdf2.Key(h, password, salt, iter, n)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	bc, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scrypt.Key([]byte(password), salt, 1<<10, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	// Firebase: scrypt(password, salt‖separator) keys AES-256-CTR over the signer key.
	signer, sep := []byte("a project's signer key, 32 bytes"), []byte{7}
	fk, err := scrypt.Key([]byte(password), append(append([]byte{}, salt...), sep...), 1<<10, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(fk)
	if err != nil {
		t.Fatal(err)
	}
	fb := make([]byte, len(signer))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(fb, signer)
	std := base64.StdEncoding.EncodeToString
	return map[string]string{
		"bcrypt":                string(bc),
		"argon2id (weaker)":     "$argon2id$v=19$m=256,t=1,p=1$" + b64(salt) + "$" + b64(argon2.IDKey([]byte(password), salt, 1, 256, 1, 32)),
		"argon2i":               "$argon2i$v=19$m=256,t=2,p=1$" + b64(salt) + "$" + b64(argon2.Key([]byte(password), salt, 2, 256, 1, 32)),
		"scrypt":                fmt.Sprintf("$scrypt$ln=10,r=8,p=1$%s$%s", b64(salt), b64(sc)),
		"django pbkdf2_sha256":  "pbkdf2_sha256$1000$" + string(salt) + "$" + std(pbkdf(sha256.New, 1000, 32)),
		"django-style sha512":   "pbkdf2_sha512$1000$" + string(salt) + "$" + std(pbkdf(sha512.New, 1000, 64)),
		"passlib pbkdf2-sha256": "$pbkdf2-sha256$1000$" + ab64(salt) + "$" + ab64(pbkdf(sha256.New, 1000, 32)),
		"passlib pbkdf2-sha512": "$pbkdf2-sha512$1000$" + ab64(salt) + "$" + ab64(pbkdf(sha512.New, 1000, 64)),
		"PHC pbkdf2-sha256":     "$pbkdf2-sha256$i=1000$" + b64(salt) + "$" + b64(pbkdf(sha256.New, 1000, 32)),
		"PHC pbkdf2-sha512, l=": "$pbkdf2-sha512$i=1000,l=32$" + b64(salt) + "$" + b64(pbkdf(sha512.New, 1000, 32)),
		"firebase-scrypt":       fmt.Sprintf("$firebase-scrypt$ln=10,r=8$%s$%s$%s$%s", std(salt), std(sep), std(signer), std(fb)),
	}
}

// TestImportedHashesSignInOverHTTP imports one customer per hash format
// through the admin API, each with the id of the system they come from,
// signs each in through the pages with their password, and checks that the
// ID token's subject is the kept id and the stored hash is now argon2id.
func TestImportedHashesSignInOverHTTP(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		tok := adminToken(t, s)
		ctx := context.Background()
		kinds := importedHashKinds(t, alicePassword)
		var body strings.Builder
		n := 0
		for kind, h := range kinds {
			if err := identity.CheckImportedHash(h); err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
			n++
			line, err := json.Marshal(map[string]any{
				"id": fmt.Sprintf("legacy|%d", n), "email": fmt.Sprintf("kind%d@example.com", n), "email_verified": true,
				"name": kind, "password_hash": h,
			})
			if err != nil {
				t.Fatal(err)
			}
			body.Write(append(line, '\n'))
		}
		r := adminRaw(t, s, "POST", "/customers/import", tok, "application/x-ndjson", body.String()).want(t, http.StatusOK)
		if r.body["created"] != float64(len(kinds)) {
			t.Fatalf("summary %s", r.raw)
		}
		rp := newRelyingParty(t, s, webClient(true))
		for i := 1; i <= n; i++ {
			email, id := fmt.Sprintf("kind%d@example.com", i), fmt.Sprintf("legacy|%d", i)
			u, err := s.Store().GetUserByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(u.Name, func(t *testing.T) {
				if u.ID != id {
					t.Fatalf("stored id %q, want %q", u.ID, id)
				}
				wrong := rp.login(rp.start(newFlow()), email, alicePassword+"!")
				if wrong.Location != "" {
					t.Fatalf("a wrong password signed in: %s", wrong.Location)
				}
				f := newFlow()
				code := rp.callback(rp.login(rp.start(f), email, alicePassword)).Get("code")
				if code == "" {
					t.Fatal("no code")
				}
				_, idt := rp.exchange(f, code)
				if idt.Subject != id {
					t.Errorf("ID token sub %q, want the kept id %q", idt.Subject, id)
				}
				after, err := s.Store().GetUser(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(after.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
					t.Errorf("not rehashed to the server's argon2id: %.20s…", after.PasswordHash)
				}
				rp.browser = browser.New(s.URL)
			})
		}
	})
}
