package acr_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/signin/acr"
	"github.com/gatehouse-id/gatehouse/storage"
)

func TestDemand(t *testing.T) {
	essential := func(v string) string { return `{"id_token":{"acr":{"essential":true,` + v + `}}}` }
	tests := []struct {
		name      string
		rules     acr.Rules
		form      url.Values
		client    storage.Client
		level     string
		values    []string
		unmet     bool
		reachedTo map[string]string // reached class -> the ID token's acr
	}{
		{name: "no demand: single factor", form: url.Values{}, level: acr.Single, reachedTo: map[string]string{"1": "1", "2": "2"}},
		{name: "the required policy demands two factors", rules: acr.Rules{Policy: acr.PolicyRequired}, form: url.Values{}, level: acr.Multi},
		{name: "a client's require_mfa demands two factors", form: url.Values{}, client: storage.Client{RequireMFA: true}, level: acr.Multi},
		{name: "acr_values takes the weakest reachable value", form: url.Values{"acr_values": {"2 1"}}, level: acr.Single, values: []string{"2", "1"},
			reachedTo: map[string]string{"1": "1", "2": "2"}},
		{name: "acr_values=2 is binding", form: url.Values{"acr_values": {"2"}}, level: acr.Multi, values: []string{"2"}},
		{name: "acr_values=1 under a stronger policy says 1 in the token", rules: acr.Rules{Policy: acr.PolicyRequired}, form: url.Values{"acr_values": {"1"}},
			level: acr.Multi, values: []string{"1"}, reachedTo: map[string]string{"2": "1"}},
		{name: "unknown acr_values are unmet", form: url.Values{"acr_values": {"urn:example:gold"}}, unmet: true},
		{name: "phr is unmet until passkeys", form: url.Values{"acr_values": {"phr"}}, unmet: true},
		{name: "phr is met once reachable", rules: acr.Rules{Reachable: []string{"1", "2", "phr"}}, form: url.Values{"acr_values": {"phr"}}, level: acr.PhishingResistant, values: []string{"phr"}},
		{name: "an essential acr value wins over acr_values", form: url.Values{"acr_values": {"1"}, "claims": {essential(`"value":"2"`)}}, level: acr.Multi, values: []string{"2"}},
		{name: "essential acr values", form: url.Values{"claims": {essential(`"values":["phr","2"]`)}}, level: acr.Multi, values: []string{"phr", "2"},
			reachedTo: map[string]string{"2": "2"}},
		{name: "an unmeetable essential acr", form: url.Values{"claims": {essential(`"value":"phr"`)}}, unmet: true},
		{name: "a voluntary acr claim demands nothing", form: url.Values{"claims": {`{"id_token":{"acr":{"values":["2"]}}}`}}, level: acr.Single},
		{name: "default_acr_values stand in", form: url.Values{}, client: storage.Client{DefaultACRValues: []string{"2"}}, level: acr.Multi, values: []string{"2"}},
		{name: "acr_values win over default_acr_values", form: url.Values{"acr_values": {"1"}}, client: storage.Client{DefaultACRValues: []string{"2"}}, level: acr.Single, values: []string{"1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.rules.Demand(tt.form, tt.client)
			if tt.unmet {
				if !errors.Is(err, acr.ErrUnmet) {
					t.Fatalf("err = %v, want ErrUnmet", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Level != tt.level || len(d.Values) != len(tt.values) {
				t.Fatalf("Demand = %+v, want level %s values %v", d, tt.level, tt.values)
			}
			for reached, want := range tt.reachedTo {
				if got := d.ACRFor(reached); got != want {
					t.Errorf("ACRFor(%s) = %s, want %s", reached, got, want)
				}
			}
		})
	}
}

func TestAssess(t *testing.T) {
	now := time.Now()
	pwd := storage.BrowserSession{AuthTime: now.Add(-10 * time.Minute), AMR: []string{"pwd"}, ACR: "1"}
	old := storage.BrowserSession{AuthTime: now.Add(-10 * time.Minute), AMR: []string{"pwd"}} // before sessions kept acr
	mfa := storage.BrowserSession{AuthTime: now.Add(-10 * time.Minute), AMR: []string{"pwd", "otp", "mfa"}, ACR: "2"}
	tests := []struct {
		name  string
		d     acr.Demand
		bs    storage.BrowserSession
		fresh bool
		want  acr.Verdict
	}{
		{"a password session meets level 1", acr.Demand{Level: "1", MaxAge: -1}, pwd, false, acr.Met},
		{"a session without acr counts as level 1", acr.Demand{Level: "1", MaxAge: -1}, old, false, acr.Met},
		{"a password session needs only the factor for level 2", acr.Demand{Level: "2", MaxAge: -1}, pwd, false, acr.NeedFactor},
		{"a two-factor session meets level 2", acr.Demand{Level: "2", MaxAge: -1}, mfa, false, acr.Met},
		{"prompt=login needs a sign-in", acr.Demand{Level: "1", MaxAge: -1, Login: true}, mfa, false, acr.NeedSignIn},
		{"prompt=login is met by this request's sign-in", acr.Demand{Level: "1", MaxAge: -1, Login: true}, mfa, true, acr.Met},
		{"max_age exceeded needs a sign-in", acr.Demand{Level: "2", MaxAge: 60}, pwd, false, acr.NeedSignIn},
		{"max_age within needs only the factor", acr.Demand{Level: "2", MaxAge: 3600}, pwd, false, acr.NeedFactor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.Assess(tt.bs, tt.fresh, now); got != tt.want {
				t.Fatalf("Assess = %v, want %v", got, tt.want)
			}
		})
	}
}
