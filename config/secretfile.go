package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/secret"
)

// generatedSecretBytes is the number of random bytes in a generated secret.
const generatedSecretBytes = 48

// secretFilePatience bounds how long EnsureSecret waits for a secret file
// that another process has just created to receive its content.
const secretFilePatience = 2 * time.Second

// SecretFilePath returns the path of the secret file used on SQLite when
// Secret is empty: the database path followed by ".secret", e.g.
// gatehouse.db.secret. It fails when DatabaseURL does not parse or is not a
// SQLite URL.
func (c Config) SecretFilePath() (string, error) {
	db, err := c.Database()
	if err != nil {
		return "", err
	}
	if db.Kind != DatabaseSQLite {
		return "", fmt.Errorf("GATEHOUSE_DATABASE_URL: the secret file is only used with SQLite, not %s", db.Kind)
	}
	return db.Path + ".secret", nil
}

// EnsureSecret fills c.Secret when it is empty and the database is SQLite.
// It reads the secret file (see SecretFilePath), trimming white space; when
// there is none it generates 48 random bytes, writes them base64url-encoded
// to a new file of mode 0600, and returns created=true so that the caller
// can warn. The file is created exclusively, so when several processes start
// together exactly one generates the secret and the others read it.
//
// A set Secret is left alone (the file is not read). With PostgreSQL and an
// empty Secret, EnsureSecret fails naming GATEHOUSE_SECRET as required. It
// also fails when the file is readable or writable by anyone but its owner
// (mode looser than 0600), or holds fewer than 32 bytes.
func (c *Config) EnsureSecret() (created bool, err error) {
	if c.Secret != "" {
		return false, nil
	}
	db, err := c.Database()
	if err != nil {
		return false, err
	}
	if db.Kind != DatabaseSQLite {
		return false, errors.New(msgSecretRequired)
	}
	path, err := c.SecretFilePath()
	if err != nil {
		return false, err
	}

	s, err := readSecretFile(path, secretFilePatience)
	if err == nil {
		c.Secret = s
		return false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}

	s = secret.NewRandomString(generatedSecretBytes)
	err = createSecretFile(path, s)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it between our read and our create.
		if s, err = readSecretFile(path, secretFilePatience); err != nil {
			return false, err
		}
		c.Secret = s
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c.Secret = s
	return true, nil
}

// readSecretFile reads the secret in the file at path. A file that another
// process has created but not yet written is empty for an instant, so a
// content too short to be a secret is read again until patience runs out.
// A missing file gives an error matching fs.ErrNotExist.
func readSecretFile(path string, patience time.Duration) (string, error) {
	deadline := time.Now().Add(patience)
	for {
		s, err := readSecretFileOnce(path)
		if err != nil {
			return "", err
		}
		if len(s) >= secret.MinLength {
			return s, nil
		}
		if time.Now().After(deadline) {
			if s == "" {
				return "", fmt.Errorf("secret file %s is empty: delete it to have a new secret generated (which invalidates tokens, client secrets and stored keys), or set GATEHOUSE_SECRET", path)
			}
			return "", fmt.Errorf("secret file %s: the secret must be at least %d bytes (got %d)", path, secret.MinLength, len(s))
		}
		time.Sleep(patience / 20)
	}
}

// readSecretFileOnce reads and trims the secret file, refusing it when its
// mode is looser than 0600.
func readSecretFileOnce(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("secret file: %w", err)
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("secret file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&^0o600 != 0 {
		return "", fmt.Errorf("secret file %s has mode %#o, looser than 0600: run chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", fmt.Errorf("secret file: read %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// createSecretFile writes s to a new file at path with mode 0600. It fails
// with an error matching fs.ErrExist when the file already exists.
func createSecretFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("secret file: create: %w", err)
	}
	_, err = f.WriteString(s + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path) // do not leave an empty or partial secret behind
		return fmt.Errorf("secret file: write %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir flushes the directory entry of a new file to disk, so that the
// secret survives a crash once data encrypted under it has been stored. It is
// best effort: some file systems do not support syncing a directory.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
