package signin_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/signin"
	"github.com/gatehouse-id/gatehouse/pkg/signin/acr"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// TestDisabledCustomerIsRefusedEveryWay checks that every first factor of
// a disabled customer ends in ErrDisabled, with no session and a
// user.login.failed whose reason is "disabled".
func TestDisabledCustomerIsRefusedEveryWay(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		f := newFixture(t, db.URL, acr.PolicyOptional)
		ctx := context.Background()
		f.user(t, "ada", false)
		must(t, f.store.UpdateUser(ctx, "ada", func(u storage.User) (storage.User, error) {
			u.Disabled = true
			return u, nil
		}))
		for _, m := range []signin.Method{signin.Password, signin.Federated, signin.EmailCode} {
			b := &testBrowser{sessions: f.sess}
			_, err := f.svc.FirstFactor(ctx, b, signin.FirstFactor{UserID: "ada", Method: m, IDP: "google"})
			if !errors.Is(err, signin.ErrDisabled) {
				t.Errorf("%s: err = %v, want ErrDisabled", m.Name, err)
			}
		}
		if ss, _ := f.store.ListSessionsByUser(ctx, "ada"); len(ss) != 0 {
			t.Errorf("%d sessions started", len(ss))
		}
		failed, err := f.store.ListEvents(ctx, storage.EventFilter{Type: events.UserLoginFailed, Subject: "ada"}, storage.Page{})
		must(t, err)
		if len(failed) != 3 {
			t.Fatalf("%d user.login.failed events, want 3", len(failed))
		}
		var d events.LoginData
		must(t, json.Unmarshal(failed[1].Data, &d))
		if d.Reason != "disabled" || d.Method != signin.Federated.Name || d.Provider != "google" {
			t.Errorf("event data: %+v", d)
		}
	})
}
