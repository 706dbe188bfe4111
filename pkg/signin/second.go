package signin

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/mfa"
	"github.com/gatehouse-id/gatehouse/pkg/signin/acr"
	"github.com/gatehouse-id/gatehouse/storage"
)

// ErrUnknownMethod is a second factor the pipeline does not have.
var ErrUnknownMethod = errors.New("signin: unknown second factor")

// Pending is what a second-factor page shows of a sign-in under way.
type Pending struct {
	UserID string
	// AuthRequestID is the authorization request, "" for the account page.
	AuthRequestID string
	// Enrol says the page must enrol a second factor.
	Enrol bool
	// RememberDays, when not 0, is how long the page may offer to
	// remember this browser for the second factor (an app's sign-in
	// only, where a remembered browser counts).
	RememberDays int
}

// Pending reads a pending sign-in's token for this browser; ErrExpired
// when it is not one.
func (s *Service) Pending(token string, b Browser) (Pending, error) {
	p, err := s.open(token, b.Device())
	if err != nil {
		return Pending{}, err
	}
	out := Pending{UserID: p.UserID, AuthRequestID: p.AuthID, Enrol: p.Enrol}
	if p.AuthID != "" && s.mfa != nil {
		out.RememberDays = s.mfa.RememberDays()
	}
	return out, nil
}

// SecondFactor checks the second factor named method (a SecondFactors
// key) of a pending sign-in and, when right, finishes it. A wrong proof is
// recorded (user.login.failed, reason invalid_code) and returned as the
// Verifier's error (mfa.ErrInvalidCode, *mfa.ThrottledError); the sign-in
// stays pending, and no session exists. remember asks that this browser be
// remembered for the second factor (Pending.RememberDays), in the
// transaction that starts the session.
func (s *Service) SecondFactor(ctx context.Context, b Browser, token, method, proof string, remember bool) (Next, error) {
	p, err := s.open(token, b.Device())
	if err != nil {
		return Next{}, err
	}
	f, ok := s.factors[method]
	if !ok || p.Enrol {
		return Next{}, ErrUnknownMethod
	}
	m := f.Method
	if f.VerifyAMR != nil {
		m.AMR, err = f.VerifyAMR(ctx, p.UserID, proof)
	} else {
		err = f.Verify(ctx, p.UserID, proof)
	}
	if err != nil {
		if errors.Is(err, mfa.ErrInvalidCode) {
			in := accounts.SignIn{Method: p.First, Provider: p.IDP, ClientID: p.ClientID, IP: b.IP(), SecondFactor: f.Method.Name, StepUp: p.StepUp}
			if rerr := s.accounts.SignInFailed(accounts.Actor(ctx, ""), p.UserID, "", "invalid_code", in); rerr != nil {
				s.log.WarnContext(ctx, "recording a failed second factor", "error", rerr.Error())
			}
		}
		return Next{}, err
	}
	return s.finish(ctx, b, p, acr.Single, m, remember && p.AuthID != "")
}

// StepUp asks the missing factor of a live session that meets an
// authorization request's freshness but not its class: only the second
// factor, not the password again. It reports false when the session
// needs a whole sign-in instead (or needs nothing), and the page asks for
// the first factor as usual. fresh says the session signed in for this
// very request.
func (s *Service) StepUp(ctx context.Context, b Browser, bs storage.BrowserSession, authID string, fresh bool) (Next, bool, error) {
	demand, clientID, err := s.demandOf(ctx, authID)
	if err != nil {
		return Next{}, false, err
	}
	if demand.Assess(bs, fresh, s.now()) != acr.NeedFactor {
		return Next{}, false, nil
	}
	u, err := s.store.GetUser(ctx, bs.UserID)
	if err != nil {
		return Next{}, false, fmt.Errorf("signin: read customer: %w", err)
	}
	first := Password
	if len(bs.AMR) > 0 && bs.AMR[0] == Federated.AMR[0] {
		first = Federated
	}
	p := pending{UserID: u.ID, First: first.Name, AMR: bs.AMR, IDP: bs.IDP, AuthID: authID, ClientID: clientID, StepUp: true}
	if !u.MFA {
		p.Enrol = true
		return s.ask(p, b, AskEnrolment), true, nil
	}
	return s.ask(p, b, AskSecondFactor), true, nil
}

// Enrolment returns the authenticator-app key of a pending sign-in that
// must enrol one: the one under way, or a new one.
func (s *Service) Enrolment(ctx context.Context, b Browser, token string) (mfa.Enrolment, error) {
	p, err := s.open(token, b.Device())
	if err != nil {
		return mfa.Enrolment{}, err
	}
	if !p.Enrol {
		return mfa.Enrolment{}, ErrExpired
	}
	u, err := s.store.GetUser(ctx, p.UserID)
	if err != nil {
		return mfa.Enrolment{}, fmt.Errorf("signin: read customer: %w", err)
	}
	e, err := s.mfa.PendingTOTP(ctx, u)
	if errors.Is(err, mfa.ErrNotEnrolled) {
		return s.mfa.BeginTOTP(ctx, u)
	}
	return e, err
}

// ConfirmEnrolment checks the first code of a pending sign-in's
// enrolment; when right, the key counts (user.mfa.enrolled), the sign-in
// finishes with both factors, and Next carries the recovery codes to show
// once. Errors as mfa.Service.ConfirmTOTP's.
func (s *Service) ConfirmEnrolment(ctx context.Context, b Browser, token, code string) (Next, error) {
	p, err := s.open(token, b.Device())
	if err != nil {
		return Next{}, err
	}
	if !p.Enrol {
		return Next{}, ErrExpired
	}
	codes, err := s.mfa.ConfirmTOTP(accounts.Actor(ctx, p.UserID), p.UserID, code)
	if err != nil {
		return Next{}, err
	}
	next, err := s.finish(ctx, b, p, acr.Single, TOTP, false)
	next.RecoveryCodes = codes
	return next, err
}
