package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-id/gatehouse/storage"
)

// Assertion is a verified sign-in with a passkey.
type Assertion struct {
	UserID string
	// PasskeyID is the credential used.
	PasskeyID string
	// AMR are its RFC 8176 methods: "swk" for a backup-eligible passkey,
	// "hwk" for one bound to its authenticator, and "user" when the
	// authenticator verified the user.
	AMR []string
	// UserVerified is the assertion's UV flag (WebAuthn §6.1).
	UserVerified bool
}

// BeginLogin starts a sign-in with a discoverable credential (no customer
// named: the authenticator offers its passkeys for this RP ID, WebAuthn
// §5.5 with an empty allowCredentials), user verification preferred. The
// same options serve the "Sign in with a passkey" button and the
// browser's autofill (conditional mediation, Credential Management
// "conditional"), which the page asks for.
func (s *Service) BeginLogin(ctx context.Context, device string) (Ceremony, error) {
	assertion, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: begin login: %w", err)
	}
	return s.begin(ctx, kindLogin, device, "", sd, assertion.Response)
}

// FinishLogin verifies the answer to BeginLogin (WebAuthn §7.2): the
// customer is the one whose passkey it is, and the user handle must be
// theirs (§7.2 step 6). ErrInvalid for an answer that does not verify,
// ErrCloned for a counter that did not move forward.
func (s *Service) FinishLogin(ctx context.Context, device, ceremonyID string, response []byte) (Assertion, error) {
	sd, err := s.take(ctx, ceremonyID, kindLogin, device, "")
	if err != nil {
		return Assertion{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return Assertion{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var stored storage.Passkey
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		p, err := s.store.GetPasskey(ctx, credentialID(rawID))
		if err != nil {
			return nil, fmt.Errorf("passkey: unknown credential: %w", err)
		}
		if p.UserID != string(userHandle) {
			return nil, errors.New("passkey: the user handle is not the credential's owner")
		}
		stored = p
		wu, _, err := s.customer(ctx, p.UserID)
		return wu, err
	}
	cred, err := s.wa.ValidateDiscoverableLogin(handler, sd, parsed)
	if err != nil {
		return Assertion{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return s.used(ctx, stored, cred, parsed)
}

// BeginSecondFactor starts an assertion by one of the customer's passkeys
// (allowCredentials lists them), for a sign-in whose first factor was a
// password or a provider.
func (s *Service) BeginSecondFactor(ctx context.Context, userID, device string) (Ceremony, error) {
	wu, _, err := s.customer(ctx, userID)
	if err != nil {
		return Ceremony{}, err
	}
	if len(wu.creds) == 0 {
		return Ceremony{}, fmt.Errorf("%w: the customer has no passkey", ErrInvalid)
	}
	assertion, sd, err := s.wa.BeginLogin(wu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: begin second factor: %w", err)
	}
	return s.begin(ctx, kindSecond, device, userID, sd, assertion.Response)
}

// VerifySecondFactor verifies the answer to BeginSecondFactor for the
// customer. Errors as FinishLogin's.
func (s *Service) VerifySecondFactor(ctx context.Context, userID, device, ceremonyID string, response []byte) (Assertion, error) {
	sd, err := s.take(ctx, ceremonyID, kindSecond, device, userID)
	if err != nil {
		return Assertion{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return Assertion{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	stored, err := s.store.GetPasskey(ctx, credentialID(parsed.RawID))
	if err != nil || stored.UserID != userID {
		return Assertion{}, fmt.Errorf("%w: not one of the customer's passkeys", ErrInvalid)
	}
	wu, _, err := s.customer(ctx, userID)
	if err != nil {
		return Assertion{}, err
	}
	cred, err := s.wa.ValidateLogin(wu, sd, parsed)
	if err != nil {
		return Assertion{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return s.used(ctx, stored, cred, parsed)
}

// used applies the signature counter rule and records the use.
//
// WebAuthn §7.2 step 22 (Level 3; step 21 in Level 2): when either counter
// is nonzero and the new one is not greater than the stored one, the
// authenticator may be cloned, and "whether the Relying Party fails the
// authentication ceremony" is its choice. go-webauthn flags it
// (Authenticator.CloneWarning) and leaves the choice to us: Gatehouse
// refuses the sign-in, keeps the stored counter, and logs it. The counter
// is then moved on condition, so of two concurrent uses of one answer one
// wins.
func (s *Service) used(ctx context.Context, stored storage.Passkey, cred *webauthn.Credential, parsed *protocol.ParsedCredentialAssertionData) (Assertion, error) {
	if cred.Authenticator.CloneWarning {
		s.log.WarnContext(ctx, "a passkey's signature counter went backwards: refused, the authenticator may be cloned",
			"user_id", stored.UserID, "passkey_id", stored.ID, "stored_count", stored.SignCount, "count", parsed.Response.AuthenticatorData.Counter)
		return Assertion{}, ErrCloned
	}
	enc, err := json.Marshal(cred)
	if err != nil {
		return Assertion{}, fmt.Errorf("passkey: encode credential: %w", err)
	}
	err = s.store.UsePasskey(ctx, stored.ID, stored.SignCount, cred.Authenticator.SignCount, enc, s.now())
	if errors.Is(err, storage.ErrConflict) {
		return Assertion{}, fmt.Errorf("%w: used concurrently", ErrInvalid)
	}
	if err != nil {
		return Assertion{}, fmt.Errorf("passkey: record use: %w", err)
	}
	flags := parsed.Response.AuthenticatorData.Flags
	a := Assertion{UserID: stored.UserID, PasskeyID: stored.ID, UserVerified: flags.HasUserVerified()}
	if flags.HasBackupEligible() {
		a.AMR = append(a.AMR, AMRSoftware)
	} else {
		a.AMR = append(a.AMR, AMRHardware)
	}
	if a.UserVerified {
		a.AMR = append(a.AMR, AMRUser)
	}
	return a, nil
}

// Proof is the proof of a passkey as a second factor, as the pages hand it
// to the sign-in pipeline: the browser's device (the hash of its device
// cookie, which the ceremony is bound to), the ceremony's handle and the
// answer's JSON.
func Proof(device, ceremonyID, response string) string {
	return device + "\n" + ceremonyID + "\n" + response
}

// VerifyProof checks a Proof for the customer (VerifySecondFactor) and
// returns the assertion's RFC 8176 methods.
func (s *Service) VerifyProof(ctx context.Context, userID, proof string) ([]string, error) {
	device, rest, _ := strings.Cut(proof, "\n")
	id, response, _ := strings.Cut(rest, "\n")
	a, err := s.VerifySecondFactor(ctx, userID, device, id, []byte(response))
	if err != nil {
		return nil, err
	}
	return a.AMR, nil
}
