package argon2

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// TestMatchesXCrypto compares Argon2id and Argon2i with x/crypto's over
// parameter sets that reach every branch: one and several lanes, one and
// several passes, memory below the minimum and not a multiple of 4p,
// outputs shorter and longer than 64 bytes, and a Memory reused across
// hashes of different sizes (smaller and larger than it).
func TestMatchesXCrypto(t *testing.T) {
	mem := NewMemory(256)
	for _, c := range []struct {
		time, memory uint32
		threads      uint8
		keyLen       uint32
	}{
		{1, 8, 1, 32}, {1, 64, 1, 32}, {2, 64, 1, 32}, {3, 256, 1, 16},
		{1, 64, 4, 32}, {3, 100, 3, 64}, {2, 37, 2, 65}, {4, 512, 4, 128},
		{1, 1024, 1, 4}, {2, 300, 8, 33}, {1, 5, 2, 100}, {3, 256, 1, 32},
	} {
		for _, in := range []struct{ password, salt []byte }{
			{[]byte("password"), []byte("somesaltsomesalt")},
			{nil, []byte("saltsalt")},
			{bytes.Repeat([]byte{0xff}, 300), bytes.Repeat([]byte{7}, 64)},
		} {
			name := fmt.Sprintf("t=%d,m=%d,p=%d,T=%d,pw=%d", c.time, c.memory, c.threads, c.keyLen, len(in.password))
			got := mem.IDKey(in.password, in.salt, c.time, c.memory, c.threads, c.keyLen)
			want := xargon2.IDKey(in.password, in.salt, c.time, c.memory, c.threads, c.keyLen)
			if !bytes.Equal(got, want) {
				t.Errorf("argon2id %s: got %x, x/crypto %x", name, got, want)
			}
			got = mem.Key(in.password, in.salt, c.time, c.memory, c.threads, c.keyLen)
			want = xargon2.Key(in.password, in.salt, c.time, c.memory, c.threads, c.keyLen)
			if !bytes.Equal(got, want) {
				t.Errorf("argon2i %s: got %x, x/crypto %x", name, got, want)
			}
		}
	}
}

// The server's default: OWASP's 19 MiB, 2 passes, 1 lane.
const benchTime, benchMemory, benchThreads = 2, 19 * 1024, 1

// BenchmarkIDKey is one Argon2id hash at the server's default parameters
// in a kept Memory.
func BenchmarkIDKey(b *testing.B) {
	mem := NewMemory(benchMemory)
	for b.Loop() {
		mem.IDKey([]byte("correct horse battery staple"), []byte("somesaltsomesalt"), benchTime, benchMemory, benchThreads, 32)
	}
}

// BenchmarkXCryptoIDKey is the same hash by x/crypto, which allocates its
// memory each time.
func BenchmarkXCryptoIDKey(b *testing.B) {
	for b.Loop() {
		xargon2.IDKey([]byte("correct horse battery staple"), []byte("somesaltsomesalt"), benchTime, benchMemory, benchThreads, 32)
	}
}

// TestRFC9106Vectors checks the test vectors of RFC 9106 §5.2 (Argon2i)
// and §5.3 (Argon2id): 32 KiB, 3 passes, 4 lanes, with a secret and
// associated data.
func TestRFC9106Vectors(t *testing.T) {
	password := bytes.Repeat([]byte{1}, 32)
	salt := bytes.Repeat([]byte{2}, 16)
	secret := bytes.Repeat([]byte{3}, 8)
	data := bytes.Repeat([]byte{4}, 12)
	for _, c := range []struct {
		name string
		mode int
		tag  string
	}{
		{"argon2i", typeI, "c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8"},
		{"argon2id", typeID, "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"},
	} {
		// Once in a fresh Memory, once in one holding an earlier hash.
		mem := NewMemory(32)
		for range 2 {
			got := hex.EncodeToString(mem.derive(c.mode, password, salt, secret, data, 3, 32, 4, 32))
			if got != c.tag {
				t.Errorf("%s: tag %s, want %s", c.name, got, c.tag)
			}
		}
	}
}
