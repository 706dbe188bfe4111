package oidc

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ory/fosite"
)

// TestWriteAccessResponseIsFosites checks that the token endpoint's own
// writer answers exactly as fosite's WriteAccessResponse would.
func TestWriteAccessResponseIsFosites(t *testing.T) {
	resp := fosite.NewAccessResponse()
	resp.SetAccessToken("ory_at_abc.def")
	resp.SetTokenType("bearer")
	resp.SetExpiresIn(time.Hour)
	resp.SetScopes(fosite.Arguments{"openid", "api:read"})
	resp.SetExtra("refresh_token", "ory_rt_x.y")
	resp.SetExtra("id_token", "eyJ.eyJ.sig")
	resp.SetExtra("authorization_details", []any{map[string]any{"type": "<payment>"}})

	ours := httptest.NewRecorder()
	writeAccessResponse(ours, resp)
	theirs := httptest.NewRecorder()
	new(fosite.Fosite).WriteAccessResponse(context.Background(), theirs, nil, resp)

	if ours.Code != theirs.Code || ours.Body.String() != theirs.Body.String() {
		t.Fatalf("answer:\n got %d %s\nwant %d %s", ours.Code, ours.Body, theirs.Code, theirs.Body)
	}
	for _, h := range []string{"Cache-Control", "Pragma", "Content-Type"} {
		if got, want := ours.Header().Get(h), theirs.Header().Get(h); got != want {
			t.Errorf("%s = %q, fosite says %q", h, got, want)
		}
	}
}
