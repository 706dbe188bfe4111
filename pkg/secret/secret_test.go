package secret

import (
	"bytes"
	"errors"
	"testing"
)

func mustDerive(t *testing.T, s string) *Keys {
	t.Helper()
	k, err := Derive([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDeriveRejectsShortSecret(t *testing.T) {
	if _, err := Derive(bytes.Repeat([]byte("a"), MinLength-1)); !errors.Is(err, ErrTooShort) {
		t.Fatalf("got %v, want ErrTooShort", err)
	}
}

func TestSealOpen(t *testing.T) {
	k := mustDerive(t, "0123456789abcdef0123456789abcdef")
	other := mustDerive(t, "fedcba9876543210fedcba9876543210")
	plain := []byte("private key bytes")
	sealed := k.Seal(plain, []byte("kid-1"))
	if bytes.Contains(sealed, plain) {
		t.Fatal("sealed data contains the plaintext")
	}
	if again := k.Seal(plain, []byte("kid-1")); bytes.Equal(again, sealed) {
		t.Fatal("two seals of the same plaintext are equal: nonce reused")
	}
	got, err := k.Open(sealed, []byte("kid-1"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	t.Run("wrong additional data does not open", func(t *testing.T) {
		if _, err := k.Open(sealed, []byte("kid-2")); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("another system secret does not open", func(t *testing.T) {
		if _, err := other.Open(sealed, []byte("kid-1")); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("truncated data does not open", func(t *testing.T) {
		if _, err := k.Open(sealed[:5], []byte("kid-1")); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestClientSecretHash(t *testing.T) {
	k := mustDerive(t, "0123456789abcdef0123456789abcdef")
	other := mustDerive(t, "fedcba9876543210fedcba9876543210")
	h := k.HashClientSecret([]byte("s3cret"))
	if !k.CompareClientSecret(h, []byte("s3cret")) {
		t.Fatal("the right secret does not match")
	}
	if k.CompareClientSecret(h, []byte("s3cret ")) {
		t.Fatal("a wrong secret matches")
	}
	if other.CompareClientSecret(h, []byte("s3cret")) {
		t.Fatal("the hash does not depend on the system secret")
	}
	if bytes.Equal(k.TokenHMACKey(), k.clientHash) {
		t.Fatal("two purposes share a key")
	}
}

func BenchmarkCompareClientSecret(b *testing.B) {
	k, _ := Derive([]byte("0123456789abcdef0123456789abcdef"))
	s := []byte(NewRandomString(32))
	h := k.HashClientSecret(s)
	b.ReportAllocs()
	for b.Loop() {
		k.CompareClientSecret(h, s)
	}
}
