package gormstore

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/gatehouse-id/gatehouse/storage"
)

// TestTokenRowDataIsEncodingJSONs checks that the hand-written JSON of a
// token row is byte for byte what encoding/json writes for requestData, the
// form every stored row is read back with.
func TestTokenRowDataIsEncodingJSONs(t *testing.T) {
	now := time.Date(2026, 11, 29, 9, 0, 0, 5, time.UTC)
	session := openid.NewDefaultSession()
	session.Subject = "user-1"
	session.Claims.RequestedAt = now
	session.ExpiresAt = map[fosite.TokenType]time.Time{fosite.AccessToken: now.Add(time.Hour)}
	full := &fosite.Request{
		ID:                "req-1",
		RequestedAt:       now,
		Client:            &storage.Client{ID: "client-1"},
		RequestedScope:    fosite.Arguments{"openid", "api:read", `odd"<scope>`},
		GrantedScope:      fosite.Arguments{"openid"},
		RequestedAudience: fosite.Arguments{"https://api.example.com"},
		GrantedAudience:   fosite.Arguments{"https://api.example.com"},
		Form:              url.Values{"grant_type": {"client_credentials"}, "scope": {"api:read openid"}},
		Session:           session,
	}
	bare := &fosite.Request{ID: "req-2", RequestedAt: now, Client: &storage.Client{ID: "client-2"}, Form: url.Values{}}

	for name, r := range map[string]*fosite.Request{"full": full, "bare": bare} {
		t.Run(name, func(t *testing.T) {
			row, err := newTokenRow(kindAccess, "sig", r, fosite.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			want := requestData{
				RequestedScope:    r.RequestedScope,
				GrantedScope:      r.GrantedScope,
				RequestedAudience: r.RequestedAudience,
				GrantedAudience:   r.GrantedAudience,
				Form:              r.Form.Encode(),
			}
			if r.Session != nil {
				if want.Session, err = json.Marshal(r.Session); err != nil {
					t.Fatal(err)
				}
			}
			wantJSON, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			if row.Data != string(wantJSON) {
				t.Errorf("data:\n got %s\nwant %s", row.Data, wantJSON)
			}
		})
	}
}
