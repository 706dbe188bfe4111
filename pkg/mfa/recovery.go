package mfa

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
)

// RecoveryCodeCount is how many recovery codes a customer gets at once.
const RecoveryCodeCount = 10

// recoveryAlphabet leaves out the letters read as digits (i, l, o) and
// u; each character carries 5 bits, a code of 12 carries 60 bits.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// newRecoveryCode returns a code written as three groups of four
// (xxxx-xxxx-xxxx).
func newRecoveryCode() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("mfa: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(recoveryAlphabet[int(c)%len(recoveryAlphabet)])
	}
	return sb.String()
}

// normalizeRecoveryCode is the form a typed code is hashed in: lower case,
// without spaces and dashes.
func normalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, code)
}

// hashRecoveryCode is the stored form of a code: HMAC-SHA256 under a key
// from the system secret, over the customer and the code. The codes are
// random (60 bits) and throttled, so a fast keyed hash is enough: a slow
// password hash would cost every sign-in with one and protect nothing more.
func (s *Service) hashRecoveryCode(userID, code string) string {
	m := hmac.New(sha256.New, s.secrets.RecoveryCodeKey())
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(normalizeRecoveryCode(code)))
	return hex.EncodeToString(m.Sum(nil))
}

// replaceRecoveryCodes stores a new set and records it; it joins the
// caller's transaction.
func (s *Service) replaceRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([]string, RecoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
		hashes[i] = s.hashRecoveryCode(userID, codes[i])
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, userID, hashes); err != nil {
		return nil, fmt.Errorf("mfa: store recovery codes: %w", err)
	}
	if err := s.events.Record(ctx, events.New(ctx, events.UserMFAEnrolled, userID, events.MFAData{Method: MethodRecoveryCodes})); err != nil {
		return nil, err
	}
	return codes, nil
}

// FirstRecoveryCodes gives a customer who is enrolling their first second
// factor of any kind (a passkey; ConfirmTOTP does the same for an
// authenticator app) ten recovery codes, stored and recorded, returned to
// be shown once; nil when they have unused codes already. It joins the
// caller's transaction: the one that stores the second factor.
func (s *Service) FirstRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	left, err := s.store.CountRecoveryCodes(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("mfa: count recovery codes: %w", err)
	}
	if left > 0 {
		return nil, nil
	}
	return s.replaceRecoveryCodes(ctx, userID)
}

// RegenerateRecoveryCodes replaces the customer's recovery codes with ten
// new ones, returned to be shown once, and records user.mfa.enrolled
// (method recovery_codes). ErrNotEnrolled for a customer without a
// confirmed second factor. The caller checks that the customer signed in
// recently.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	var codes []string
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		u, err := s.store.GetUser(ctx, userID)
		if err != nil {
			return fmt.Errorf("mfa: regenerate: %w", err)
		}
		if !u.MFA {
			return ErrNotEnrolled
		}
		codes, err = s.replaceRecoveryCodes(ctx, userID)
		return err
	})
	return codes, err
}

// UseRecoveryCode spends one of the customer's recovery codes for a
// sign-in: throttled like a TOTP code, marked used and recorded
// (user.mfa.recovery_code_used, with the codes left) in one transaction,
// then the OnRecoveryCodeUsed hook is called. ErrInvalidCode for a wrong
// or spent code.
func (s *Service) UseRecoveryCode(ctx context.Context, userID, code string) error {
	left := 0
	err := s.check(ctx, userID, func() error {
		if normalizeRecoveryCode(code) == "" {
			return ErrInvalidCode
		}
		return s.store.InTx(ctx, func(ctx context.Context) error {
			err := s.store.UseRecoveryCode(ctx, userID, s.hashRecoveryCode(userID, code), s.now())
			if errors.Is(err, storage.ErrNotFound) {
				return ErrInvalidCode
			}
			if err != nil {
				return fmt.Errorf("mfa: use recovery code: %w", err)
			}
			if left, err = s.store.CountRecoveryCodes(ctx, userID); err != nil {
				return fmt.Errorf("mfa: use recovery code: %w", err)
			}
			return s.events.Record(ctx, events.New(ctx, events.UserMFARecoveryCodeUsed, userID, events.MFAData{Method: MethodRecoveryCodes, RecoveryCodesLeft: &left}))
		})
	})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "a recovery code was used", "user_id", userID, "recovery_codes_left", left)
	if s.onUsed != nil {
		s.onUsed(ctx, userID, left)
	}
	return nil
}
