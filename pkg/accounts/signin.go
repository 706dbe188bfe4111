package accounts

import (
	"context"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Sign-in methods of the user.login.* events.
const (
	MethodPassword  = "pwd"
	MethodFederated = "fed"
)

// SignIn says how a customer signed in, or tried to, for the
// user.login.* events.
type SignIn struct {
	// Method is MethodPassword or MethodFederated; Provider the upstream
	// provider's ID for MethodFederated.
	Method   string
	Provider string
	// ClientID is the app; "" on the account page.
	ClientID string
	// IP is the browser's address.
	IP string
	// SecondFactor is "totp" or "recovery_code" when the sign-in used one;
	// StepUp marks one added to a live session.
	SecondFactor string
	StepUp       bool
	// AMR and ACR are what a successful sign-in reached.
	AMR []string
	ACR string
}

// SignedIn runs start, which starts the customer's browser session, and
// records user.login.succeeded in the same transaction: a session that
// could not be stored records no sign-in. start must be short (no password
// hash, no network call): it runs inside the transaction.
func (s *Service) SignedIn(ctx context.Context, userID string, in SignIn, start func(ctx context.Context) error) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		if err := start(ctx); err != nil {
			return err
		}
		return s.events.Record(ctx, events.New(ctx, events.UserLoginSucceeded, userID, events.LoginData{
			Method: in.Method, Provider: in.Provider, ClientID: in.ClientID, IP: in.IP,
			SecondFactor: in.SecondFactor, StepUp: in.StepUp, AMR: in.AMR, ACR: in.ACR,
		}))
	})
}

// SignInFailed records user.login.failed: one small insert, outside any
// change. userID is the customer whose password was wrong, "" for an email
// no customer has; maskedEmail (internal/redact) is the same either way,
// so the event's data does not tell whether the account exists. reason is
// one of the LoginData reasons. The caller answers the browser whatever
// this returns; it only logs an error.
func (s *Service) SignInFailed(ctx context.Context, userID, maskedEmail, reason string, in SignIn) error {
	ev := events.New(ctx, events.UserLoginFailed, userID, events.LoginData{
		Method: in.Method, Provider: in.Provider, ClientID: in.ClientID, IP: in.IP, Email: maskedEmail, Reason: reason,
		SecondFactor: in.SecondFactor, StepUp: in.StepUp,
	})
	// Its own transaction, recorded even if the request was cancelled.
	return s.store.InTx(context.WithoutCancel(ctx), func(ctx context.Context) error {
		return s.events.Record(ctx, ev)
	})
}

// Actor returns ctx with the customer as the actor of what it changes
// (the hosted pages); userID is "" when no one is signed in.
func Actor(ctx context.Context, userID string) context.Context {
	return events.WithActor(ctx, storage.Actor{Type: storage.ActorCustomer, ID: userID})
}
