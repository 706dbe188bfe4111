package signin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// ErrExpired means the pending state of a sign-in is missing, altered,
// from another browser or too old: the customer starts again.
var ErrExpired = errors.New("signin: the sign-in expired")

// pending is the state between the first factor and the rest, kept in
// the browser as a signed token bound to its device cookie, never as a
// session: a second step that fails or is abandoned leaves nothing behind
// (and no row to collect).
type pending struct {
	UserID string `json:"u"`
	// First is the first factor's method (Method.Name); AMR its methods.
	First string   `json:"f"`
	AMR   []string `json:"m"`
	IDP   string   `json:"i,omitempty"`
	// AuthID is the authorization request ("" for the account page);
	// ClientID its client, for events.
	AuthID   string `json:"a,omitempty"`
	ClientID string `json:"c,omitempty"`
	// Link is a pending link the sign-in confirms once finished.
	Link string `json:"l,omitempty"`
	// StepUp says the browser's live session of this customer gets the
	// second factor, rather than a new session.
	StepUp bool `json:"s,omitempty"`
	// Enrol says the customer has no second factor and must enrol one.
	Enrol bool `json:"e,omitempty"`
	// NewDevice says the first factor came from a browser new to the
	// customer.
	NewDevice bool `json:"n,omitempty"`
	// Exp is when the state expires (Unix seconds).
	Exp int64 `json:"x"`
}

// seal signs the state for this browser.
func (s *Service) seal(p pending, device string) string {
	p.Exp = s.now().Add(s.lifetime).Unix()
	body, _ := json.Marshal(p) // a struct of strings and bools always marshals
	enc := base64.RawURLEncoding.EncodeToString(body)
	return enc + "." + base64.RawURLEncoding.EncodeToString(s.mac(enc, device))
}

// open checks and reads a token sealed for this browser.
func (s *Service) open(token, device string) (pending, error) {
	enc, sig, ok := strings.Cut(token, ".")
	if !ok {
		return pending{}, ErrExpired
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(enc, device)) {
		return pending{}, ErrExpired
	}
	body, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return pending{}, ErrExpired
	}
	var p pending
	if json.Unmarshal(body, &p) != nil || p.UserID == "" || s.now().Unix() > p.Exp {
		return pending{}, ErrExpired
	}
	return p, nil
}

func (s *Service) mac(enc, device string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(device))
	m.Write([]byte{0})
	m.Write([]byte(enc))
	return m.Sum(nil)
}

// lifetimeDefault is how long a customer has between the first factor and
// the last.
const lifetimeDefault = 10 * time.Minute
