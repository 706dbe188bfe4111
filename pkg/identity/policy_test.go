package identity_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/templates"
)

func TestPasswordPolicy(t *testing.T) {
	const email, name = "alice.liddell@example.com", "Alice Liddell"
	for _, tc := range []struct {
		name     string
		policy   identity.PasswordPolicy
		password string
		email    string
		want     identity.PasswordRule // "" for accepted
	}{
		{"a strong passphrase is accepted", identity.PasswordPolicy{}, "correct horse battery", email, ""},
		{"no composition rules: lower-case letters and spaces only", identity.PasswordPolicy{}, "tuba ketchup lantern", email, ""},
		{"seven characters are too short", identity.PasswordPolicy{}, "k9#Vq2z", email, identity.RuleTooShort},
		{"the zero policy applies NIST's eight", identity.PasswordPolicy{MinLength: 0}, "k9#Vq2zX", email, ""},
		{"a minimum below eight counts as eight", identity.PasswordPolicy{MinLength: 4}, "k9#Vq2z", email, identity.RuleTooShort},
		{"the configured minimum applies", identity.PasswordPolicy{MinLength: 12}, "k9#Vq2zXw!p", email, identity.RuleTooShort},
		{"the configured minimum is met", identity.PasswordPolicy{MinLength: 12}, "k9#Vq2zXw!pL", email, ""},
		{"length counts characters, not bytes", identity.PasswordPolicy{}, "日本語のパスワ", email, identity.RuleTooShort},
		{"eight non-ASCII characters are enough", identity.PasswordPolicy{}, "夜明けの紅茶と猫舌", email, ""},
		{"256 characters are allowed", identity.PasswordPolicy{}, randomish(256), email, ""},
		{"257 characters are too long", identity.PasswordPolicy{}, randomish(257), email, identity.RuleTooLong},
		{"257 multi-byte characters are too long", identity.PasswordPolicy{}, strings.Repeat("é", 257), email, identity.RuleTooLong},
		{"password is too common", identity.PasswordPolicy{}, "password", email, identity.RuleTooCommon},
		{"12345678 is too common", identity.PasswordPolicy{}, "12345678", email, identity.RuleTooCommon},
		{"eight spaces are too common", identity.PasswordPolicy{}, "        ", email, identity.RuleTooCommon},
		{"a leet-speak common password is too common", identity.PasswordPolicy{}, "P@ssw0rd!", email, identity.RuleTooCommon},
		{"a keyboard walk is too common", identity.PasswordPolicy{}, "qwertyuiop", email, identity.RuleTooCommon},
		{"the customer's own email is refused", identity.PasswordPolicy{}, email, email, identity.RuleContainsEmail},
		{"the local part in another case is refused", identity.PasswordPolicy{}, "xx ALICE.LIDDELL yy", email, identity.RuleContainsEmail},
		{"the part before a plus is refused", identity.PasswordPolicy{}, "7 quokka alice 9!", "alice+shop@example.com", identity.RuleContainsEmail},
		{"a three-letter local part counts", identity.PasswordPolicy{}, "tuba bob lantern 9", "bob@example.com", identity.RuleContainsEmail},
		{"a two-letter local part is ignored", identity.PasswordPolicy{}, "major tuba lantern 9", "jo@example.com", ""},
		{"the customer's name and email are zxcvbn user inputs", identity.PasswordPolicy{}, "liddell1865", email, identity.RuleTooCommon},
		{"a password guessable in its first 32 bytes is refused however long", identity.PasswordPolicy{}, strings.Repeat("password", 4) + "k9#Vq2zXw!pLm7&", email, identity.RuleTooCommon},
		{"invalid UTF-8 is scored, not refused outright", identity.PasswordPolicy{}, "tuba\xffketchup\xfelantern", email, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Check(tc.password, tc.email, name)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tc.password, err)
				}
				return
			}
			var pe *identity.PasswordError
			if !errors.As(err, &pe) {
				t.Fatalf("Check(%q) = %v, want a *PasswordError %s", tc.password, err, tc.want)
			}
			if pe.Rule != tc.want {
				t.Fatalf("Check(%q) broke %s (%v), want %s", tc.password, pe.Rule, err, tc.want)
			}
		})
	}
}

func TestPasswordPolicyUsesTheCustomersDetails(t *testing.T) {
	if err := (identity.PasswordPolicy{}).Check("liddell1865", "x@example.com", ""); err != nil {
		t.Fatalf("for someone else, liddell1865 = %v, want nil", err)
	}
	if err := (identity.PasswordPolicy{}).Check("liddell1865", "x@example.com", "Alice Liddell"); err == nil {
		t.Fatal("for Alice Liddell, liddell1865 is accepted")
	}
}

func TestPasswordErrorNamesItsLimit(t *testing.T) {
	err := identity.PasswordPolicy{MinLength: 12}.Check("k9#Vq2zX", "a@example.com", "")
	var pe *identity.PasswordError
	if !errors.As(err, &pe) || pe.Limit != 12 || pe.Error() != "must be at least 12 characters" || pe.MessageData()["Min"] != 12 {
		t.Fatalf("err = %#v (%v), want too_short with limit 12", err, err)
	}
	err = identity.PasswordPolicy{}.Check(randomish(300), "a@example.com", "")
	if !errors.As(err, &pe) || pe.Limit != identity.MaxPasswordLength || pe.MessageData()["Max"] != identity.MaxPasswordLength {
		t.Fatalf("err = %#v (%v), want too_long with limit %d", err, err, identity.MaxPasswordLength)
	}
}

// TestEveryRuleHasAMessage checks that every shipped locale has the message
// each rule's MessageID names, with the placeholders MessageData fills.
func TestEveryRuleHasAMessage(t *testing.T) {
	names, err := fs.Glob(templates.FS(), "locales/*.json")
	if err != nil || len(names) < 6 {
		t.Fatalf("locales: %v %v", names, err)
	}
	for _, name := range names {
		b, err := fs.ReadFile(templates.FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(b, &msgs); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, rule := range identity.PasswordRules() {
			pe := &identity.PasswordError{Rule: rule, Limit: 8}
			msg, ok := msgs[pe.MessageID()]
			if !ok {
				t.Errorf("%s lacks %q", path.Base(name), pe.MessageID())
				continue
			}
			for key := range pe.MessageData() {
				if !strings.Contains(msg, "{{.") || !strings.Contains(msg, "."+key+"}}") {
					t.Errorf("%s %q does not use {{.%s}}: %q", path.Base(name), pe.MessageID(), key, msg)
				}
			}
		}
	}
}

// randomish returns n characters that zxcvbn cannot guess.
func randomish(n int) string {
	const alphabet = "k9#Vq2zXw!pLm7&Rt4$Yb8%Nc3*Hf6"
	var b strings.Builder
	for i := range n {
		b.WriteByte(alphabet[(i*7+i/len(alphabet))%len(alphabet)])
	}
	return b.String()
}

// TestCreateRefusesBeforeHashingOrStoring checks that Create applies the
// policy to the normalized email and the name, and answers an
// *InvalidError for the field "password" wrapping the *PasswordError
// before it hashes or stores anything: the service has no store, so
// getting that far would panic.
func TestCreateRefusesBeforeHashingOrStoring(t *testing.T) {
	svc := identity.NewService(nil, identity.OWASPMinimum, identity.PasswordPolicy{MinLength: 10})
	for _, tc := range []struct {
		name     string
		user     identity.NewUser
		wantRule identity.PasswordRule
	}{
		{"the configured minimum", identity.NewUser{Email: "ada@example.com", Password: "k9#Vq2zXw"}, identity.RuleTooShort},
		{"a common password", identity.NewUser{Email: "ada@example.com", Password: "password123"}, identity.RuleTooCommon},
		{"the email as typed, before normalizing", identity.NewUser{Email: "  Ada.Lovelace@Example.COM ", Password: "ada.lovelace@example.com"}, identity.RuleContainsEmail},
		{"the name", identity.NewUser{Email: "countess@example.com", Name: "Augusta Lovelace", Password: "lovelace1815"}, identity.RuleTooCommon},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.Create(t.Context(), tc.user)
			var ie *identity.InvalidError
			var pe *identity.PasswordError
			if !errors.As(err, &ie) || ie.Field != "password" || !errors.As(err, &pe) || pe.Rule != tc.wantRule {
				t.Fatalf("Create = %v, want an invalid password (%s)", err, tc.wantRule)
			}
		})
	}
}

// BenchmarkPasswordPolicy measures one check of an accepted password (the
// dearest case: every rule runs), short and at NIST's 64 characters, and of
// the longest password allowed.
func BenchmarkPasswordPolicy(b *testing.B) {
	policy := identity.PasswordPolicy{}
	for _, bc := range []struct{ name, password string }{
		{"8 characters", "k9#Vq2zX"},
		{"passphrase 21 characters", "correct horse battery"},
		{"64 characters", randomish(64)},
		{"256 characters", randomish(identity.MaxPasswordLength)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := policy.Check(bc.password, "alice.liddell@example.com", "Alice Liddell"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
