package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)

	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no command prints the usage", nil, "Usage:"},
		{"an unknown command is refused", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"an unknown clients subcommand is refused", []string{"clients", "frobnicate"}, `unknown clients subcommand "frobnicate"`},
		{"clients without a subcommand is refused", []string{"clients"}, "clients needs a subcommand"},
		{"an unknown keys subcommand is refused", []string{"keys", "frobnicate"}, `unknown keys subcommand "frobnicate"`},
		{"keys without a subcommand is refused", []string{"keys"}, "keys needs a subcommand"},
		{"--output yaml is refused", []string{"clients", "list", "--output", "yaml"}, `--output must be json or text (got "yaml")`},
		{"--output yaml is refused by keys list", []string{"keys", "list", "--output", "yaml"}, "--output must be json or text"},
		{"an unknown flag is refused", []string{"clients", "list", "--verbose"}, "clients list: unknown flag --verbose"},
		{"a redirect client without --name is refused", []string{"clients", "create", "--redirect-uri", "https://a.example/cb"}, "clients create needs --name for a client with redirect URIs"},
		{"a redirect URI with a fragment is refused", []string{"clients", "create", "--name", "x", "--redirect-uri", "https://a.example/cb#x"}, "must not contain a fragment"},
		{"an http redirect URI on a public host is refused", []string{"clients", "create", "--name", "x", "--redirect-uri", "http://a.example/cb"}, "http is allowed only for localhost"},
		{"a relative redirect URI is refused", []string{"clients", "create", "--name", "x", "--redirect-uri", "/cb"}, "not an absolute URI"},
		{"a post-logout redirect URI with a fragment is refused", []string{"clients", "create", "--name", "x", "--public", "--redirect-uri", "http://localhost/cb", "--post-logout-redirect-uri", "https://a.example/bye#x"}, "post_logout_redirect_uri"},
		{"authorization_code without a redirect URI is refused", []string{"clients", "create", "--name", "x"}, "redirect_uri: required"},
		{"a public client with client_secret_basic is refused", []string{"clients", "create", "--name", "x", "--public", "--redirect-uri", "http://localhost:3000/cb", "--token-endpoint-auth-method", "client_secret_basic"}, "a public client has no secret"},
		{"a confidential client with auth method none is refused", []string{"clients", "create", "--grant-type", "client_credentials", "--token-endpoint-auth-method", "none"}, "none is only for public clients"},
		{"a public client_credentials client is refused", []string{"clients", "create", "--public", "--grant-type", "client_credentials"}, "a public client cannot use client_credentials"},
		{"an unknown grant type is refused", []string{"clients", "create", "--grant-type", "password"}, `unknown grant type "password"`},
		{"an invalid scope token is refused", []string{"clients", "create", "--grant-type", "client_credentials", "--scope", `a "b"`}, "not a valid scope token"},
		{"clients create with an argument is refused", []string{"clients", "create", "extra"}, "clients create takes no arguments"},
		{"clients get without an id is refused", []string{"clients", "get"}, "clients get takes one CLIENT_ID"},
		{"clients get with two ids is refused", []string{"clients", "get", "a", "b"}, "clients get takes one CLIENT_ID"},
		{"clients delete without an id is refused", []string{"clients", "delete"}, "clients delete takes one CLIENT_ID"},
		{"keys rotate --alg RS512 is refused", []string{"keys", "rotate", "--alg", "RS512"}, `--alg must be RS256 or ES256 (got "RS512")`},
		{"--alg with keys list is refused", []string{"keys", "list", "--alg", "ES256"}, "--alg goes with keys rotate"},
		{"keys retire without a kid is refused", []string{"keys", "retire"}, "keys retire takes one KID"},
		{"keys list with an argument is refused", []string{"keys", "list", "extra"}, "keys list takes no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, e, tc.args...)
			if r.code != exitUsage {
				t.Fatalf("exit code %d, want 2: %v", r.code, r)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}

	t.Run("no client was created by a refused command", func(t *testing.T) {
		r := mustRun(t, e, "clients", "list", "--output", "json")
		if strings.TrimSpace(r.stdout) != "[]" {
			t.Errorf("clients list = %s", r.stdout)
		}
	})
}

func TestHelpExits0(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name       string
		args       []string
		wantStdout string
		wantStderr string
	}{
		{"help prints the usage on stdout", []string{"help"}, "Usage:", ""},
		{"--help prints the usage on stdout", []string{"--help"}, "Usage:", ""},
		{"a subcommand's --help lists its flags", []string{"clients", "create", "--help"}, "--redirect-uri URI", ""},
		{"keys rotate -h lists its flags", []string{"keys", "rotate", "-h"}, "--alg", ""},
		{"a command's --help lists its subcommands", []string{"clients", "--help"}, "gatehouse clients rotate-secret", ""},
		{"help COMMAND is COMMAND --help", []string{"help", "webhooks"}, "gatehouse webhooks ping", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, e, tc.args...)
			if r.code != exitOK {
				t.Fatalf("%v", r)
			}
			if !strings.Contains(r.stdout, tc.wantStdout) || !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("want %q on stdout and %q on stderr, got %v", tc.wantStdout, tc.wantStderr, r)
			}
		})
	}
	t.Run("help touches no database", func(t *testing.T) {
		if _, err := os.Stat(e.dbPath()); !os.IsNotExist(err) {
			t.Errorf("database file exists after help: %v", err)
		}
	})
}

func TestInvalidConfigurationExits2(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		env    []string // variables to set
		config string   // content of a --config file, if not empty
		want   []string // in stderr
	}{
		{
			name: "an http issuer on a public host is refused",
			env:  []string{"GATEHOUSE_ISSUER", "http://example.com"},
			want: []string{"GATEHOUSE_ISSUER", "must use https"},
		},
		{
			name: "a secret shorter than 32 bytes is refused",
			env:  []string{"GATEHOUSE_SECRET", "too-short"},
			want: []string{"GATEHOUSE_SECRET", "at least 32 bytes"},
		},
		{
			name:   "an unknown key in the config file is refused",
			config: "issuer: http://localhost:8080\nisuer: http://localhost:9090\n",
			want:   []string{`unknown setting "isuer"`, "line 2", "gatehouse.yaml"},
		},
		{
			name:   "a malformed duration in the config file is refused",
			config: "access_token_lifetime: 60\n",
			want:   []string{"access_token_lifetime"},
		},
		{
			name: "a malformed duration in the environment is refused",
			env:  []string{"GATEHOUSE_SHUTDOWN_TIMEOUT", "soon"},
			want: []string{"GATEHOUSE_SHUTDOWN_TIMEOUT", `"soon"`},
		},
		{
			name: "PostgreSQL without a secret is refused before connecting",
			env:  []string{"GATEHOUSE_DATABASE_URL", "postgres://gh@127.0.0.1:1/gh"},
			want: []string{"GATEHOUSE_SECRET", "required on PostgreSQL"},
		},
		{
			name: "an in-memory SQLite database is refused",
			env:  []string{"GATEHOUSE_DATABASE_URL", "sqlite://:memory:"},
			want: []string{"GATEHOUSE_DATABASE_URL", "in-memory"},
		},
		{
			name:   "the environment overrides the file, and its bad value is reported",
			config: "log_level: info\n",
			env:    []string{"GATEHOUSE_LOG_LEVEL", "verbose"},
			want:   []string{"GATEHOUSE_LOG_LEVEL", `"verbose"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := newEnv(t)
			dir := filepath.Dir(base.dbPath())
			e := base.with(tc.env...)
			var extra []string
			if tc.config != "" {
				path := filepath.Join(t.TempDir(), "gatehouse.yaml")
				if err := os.WriteFile(path, []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
				extra = []string{"--config", path}
			}
			for _, cmd := range [][]string{{"serve"}, {"migrate"}, {"clients", "list"}, {"keys", "list"}} {
				r := run(t, e, append(cmd, extra...)...)
				if r.code != exitUsage {
					t.Fatalf("%q: exit code %d, want 2: %v", cmd, r.code, r)
				}
				if !strings.Contains(r.stderr, "invalid configuration") {
					t.Errorf("%q: stderr does not say the configuration is invalid:\n%s", cmd, r.stderr)
				}
				for _, w := range tc.want {
					if !strings.Contains(r.stderr, w) {
						t.Errorf("%q: stderr lacks %q:\n%s", cmd, w, r.stderr)
					}
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("an invalid configuration left files behind: %v", entries)
			}
		})
	}

	t.Run("a missing config file is refused", func(t *testing.T) {
		t.Parallel()
		missing := filepath.Join(t.TempDir(), "absent.yaml")
		r := run(t, newEnv(t), "clients", "list", "--config", missing)
		if r.code != exitUsage || !strings.Contains(r.stderr, "absent.yaml") {
			t.Errorf("%v", r)
		}
	})

	t.Run("a valid config file is used", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := filepath.Join(dir, "gatehouse.yaml")
		db := filepath.Join(dir, "from-file.db")
		content := "database_url: sqlite://" + db + "\nsecret: " + testSecret + "\n"
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		mustRun(t, env{}, "migrate", "--config", path)
		if _, err := os.Stat(db); err != nil {
			t.Errorf("the database named in the file was not created: %v", err)
		}
	})
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)

	applied := regexp.MustCompile(`^applied migrations \[[0-9 ]+\]; schema is at version ([0-9]+)\n$`)
	upToDate := regexp.MustCompile(`^schema is up to date \(version ([0-9]+)\)\n$`)
	var version string

	t.Run("a fresh database gets every migration", func(t *testing.T) {
		r := mustRun(t, e, "migrate")
		m := applied.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("stdout = %q, want it to say which migrations were applied", r.stdout)
		}
		version = m[1]
	})

	t.Run("a second run says the schema is up to date", func(t *testing.T) {
		r := mustRun(t, e, "migrate")
		m := upToDate.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("stdout = %q, want it to say the schema is up to date", r.stdout)
		}
		if m[1] != version {
			t.Errorf("up to date at version %s, but migrations brought it to %s", m[1], version)
		}
	})

	t.Run("without auto-migration a command on a fresh database asks for migrate", func(t *testing.T) {
		fresh := newEnv(t).with("GATEHOUSE_SECRET", testSecret, "GATEHOUSE_AUTO_MIGRATE", "false")
		r := run(t, fresh, "clients", "list")
		if r.code != exitError || !strings.Contains(r.stderr, "gatehouse migrate") {
			t.Fatalf("want exit 1 asking for `gatehouse migrate`, got %v", r)
		}
		mustRun(t, fresh, "migrate")
		mustRun(t, fresh, "clients", "list")
	})
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		t.Run(args[0]+" prints gatehouse dev", func(t *testing.T) {
			r := run(t, env{}, args...)
			if r.code != exitOK {
				t.Fatalf("%v", r)
			}
			if !strings.HasPrefix(r.stdout, "gatehouse dev") || strings.Count(r.stdout, "\n") != 1 {
				t.Errorf("stdout = %q, want one line starting %q", r.stdout, "gatehouse dev")
			}
			if r.stderr != "" {
				t.Errorf("stderr = %q", r.stderr)
			}
		})
	}
}
