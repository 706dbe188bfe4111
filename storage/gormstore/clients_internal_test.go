package gormstore

import "testing"

// Rows written before clients had an admin mark: an operator's client with
// the admin scope stays an admin client; a self-registered one that got the
// scope through registration does not.
func TestClientRowsWithoutAdminMark(t *testing.T) {
	for _, tc := range []struct {
		name     string
		metadata string
		want     bool
	}{
		{"operator's client with the admin scope", `{"scopes":["gatehouse:admin"],"grant_types":["client_credentials"]}`, true},
		{"self-registered client with the admin scope", `{"scopes":["gatehouse:admin"],"registration_access_token_hash":"AQID"}`, false},
		{"client without the scope", `{"scopes":["openid"]}`, false},
		{"explicit mark wins", `{"scopes":["gatehouse:admin"],"admin":false}`, false},
		{"explicit mark on", `{"scopes":[],"admin":true}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := clientRow{ID: "c", Metadata: tc.metadata}.toClient()
			if err != nil {
				t.Fatal(err)
			}
			if c.Admin != tc.want {
				t.Errorf("Admin = %v, want %v", c.Admin, tc.want)
			}
		})
	}
}
