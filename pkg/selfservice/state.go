package selfservice

import (
	"encoding/base64"
	"encoding/json"
	"errors"
)

// ErrState means a sign-up's state is missing, altered, from another
// browser or too old.
var ErrState = errors.New("selfservice: the sign-up expired")

// State is what the "check your inbox" page carries between a sign-up
// and its code: sealed (AES-GCM) for the browser's device cookie, so the
// browser can neither read whether an account was created nor move it
// to another browser.
type State struct {
	// UserID is the new customer, "" when the email had one already.
	UserID string `json:"u,omitempty"`
	// Email is the address signed up with (shown on the page).
	Email string `json:"e"`
	// AuthRequestID is the authorization request to go back to.
	AuthRequestID string `json:"a,omitempty"`
	// Exp is when it expires (Unix seconds).
	Exp int64 `json:"x"`
}

// stateLabel is the sealed state's additional data, with the device.
const stateLabel = "gatehouse signup state\x00"

// SealState seals the state for the browser's device, valid as long as
// the verification code.
func (s *Service) SealState(st State, device string) string {
	st.Exp = s.now().Add(s.verify).Unix()
	body, _ := json.Marshal(st) // strings and an integer always marshal
	return base64.RawURLEncoding.EncodeToString(s.secrets.Seal(body, []byte(stateLabel+device)))
}

// OpenState opens a state sealed for this device.
func (s *Service) OpenState(token, device string) (State, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return State{}, ErrState
	}
	body, err := s.secrets.Open(raw, []byte(stateLabel+device))
	if err != nil {
		return State{}, ErrState
	}
	var st State
	if json.Unmarshal(body, &st) != nil || st.Email == "" || s.now().Unix() > st.Exp {
		return State{}, ErrState
	}
	return st, nil
}
