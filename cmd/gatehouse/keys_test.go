package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// listKeys runs keys list --output json.
func listKeys(t *testing.T, e env) []wireKey {
	t.Helper()
	var list []wireKey
	decode(t, mustRun(t, e, "keys", "list", "--output", "json"), &list)
	return list
}

// keyByID returns the key with the given kid, failing the test if absent.
func keyByID(t *testing.T, list []wireKey, kid string) wireKey {
	t.Helper()
	i := slices.IndexFunc(list, func(k wireKey) bool { return k.KID == kid })
	if i < 0 {
		t.Fatalf("no key %s in %+v", kid, list)
	}
	return list[i]
}

// activeKeys returns the active keys by algorithm, failing the test unless
// there is exactly one per algorithm in algs and no other active key.
func activeKeys(t *testing.T, list []wireKey, algs ...string) map[string]wireKey {
	t.Helper()
	active := map[string]wireKey{}
	for _, k := range list {
		if k.State != "active" {
			continue
		}
		if _, dup := active[k.Alg]; dup {
			t.Fatalf("two active %s keys: %+v", k.Alg, list)
		}
		active[k.Alg] = k
	}
	if len(active) != len(algs) {
		t.Fatalf("active keys %+v, want one of each of %v", active, algs)
	}
	for _, alg := range algs {
		if _, ok := active[alg]; !ok {
			t.Fatalf("no active %s key in %+v", alg, list)
		}
	}
	return active
}

func TestKeysOnFreshDatabase(t *testing.T) {
	t.Parallel()

	t.Run("keys list on a fresh database is an empty list", func(t *testing.T) {
		e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)
		r := mustRun(t, e, "keys", "list", "--output", "json")
		if strings.TrimSpace(r.stdout) != "[]" {
			t.Errorf("stdout = %q, want []", r.stdout)
		}
		r = mustRun(t, e, "keys", "list")
		if strings.TrimSpace(r.stdout) != "KID  ALG  STATE  CREATED" {
			t.Errorf("text stdout = %q, want only the header", r.stdout)
		}
	})

	t.Run("keys rotate on a fresh database creates one active key per algorithm", func(t *testing.T) {
		e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)
		var rotated []wireKey
		decode(t, mustRun(t, e, "keys", "rotate", "--output", "json"), &rotated)
		if len(rotated) != 2 {
			t.Fatalf("rotate printed %+v, want two keys", rotated)
		}
		list := listKeys(t, e)
		if len(list) != 2 {
			t.Fatalf("keys list = %+v, want the two new keys only", list)
		}
		active := activeKeys(t, list, "RS256", "ES256")
		for _, k := range rotated {
			if active[k.Alg].KID != k.KID {
				t.Errorf("rotate printed %s key %s, the active one is %s", k.Alg, k.KID, active[k.Alg].KID)
			}
		}
	})

	t.Run("keys rotate --alg ES256 on a fresh database creates only an ES256 key and serve adds the RS256 one", func(t *testing.T) {
		e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)
		var rotated []wireKey
		decode(t, mustRun(t, e, "keys", "rotate", "--alg", "ES256", "--output", "json"), &rotated)
		if len(rotated) != 1 || rotated[0].Alg != "ES256" || rotated[0].State != "active" {
			t.Fatalf("rotate printed %+v, want one active ES256 key", rotated)
		}
		activeKeys(t, listKeys(t, e), "ES256")

		s := startServe(t, e)
		if code := s.stop(t, 5*time.Second); code != exitOK {
			t.Fatalf("serve exited %d; logs:\n%s", code, s.logs.String())
		}
		list := listKeys(t, e)
		active := activeKeys(t, list, "RS256", "ES256")
		if active["ES256"].KID != rotated[0].KID || len(list) != 2 {
			t.Errorf("serve replaced or added to the ES256 key made by rotate: %+v", list)
		}
	})
}

func TestKeysRotateAndRetire(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)

	// The first start of the server creates the signing keys.
	s := startServe(t, e)
	if code := s.stop(t, 5*time.Second); code != exitOK {
		t.Fatalf("serve exited %d; logs:\n%s", code, s.logs.String())
	}

	var first map[string]wireKey
	t.Run("after the first serve there is one active RS256 and one active ES256 key", func(t *testing.T) {
		list := listKeys(t, e)
		if len(list) != 2 {
			t.Fatalf("keys list = %+v, want exactly two keys", list)
		}
		first = activeKeys(t, list, "RS256", "ES256")
		for _, k := range list {
			if k.KID == "" || k.CreatedAt == "" || k.DeactivatedAt != "" || k.RetiredAt != "" {
				t.Errorf("key %+v: want a kid and created_at, and no deactivated_at or retired_at", k)
			}
		}
	})
	if first == nil {
		t.FailNow()
	}
	oldES := first["ES256"].KID

	var newES string
	t.Run("rotate --alg ES256 makes a new active ES256 key and publishes the old one", func(t *testing.T) {
		var rotated []wireKey
		decode(t, mustRun(t, e, "keys", "rotate", "--alg", "ES256", "--output", "json"), &rotated)
		if len(rotated) != 1 || rotated[0].Alg != "ES256" || rotated[0].KID == oldES {
			t.Fatalf("rotate printed %+v, want one new ES256 key", rotated)
		}
		newES = rotated[0].KID
		list := listKeys(t, e)
		active := activeKeys(t, list, "RS256", "ES256")
		if active["ES256"].KID != newES {
			t.Errorf("active ES256 key is %s, want the new %s", active["ES256"].KID, newES)
		}
		if active["RS256"].KID != first["RS256"].KID {
			t.Errorf("rotating ES256 changed the RS256 key")
		}
		old := keyByID(t, list, oldES)
		if old.State != "published" || old.DeactivatedAt == "" || old.RetiredAt != "" {
			t.Errorf("old ES256 key = %+v, want published with deactivated_at", old)
		}
	})

	t.Run("rotate in text mode names the new keys and the refresh interval", func(t *testing.T) {
		r := mustRun(t, e.with("GATEHOUSE_KEYS_REFRESH_INTERVAL", "45s"), "keys", "rotate", "--alg", "RS256")
		if !strings.Contains(r.stdout, "RS256 key ") || !strings.Contains(r.stdout, "45s") {
			t.Errorf("stdout = %q", r.stdout)
		}
	})

	t.Run("retiring the active key exits 1 and says to rotate first", func(t *testing.T) {
		r := run(t, e, "keys", "retire", newES)
		if r.code != exitError || !strings.Contains(r.stderr, "rotate first") || !strings.Contains(r.stderr, newES) {
			t.Errorf("want exit 1 saying to rotate first, got %v", r)
		}
		if k := keyByID(t, listKeys(t, e), newES); k.State != "active" {
			t.Errorf("the refused retire changed the key: %+v", k)
		}
	})

	t.Run("retiring an unknown key exits 1", func(t *testing.T) {
		r := run(t, e, "keys", "retire", "no-such-kid")
		if r.code != exitError || !strings.Contains(r.stderr, `no key "no-such-kid"`) {
			t.Errorf("%v", r)
		}
	})

	t.Run("retire of the published key makes it retired", func(t *testing.T) {
		r := mustRun(t, e, "keys", "retire", oldES)
		if !strings.Contains(r.stdout, "retired key "+oldES) {
			t.Errorf("stdout = %q", r.stdout)
		}
		k := keyByID(t, listKeys(t, e), oldES)
		if k.State != "retired" || k.RetiredAt == "" {
			t.Errorf("old ES256 key = %+v, want retired with retired_at", k)
		}
	})

	t.Run("a later serve publishes the active and published keys but not the retired one", func(t *testing.T) {
		list := listKeys(t, e)
		var want []string
		for _, k := range list {
			if k.State != "retired" {
				want = append(want, k.KID)
			}
		}
		s := startServe(t, e)
		resp, err := http.Get(s.url + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var jwks struct {
			Keys []struct {
				KID string `json:"kid"`
			} `json:"keys"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range jwks.Keys {
			got = append(got, k.KID)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("JWKS kids = %v, want %v (all but %s)", got, want, oldES)
		}
		if code := s.stop(t, 5*time.Second); code != exitOK {
			t.Errorf("serve exited %d", code)
		}
	})
}
