package main

import (
	"bufio"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
	"gopkg.in/yaml.v3"

	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
)

// seed-users writes customers for `gatehouse import users` (docs/import.md):
// realistic names and emails, a mix of imported password hash formats,
// some linked upstream accounts, sign-up times over six years, customer
// attributes and global roles. Customer i is the same on every run, and
// seededEmail(i) names them, so that `sign-in --seeded N` can sign in
// random customers of the set.
//
//	gatehouse-load seed-users --count 1000000 --out customers.jsonl [--password P] [--attributes-out attributes.yaml]
//
// --attributes-out writes the declarations of the attributes the lines
// carry (seedAttributeDeclarations), for GATEHOUSE_ATTRIBUTES_FILE: the
// import refuses a line whose attributes are not declared. The lines'
// roles do not exist before the import: import them with --create-roles.

// seedPassword is every seeded customer's password unless --password says
// otherwise.
const seedPassword = "correct horse battery staple"

// The word lists customers are made of, as constants: split on use.
const (
	seedFirstNames  = "Ada Alan Alice Amara Ana Arjun Aya Ben Bianca Carlos Chen Chloe Daniel Diego Elena Emma Fatima Felix Grace Hana Hugo Ines Isaac Ivan Jada Jonas Julia Kai Kenji Lara Leo Lina Lucas Maya Mateo Mei Mia Mohammed Nadia Noah Nora Olga Omar Paula Priya Rafael Rosa Sara Sofia Tariq Theo Yara Yuki Zoe"
	seedFamilyNames = "Abebe Anderson Bauer Becker Costa Da_Silva Dubois Fischer Garcia Gonzalez Hansen Hoffmann Ivanova Jensen Johnson Kim Kowalski Kumar Larsen Lee Lopez Martin Meyer Moreau Müller Nakamura Nguyen Novak O'Brien Okafor Patel Petrov Rossi Sato Schmidt Silva Singh Smith Tanaka Wagner Wang Weber Williams Yamamoto Yilmaz Zhang"
	seedDomainNames = "gmail.com yahoo.com outlook.com hotmail.com icloud.com proton.me gmx.de web.de orange.fr libero.it example.com example.org"
	seedLocaleTags  = "en-US en-GB de-DE fr-FR es-ES it-IT pt-BR ja-JP nl-NL pl-PL"
)

// pick returns the word of the space-separated list that h selects.
func pick(list string, h uint64) string {
	words := strings.Fields(list)
	return words[h%uint64(len(words))]
}

// splitmix is SplitMix64: a hash of i that sets all of a customer's
// choices without a stream of random numbers, so customer i needs no
// other customer.
func splitmix(i, salt uint64) uint64 {
	z := i*0x9E3779B97F4A7C15 + salt
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// seededName returns customer i's given and family names.
func seededName(i int) (string, string) {
	u := uint64(i)
	return pick(seedFirstNames, splitmix(u, 1)), strings.ReplaceAll(pick(seedFamilyNames, splitmix(u, 2)), "_", " ")
}

// seededEmail returns customer i's email.
func seededEmail(i int) string {
	given, family := seededName(i)
	local := strings.ToLower(given + "." + strings.NewReplacer(" ", "", "'", "", "ü", "ue").Replace(family))
	return local + strconv.Itoa(i) + "@" + pick(seedDomainNames, splitmix(uint64(i), 3))
}

// seedRecord is one line of the import format.
type seedRecord struct {
	Email         string         `json:"email,omitempty"`
	EmailVerified bool           `json:"email_verified"`
	Name          string         `json:"name"`
	GivenName     string         `json:"given_name"`
	FamilyName    string         `json:"family_name"`
	Locale        string         `json:"locale,omitempty"`
	PhoneNumber   string         `json:"phone_number,omitempty"`
	ExternalID    string         `json:"external_id"`
	PasswordHash  string         `json:"password_hash,omitempty"`
	Identities    []seedIdentity `json:"identities,omitempty"`
	CreatedAt     time.Time      `json:"created_at"`
	Roles         []string       `json:"roles,omitempty"`
	Attributes    *seedAttrs     `json:"attributes,omitempty"`
}

// seedAttrs are a seeded customer's attribute values, as declared by
// seedAttributeDeclarations; a value left out is not set.
type seedAttrs struct {
	Plan          string `json:"plan,omitempty"`
	LoyaltyNumber string `json:"loyalty_number,omitempty"`
	Newsletter    *bool  `json:"newsletter,omitempty"`
}

// The seeded attributes and roles, with the share of customers that have
// each (per mille, so that the rare ones are exact).
const (
	// seedPlanFree, seedPlanPlus and seedPlanPro share out plan, a
	// searchable one-of attribute; the rest (6%) have no plan.
	seedPlanFree = 750
	seedPlanPlus = 150
	seedPlanPro  = 40
	// seedLoyaltyNumber have loyalty_number, a searchable string unique
	// to each customer (the card an operator finds a customer by).
	seedLoyaltyNumber = 400
	// seedNewsletter have newsletter, a boolean the customer may change
	// and nobody searches (a value on the row only); a quarter of them
	// false.
	seedNewsletter = 400
	// seedSupport and seedBeta have the global roles support and beta,
	// drawn apart (a customer may have both).
	seedSupport = 20
	seedBeta    = 100
)

// seedAttributeDeclarations declares the attributes seedUser gives
// customers, as GATEHOUSE_ATTRIBUTES_FILE declares them (docs/customers.md).
func seedAttributeDeclarations() []attributes.Declaration {
	return []attributes.Declaration{
		{Name: "plan", Type: attributes.TypeOneOf, Values: []string{"free", "plus", "pro"}, Searchable: true,
			Label: map[string]string{"en": "Plan"}},
		{Name: "loyalty_number", Type: attributes.TypeString, Searchable: true,
			Label: map[string]string{"en": "Loyalty card number"}},
		{Name: "newsletter", Type: attributes.TypeBoolean, EditableBy: attributes.EditorCustomer,
			Label: map[string]string{"en": "Send me the newsletter"}},
	}
}

// writeSeedAttributes writes the declarations as YAML to path.
func writeSeedAttributes(path string) error {
	text, err := yaml.Marshal(seedAttributeDeclarations())
	if err != nil {
		return fmt.Errorf("attributes: %w", err)
	}
	header := "# The customer attributes of gatehouse-load seed-users (GATEHOUSE_ATTRIBUTES_FILE).\n"
	if err := os.WriteFile(path, append([]byte(header), text...), 0o644); err != nil {
		return fmt.Errorf("attributes: %w", err)
	}
	return nil
}

// seededLoyaltyNumber is customer i's loyalty card number: ten digits, a
// bijection of i (below 10^10), so unique, and not in the customers' order.
func seededLoyaltyNumber(i int) string {
	return fmt.Sprintf("%010d", (uint64(i)*7_919_000_003+1_234_567_891)%10_000_000_000)
}

// seedExtras sets customer i's attributes and roles, each from a hash of
// its own (salts 8 to 12), so that the fields the lines had before keep
// their values and shares.
func seedExtras(i int, rec *seedRecord) {
	u := uint64(i)
	permille := func(salt uint64) uint64 { return splitmix(u, salt) % 1000 }
	var a seedAttrs
	switch p := permille(8); {
	case p < seedPlanFree:
		a.Plan = "free"
	case p < seedPlanFree+seedPlanPlus:
		a.Plan = "plus"
	case p < seedPlanFree+seedPlanPlus+seedPlanPro:
		a.Plan = "pro"
	}
	if permille(9) < seedLoyaltyNumber {
		a.LoyaltyNumber = seededLoyaltyNumber(i)
	}
	if p := permille(10); p < seedNewsletter {
		subscribed := p >= seedNewsletter/4
		a.Newsletter = &subscribed
	}
	if a != (seedAttrs{}) {
		rec.Attributes = &a
	}
	if permille(11) < seedSupport {
		rec.Roles = append(rec.Roles, "support")
	}
	if permille(12) < seedBeta {
		rec.Roles = append(rec.Roles, "beta")
	}
}

type seedIdentity struct {
	Provider string `json:"provider"`
	Subject  string `json:"subject"`
}

// seedHashes are one hash of the password in each imported format, made
// once: hashing a million passwords would take days, and the importer and
// the database treat every hash as an opaque string of its length.
type seedHashes struct{ bcrypt, django, scrypt, argon2 string }

func newSeedHashes(password string) (seedHashes, error) {
	var h seedHashes
	b, err := bcrypt.GenerateFromPassword([]byte(password), 10)
	if err != nil {
		return h, err
	}
	h.bcrypt = string(b)
	salt := "gatehouseSeedSalt"
	dk, err := pbkdf2.Key(sha256.New, password, []byte(salt), 600000, 32)
	if err != nil {
		return h, err
	}
	h.django = "pbkdf2_sha256$600000$" + salt + "$" + base64.StdEncoding.EncodeToString(dk)
	ssalt := []byte("seed-scrypt-salt")
	sk, err := scrypt.Key([]byte(password), ssalt, 1<<15, 8, 1, 32)
	if err != nil {
		return h, err
	}
	h.scrypt = "$scrypt$ln=15,r=8,p=1$" + base64.RawStdEncoding.EncodeToString(ssalt) + "$" + base64.RawStdEncoding.EncodeToString(sk)
	h.argon2, err = identity.HashPassword(password, identity.OWASPMinimum)
	return h, err
}

// seedUser returns customer i.
func seedUser(i int, h seedHashes) seedRecord {
	u := uint64(i)
	r := rand.New(rand.NewPCG(splitmix(u, 4), splitmix(u, 5)))
	given, family := seededName(i)
	rec := seedRecord{
		Email: seededEmail(i), EmailVerified: r.IntN(100) < 85, Name: given + " " + family, GivenName: given, FamilyName: family,
		ExternalID: "legacy-" + strconv.Itoa(1_000_000+i),
		CreatedAt:  time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(6 * 365 * 24 * time.Hour)))).Truncate(time.Second),
	}
	if r.IntN(100) < 70 {
		locales := strings.Fields(seedLocaleTags)
		rec.Locale = locales[r.IntN(len(locales))]
	}
	if r.IntN(100) < 30 {
		rec.PhoneNumber = fmt.Sprintf("+1 555 %03d %04d", r.IntN(1000), r.IntN(10000))
	}
	switch p := r.IntN(100); {
	case p < 60:
		rec.PasswordHash = h.bcrypt
	case p < 80:
		rec.PasswordHash = h.django
	case p < 85:
		rec.PasswordHash = h.scrypt
	case p < 95:
		rec.PasswordHash = h.argon2
	}
	if rec.PasswordHash == "" || r.IntN(100) < 20 {
		rec.Identities = append(rec.Identities, seedIdentity{Provider: "google", Subject: strconv.FormatUint(100000000000000000+splitmix(u, 6)%900000000000000000, 10)})
	}
	if r.IntN(100) < 7 {
		rec.Identities = append(rec.Identities, seedIdentity{Provider: "facebook", Subject: strconv.FormatUint(splitmix(u, 7)%10000000000000000, 10)})
	}
	seedExtras(i, &rec)
	return rec
}

// seededWithPassword returns the first seeded customer from i on who has
// a password (one in twenty signs in with a provider only).
func seededWithPassword(i int) int {
	marks := seedHashes{bcrypt: "b", django: "d", scrypt: "s", argon2: "a"}
	for seedUser(i, marks).PasswordHash == "" {
		i++
	}
	return i
}

// seedUsers writes the seed-users scenario's file.
func seedUsers(args []string) error {
	fs := flag.NewFlagSet("gatehouse-load seed-users", flag.ContinueOnError)
	count := fs.Int("count", 1_000_000, "how many customers")
	out := fs.String("out", "-", "the JSON Lines file to write, - for standard output")
	password := fs.String("password", seedPassword, "every customer's password")
	attrsOut := fs.String("attributes-out", "", "also write the declarations of the lines' attributes to this YAML `FILE` (for GATEHOUSE_ATTRIBUTES_FILE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *attrsOut != "" {
		if err := writeSeedAttributes(*attrsOut); err != nil {
			return err
		}
	}
	hashes, err := newSeedHashes(*password)
	if err != nil {
		return err
	}
	if *out == "-" {
		return writeSeed(os.Stdout, *count, hashes)
	}
	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("seed-users: %w", err)
	}
	if err := writeSeed(f, *count, hashes); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("seed-users: %w", err)
	}
	return nil
}

// writeSeed writes customers 0 to count-1 to w, one JSON line each.
func writeSeed(w io.Writer, count int, hashes seedHashes) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range count {
		if err := enc.Encode(seedUser(i, hashes)); err != nil {
			return fmt.Errorf("seed-users: customer %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("seed-users: %w", err)
	}
	return nil
}
