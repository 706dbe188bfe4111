package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// Eight redemptions of one code, or of one refresh token, at the same
// moment: at most one wins, every loser gets 400 invalid_grant (never a
// 500), and what the winner got is revoked, since the grant was used twice
// (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
func TestConcurrentRedemptionsLoseWithInvalidGrant(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := startServer(t, db.URL)
		createAlice(t, s)
		rp := newRelyingParty(t, s, webClient(true))
		race := func(t *testing.T, form url.Values) {
			t.Helper()
			const n = 8
			type answer struct {
				status int
				body   map[string]any
			}
			answers := make([]answer, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/token", strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(rp.reg.Client.ID, rp.reg.Secret)
					<-start
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					defer resp.Body.Close()
					answers[i] = answer{resp.StatusCode, decodeJSON(t, resp.Body)}
				}()
			}
			close(start)
			wg.Wait()
			var winners []string
			for _, a := range answers {
				switch {
				case a.status == http.StatusOK:
					winners = append(winners, a.body["access_token"].(string))
				case a.status != http.StatusBadRequest || a.body["error"] != "invalid_grant":
					t.Errorf("a loser got %d %v, want 400 invalid_grant; the server's errors:\n%s", a.status, a.body, serverErrors(s))
				}
			}
			if len(winners) > 1 {
				t.Fatalf("%d redemptions succeeded", len(winners))
			}
			for _, at := range winners {
				if active(t, s, rp, at) {
					t.Error("the winner's access token is still active after the grant was used twice")
				}
			}
		}
		t.Run("one code", func(t *testing.T) {
			f := newFlow()
			code := rp.signIn(f).Get("code")
			race(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpCallback}, "code_verifier": {f.verifier}})
		})
		t.Run("one refresh token", func(t *testing.T) {
			f := newFlow()
			tok, _ := rp.exchange(f, rp.signIn(f).Get("code"))
			race(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
			// The refresh token's family is gone too.
			if _, err := rp.oauth.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
				t.Error("the raced refresh token still works")
			}
		})
	})
}

// serverErrors returns the lines the server logged at level ERROR.
func serverErrors(s *testServer) string {
	var out []string
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
