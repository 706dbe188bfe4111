// Package acr names the authentication context classes Gatehouse signs
// customers in at (the ID token's acr: "1", "2", "phr") and turns an
// authorization request, its client and the operator's MFA policy into a
// Demand: the class the sign-in must reach, the freshness it needs, and
// the acr the ID token then carries. The authorization endpoint (pkg/oidc)
// and the sign-in pipeline (pkg/signin) both read requests through it, so
// they agree. It imports only storage.
package acr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// Authentication context classes (the ID token's acr), weakest first, as
// discovery's acr_values_supported lists them.
const (
	// Single is one factor: a password, or an upstream provider.
	Single = "1"
	// Multi is a first factor and a second of another kind (an
	// authenticator app's code, a recovery code).
	Multi = "2"
	// PhishingResistant is a user-verifying passkey: not reachable
	// until passkeys exist (Rules.Reachable).
	PhishingResistant = "phr"
)

// Supported are the classes this server knows, weakest first
// (discovery's acr_values_supported).
func Supported() []string {
	return []string{Single, Multi, PhishingResistant}
}

// rank orders the classes; 0 for a value this server does not know.
func rank(class string) int {
	return slices.Index(Supported(), class) + 1
}

// Of is the class a browser session reached; a session from
// before sessions recorded one reached Single.
func Of(bs storage.BrowserSession) string {
	if bs.ACR == "" || rank(bs.ACR) == 0 {
		return Single
	}
	return bs.ACR
}

// Policy is the operator's rule for second factors (mfa_policy).
type Policy string

// The policies.
const (
	// PolicyOptional asks a second factor of customers who enrolled one,
	// and of everyone for apps that require it.
	PolicyOptional Policy = "optional"
	// PolicyRequired asks every customer for a second factor, walking
	// those without one through enrolment first.
	PolicyRequired Policy = "required"
)

// Rules turn an authorization request, its client and the operator's
// policy into a Demand. pkg/oidc and pkg/ui use the same Rules, so the
// authorization endpoint and the sign-in pages agree.
type Rules struct {
	Policy Policy
	// Reachable are the classes a sign-in can reach here; nil means
	// Single and Multi. Passkeys add PhishingResistant.
	Reachable []string
}

func (r Rules) reachable(class string) bool {
	if r.Reachable == nil {
		return class == Single || class == Multi
	}
	return slices.Contains(r.Reachable, class)
}

// ErrUnmet means the request demands an authentication class this server
// cannot reach: the authorization endpoint answers
// unmet_authentication_requirements (OpenID Connect Unmet Authentication
// Requirements 1.0 §2).
var ErrUnmet = errors.New("acr: the requested authentication context cannot be met")

// Demand is what one authorization request (or the account page) asks of
// a sign-in.
type Demand struct {
	// Level is the weakest class that satisfies the request.
	Level string
	// Values are the classes the app named (the claims parameter's
	// essential acr, else acr_values, else the client's
	// default_acr_values), in its order; nil when it named none.
	Values []string
	// MaxAge is the greatest age in seconds of the sign-in (max_age, else
	// the client's default_max_age); -1 for none.
	MaxAge int
	// Login is prompt=login or prompt=select_account: a sign-in made for
	// this request, not an earlier one.
	Login bool
}

// AccountDemand is the account page's: the policy's level, no app.
func (r Rules) AccountDemand() Demand {
	d := Demand{Level: Single, MaxAge: -1}
	if r.Policy == PolicyRequired {
		d.Level = Multi
	}
	return d
}

// Demand reads what an authorization request's parameters and its client
// ask of the sign-in. It returns ErrUnmet (with the Demand so far) when
// the app accepts only classes this server cannot reach.
//
// acr_values is binding here, not the voluntary request OpenID Connect
// Core §3.1.2.1 allows: an app that names classes gets one of them or an
// error, never a weaker sign-in. An essential acr in the claims parameter
// (§5.5.1.1) takes precedence over acr_values; a client's
// default_acr_values (OpenID Connect Dynamic Client Registration §2) stand
// in when the request names none. Higher classes satisfy lower ones.
func (r Rules) Demand(form url.Values, c storage.Client) (Demand, error) {
	d := r.AccountDemand()
	if c.RequireMFA {
		d.Level = Multi
	}
	for _, p := range strings.Fields(form.Get("prompt")) {
		d.Login = d.Login || p == "login" || p == "select_account"
	}
	if n, err := strconv.Atoi(form.Get("max_age")); err == nil && n >= 0 {
		d.MaxAge = n
	} else if c.DefaultMaxAge > 0 {
		d.MaxAge = c.DefaultMaxAge
	}
	switch {
	case essentialACR(form.Get("claims")) != nil:
		d.Values = essentialACR(form.Get("claims"))
	case form.Get("acr_values") != "":
		d.Values = strings.Fields(form.Get("acr_values"))
	case len(c.DefaultACRValues) > 0:
		d.Values = slices.Clone(c.DefaultACRValues)
	}
	if d.Values == nil {
		return d, nil
	}
	least := ""
	for _, v := range d.Values {
		if r.reachable(v) && (least == "" || rank(v) < rank(least)) {
			least = v
		}
	}
	if least == "" {
		return d, fmt.Errorf("%w: %s", ErrUnmet, strings.Join(d.Values, " "))
	}
	if rank(least) > rank(d.Level) {
		d.Level = least
	}
	return d, nil
}

// essentialACR returns the values of an essential acr request in the
// claims parameter's id_token member (OpenID Connect Core §5.5.1.1), nil
// for none (an acr asked for without values is always returned).
func essentialACR(raw string) []string {
	if raw == "" {
		return nil
	}
	var c struct {
		IDToken map[string]*struct {
			Essential bool     `json:"essential"`
			Value     *string  `json:"value"`
			Values    []string `json:"values"`
		} `json:"id_token"`
	}
	if json.Unmarshal([]byte(raw), &c) != nil {
		return nil
	}
	acr := c.IDToken["acr"]
	if acr == nil || !acr.Essential {
		return nil
	}
	if acr.Value != nil {
		return []string{*acr.Value}
	}
	if len(acr.Values) == 0 {
		return nil
	}
	return acr.Values
}

// Verdict is what a live session lacks for a Demand.
type Verdict int

// The verdicts.
const (
	// Met: the session satisfies the demand.
	Met Verdict = iota
	// NeedFactor: the session is recent enough but its class too weak;
	// only the missing factor is asked (step-up), not the first again.
	NeedFactor
	// NeedSignIn: the session does not count (prompt=login, max_age).
	NeedSignIn
)

// Assess judges a live session against the demand. fresh says the
// session signed in for this very request, which satisfies prompt=login
// and max_age (OpenID Connect Core §3.1.2.1).
func (d Demand) Assess(bs storage.BrowserSession, fresh bool, now time.Time) Verdict {
	if !fresh {
		if d.Login {
			return NeedSignIn
		}
		if d.MaxAge >= 0 && now.Sub(bs.AuthTime) > time.Duration(d.MaxAge)*time.Second {
			return NeedSignIn
		}
	}
	if rank(Of(bs)) < rank(d.Level) {
		return NeedFactor
	}
	return Met
}

// Satisfied reports whether a session of the class meets the demand's
// level.
func (d Demand) Satisfied(class string) bool { return rank(class) >= rank(d.Level) }

// ACRFor is the acr to put in the ID token of a session that reached
// reached: when the app named classes, the strongest of them the session
// meets (§5.5.1.1: an essential acr's value must be one it asked for);
// otherwise what the session reached.
func (d Demand) ACRFor(reached string) string {
	best := ""
	for _, v := range d.Values {
		if rank(v) > 0 && rank(v) <= rank(reached) && rank(v) > rank(best) {
			best = v
		}
	}
	if best == "" {
		return reached
	}
	return best
}
