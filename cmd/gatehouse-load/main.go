// Command gatehouse-load drives real flows against a running Gatehouse over
// HTTP and prints their throughput and latency. It is the project's own load
// generator: run it in a process of its own, so the server's figures do not
// include the load's.
//
//	gatehouse-load client-credentials --issuer URL --client-id ID --client-secret S [-n 20000] [-c 50]
//	gatehouse-load sign-in --issuer URL --client-id ID --client-secret S --redirect-uri URI \
//	    --email E --password P [-n 300] [-c 8] [--consent] [--tokens-out FILE] [--server-pid PID [--hashes 40] \
//	    [--argon2-memory-kib 19456] [--argon2-iterations 2] [--argon2-parallelism 1]]
//	gatehouse-load guess --issuer URL --client-id ID --client-secret S --redirect-uri URI \
//	    --email E --password P [--duration 1m] [--every 5s] [-c 4]
//	gatehouse-load noop [--addr 127.0.0.1:9090]
//	gatehouse-load seed-users [--count 1000000] [--out FILE] [--password P] [--attributes-out FILE]
//	gatehouse-load sign-in … --seeded N --password P   (random customers of seed-users' first N)
//	gatehouse-load admin-get --issuer URL --token T --path '/admin/v1/customers?email_prefix=ada' [-n 200] [-c 1]
//	gatehouse-load introspect --issuer URL --client-id ID --client-secret S --token T [-n 20000] [-c 50]
//	gatehouse-load userinfo --issuer URL --token T [-n 20000] [-c 50]
//
// introspect and userinfo are a resource server's calls on every API
// request (docs/benchmarks.md): introspect posts --token to the
// introspection endpoint as the client --client-id (Basic) and wants
// "active":true; userinfo gets /userinfo with --token as the bearer
// token. --token may be given several times (comma-separated), used in
// turn; sign-in --tokens-out FILE writes customers' access tokens for it.
// Against the no-op, run client-credentials at the same -c.
//
// noop serves the floor that token endpoint figures are compared with: a
// net/http handler that parses the form and writes a fixed token-shaped JSON
// answer (docs/benchmarks.md). Load it and the server in turn with the same
// tool (hey, or client-credentials here).
//
// guess is an attacker of the project's own (docs/benchmarks.md): -c
// workers post wrong passwords for --email from this one address for
// --duration, while the real customer, on a browser that signed in before,
// signs in every --every; it prints how many guesses were evaluated and how
// many refused with 429 per minute, and whether the customer got in.
//
// A sign-in is the whole flow a customer's browser and an app go through:
// the authorization request, the sign-in form, the code exchange with PKCE,
// and userinfo; each one starts from an empty cookie jar. The client must
// be first-party (--skip-consent) so that no consent page interrupts it,
// unless --consent is given: then each sign-in also posts the consent form
// (allow, not remembered, so that the next sign-in sees the page again).
//
// sign-in prints its rate in logins/s and the latency percentiles of a
// whole sign-in. With --server-pid, it also prints what a sign-in cost the
// server: its CPU time (utime+stime of /proc/PID/stat, before and after
// the run, and the two apart: the kernel's share is mostly page faults) a
// completed sign-in, against the CPU time of one bare argon2id hash at
// the server's parameters (the --argon2-* flags, the server's defaults),
// measured in this process before the load starts and again after it ends
// (--hashes each time, on as many goroutines as cores, as the server's
// hashing slots run; the ratio uses the mean of the two), and the
// server's peak resident set (VmHWM of /proc/PID/status). The bare hash is
// golang.org/x/crypto/argon2's, which allocates its memory on every call;
// beside it, for comparison, one hash of the server's own kernel
// (internal/argon2), which reuses a kept work area, and the ratio against
// that. Run it against
// a server started for the purpose, on the same machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/browser"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-load:", err)
		os.Exit(2)
	}
}

// options are the flags every scenario takes.
type options struct {
	issuer, clientID, clientSecret, redirectURI, email, password, scope string
	requests, concurrency, seeded                                       int
	token, path                                                         string
	duration, every                                                     time.Duration
	consent                                                             bool // sign-in: post the consent form
	serverPID, hashes                                                   int
	argon2                                                              argon2Params
	// tokensOut, when set, gets each sign-in's access token, a line each.
	tokensOut *lineWriter
}

// lineWriter writes lines from many goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// line writes s and a newline.
func (l *lineWriter) line(s string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := io.WriteString(l.w, s+"\n")
	return err
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: gatehouse-load client-credentials|sign-in|guess|admin-get|introspect|userinfo|seed-users|noop [flags]")
	}
	scenario := args[0]
	switch scenario {
	case "noop":
		return serveNoop(args[1:])
	case "seed-users":
		return seedUsers(args[1:])
	}
	fs := flag.NewFlagSet("gatehouse-load "+scenario, flag.ContinueOnError)
	var o options
	fs.StringVar(&o.issuer, "issuer", "http://localhost:8080", "the server's issuer URL")
	fs.StringVar(&o.clientID, "client-id", "", "client id")
	fs.StringVar(&o.clientSecret, "client-secret", "", "client secret")
	fs.StringVar(&o.redirectURI, "redirect-uri", "", "the client's redirect URI (sign-in)")
	fs.StringVar(&o.email, "email", "", "the customer's email (sign-in)")
	fs.StringVar(&o.password, "password", "", "the customer's password (sign-in)")
	fs.StringVar(&o.scope, "scope", "", "scope to ask for")
	fs.IntVar(&o.requests, "n", 0, "how many flows to run (default 20000 grants or 300 sign-ins)")
	fs.IntVar(&o.concurrency, "c", 0, "how many at once (default 50 grants, 8 sign-ins or 4 guessers)")
	fs.IntVar(&o.seeded, "seeded", 0, "sign in random customers among the first `N` of seed-users instead of --email (sign-in)")
	fs.StringVar(&o.token, "token", "", "an access token: the admin's (admin-get), or those to ask about, comma-separated (introspect, userinfo)")
	fs.StringVar(&o.path, "path", "/admin/v1/customers", "the path and query to get (admin-get)")
	fs.DurationVar(&o.duration, "duration", time.Minute, "how long to guess (guess)")
	fs.DurationVar(&o.every, "every", 5*time.Second, "how often the customer signs in meanwhile (guess)")
	fs.BoolVar(&o.consent, "consent", false, "the client asks for consent: post the consent form, not remembered (sign-in)")
	fs.IntVar(&o.serverPID, "server-pid", 0, "the server's process id: print its CPU a sign-in against one hash's, and its peak RSS (sign-in)")
	fs.IntVar(&o.hashes, "hashes", 40, "how many bare argon2id hashes to time (sign-in with --server-pid)")
	tokensOut := fs.String("tokens-out", "", "write each sign-in's access token to `FILE`, a line each, for userinfo (sign-in)")
	var memory, iterations, parallelism uint
	fs.UintVar(&memory, "argon2-memory-kib", 19456, "the server's argon2_memory_kib")
	fs.UintVar(&iterations, "argon2-iterations", 2, "the server's argon2_iterations")
	fs.UintVar(&parallelism, "argon2-parallelism", 1, "the server's argon2_parallelism")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if memory == 0 || iterations == 0 || parallelism == 0 || parallelism > 255 || memory > 1<<32-1 || iterations > 1<<32-1 {
		return errors.New("--argon2-memory-kib, --argon2-iterations and --argon2-parallelism (at most 255) must be positive")
	}
	o.argon2 = argon2Params{memoryKiB: uint32(memory), iterations: uint32(iterations), parallelism: uint8(parallelism)}
	tokens := strings.Split(o.token, ",")
	switch scenario {
	case "introspect":
		if o.token == "" || o.clientID == "" {
			return errors.New("introspect needs --token and --client-id")
		}
		_, err := measure(scenario, orDefault(o.requests, 20000), orDefault(o.concurrency, 50), o.introspect(tokens))
		return err
	case "userinfo":
		if o.token == "" {
			return errors.New("userinfo needs --token")
		}
		_, err := measure(scenario, orDefault(o.requests, 20000), orDefault(o.concurrency, 50), o.userinfo(tokens))
		return err
	}
	if scenario == "admin-get" {
		if o.token == "" {
			return errors.New("admin-get needs --token")
		}
		_, err := measure(scenario, orDefault(o.requests, 200), orDefault(o.concurrency, 1), o.adminGet)
		return err
	}
	if o.clientID == "" {
		return errors.New("--client-id is required")
	}
	var flow func(*http.Client) error
	switch scenario {
	case "client-credentials":
		o.requests, o.concurrency = orDefault(o.requests, 20000), orDefault(o.concurrency, 50)
		flow = o.clientCredentials
	case "sign-in":
		if o.redirectURI == "" || (o.email == "" && o.seeded == 0) || o.password == "" {
			return errors.New("sign-in needs --redirect-uri, --email (or --seeded) and --password")
		}
		o.requests, o.concurrency = orDefault(o.requests, 300), orDefault(o.concurrency, 8)
		if *tokensOut != "" {
			f, err := os.Create(*tokensOut)
			if err != nil {
				return fmt.Errorf("--tokens-out: %w", err)
			}
			defer f.Close()
			o.tokensOut = &lineWriter{w: f}
		}
		if o.serverPID != 0 {
			return o.signInCost()
		}
		flow = o.signIn
	case "guess":
		if o.redirectURI == "" || o.email == "" || o.password == "" {
			return errors.New("guess needs --redirect-uri, --email and --password (the customer's)")
		}
		return o.guess(orDefault(o.concurrency, 4))
	default:
		return fmt.Errorf("unknown scenario %q", scenario)
	}
	_, err := measure(scenario, o.requests, o.concurrency, flow)
	return err
}

// signInCost runs the sign-in load and prints what it cost the server
// against one bare hash, timed first in this process.
func (o options) signInCost() error {
	if _, err := procCPU(o.serverPID); err != nil {
		return fmt.Errorf("--server-pid: %w", err)
	}
	hashes := orDefault(o.hashes, 40)
	h1, err := measureHash(o.argon2, hashes, runtime.GOMAXPROCS(0), bareHash)
	if err != nil {
		return err
	}
	before, err := procCPU(o.serverPID)
	if err != nil {
		return err
	}
	done, runErr := measure("sign-in", o.requests, o.concurrency, o.signIn)
	after, err := procCPU(o.serverPID)
	if err != nil {
		return err
	}
	peak, err := procPeakRSS(o.serverPID)
	if err != nil {
		return err
	}
	h2, err := measureHash(o.argon2, hashes, runtime.GOMAXPROCS(0), bareHash)
	if err != nil {
		return err
	}
	own, err := measureHash(o.argon2, hashes, runtime.GOMAXPROCS(0), keptMemoryHash)
	if err != nil {
		return err
	}
	printCost(serverCost{cpu: after.sub(before), flows: done, peakRSS: peak}, h1, h2, own, o.argon2)
	return runErr
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// measure runs flow n times on c workers, prints the rate and latencies,
// and returns how many flows completed.
func measure(name string, n, c int, flow func(*http.Client) error) (int, error) {
	transport := &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	var next, failed atomic.Int64
	latencies := make([]time.Duration, n)
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t := time.Now()
				if err := flow(client); err != nil {
					failed.Add(1)
					once.Do(func() { firstErr = err })
				}
				latencies[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[int(float64(len(latencies)-1)*p)] }
	fmt.Printf("%s: %d flows, %d at once, %d failed, %.2f s\n", name, n, c, failed.Load(), elapsed.Seconds())
	fmt.Printf("  rate: %.1f %s/s\n", float64(n)/elapsed.Seconds(), unitOf(name))
	fmt.Printf("  latency: p50 %s  p95 %s  p99 %s  max %s\n", pct(.5).Round(time.Microsecond), pct(.95).Round(time.Microsecond),
		pct(.99).Round(time.Microsecond), latencies[len(latencies)-1].Round(time.Microsecond))
	done := n - int(failed.Load())
	if firstErr != nil {
		return done, fmt.Errorf("%d flows failed; the first: %w", failed.Load(), firstErr)
	}
	return done, nil
}

// unitOf names what one flow of a scenario is, for its rate.
func unitOf(scenario string) string {
	switch scenario {
	case "sign-in":
		return "logins"
	case "client-credentials":
		return "grants"
	default:
		return "requests"
	}
}

// clientCredentials is one client-credentials grant.
func (o options) clientCredentials(c *http.Client) error {
	form := url.Values{"grant_type": {"client_credentials"}}
	if o.scope != "" {
		form.Set("scope", o.scope)
	}
	req, err := http.NewRequest(http.MethodPost, o.issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(o.clientID), url.QueryEscape(o.clientSecret))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("token endpoint answered %d", resp.StatusCode)
	}
	return nil
}

// introspect returns a flow that introspects the tokens in turn, as the
// client, and wants each active.
func (o options) introspect(tokens []string) func(*http.Client) error {
	var next atomic.Uint64
	return func(c *http.Client) error {
		form := url.Values{"token": {tokens[next.Add(1)%uint64(len(tokens))]}}
		req, err := http.NewRequest(http.MethodPost, o.issuer+"/oauth2/introspect", strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(o.clientID), url.QueryEscape(o.clientSecret))
		return expect(c, req, `"active":true`)
	}
}

// userinfo returns a flow that gets /userinfo with the tokens in turn.
func (o options) userinfo(tokens []string) func(*http.Client) error {
	var next atomic.Uint64
	return func(c *http.Client) error {
		req, err := http.NewRequest(http.MethodGet, o.issuer+"/userinfo", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tokens[next.Add(1)%uint64(len(tokens))])
		return expect(c, req, `"sub"`)
	}
}

// expect sends req and wants 200 with want in the body.
func expect(c *http.Client, req *http.Request, want string) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("%s answered %d: %.200s", req.URL.Path, resp.StatusCode, body)
	}
	return nil
}

// adminGet is one GET of the admin API.
func (o options) adminGet(c *http.Client) error {
	req, err := http.NewRequest(http.MethodGet, o.issuer+o.path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", o.path, resp.StatusCode)
	}
	return nil
}

// signIn is one whole sign-in from an empty cookie jar.
func (o options) signIn(c *http.Client) error {
	if o.seeded > 0 {
		o.email = seededEmail(seededWithPassword(mathrand.IntN(o.seeded)))
	}
	b := browser.New(o.issuer)
	b.Client.Transport = c.Transport
	return o.signInWith(c, b, "")
}

// signInWith is one whole sign-in in browser b; prompt, when set, is sent
// as the prompt parameter (login: sign in again although signed in).
func (o options) signInWith(c *http.Client, b *browser.Browser, prompt string) error {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, c)
	scope := o.scope
	if scope == "" {
		scope = "openid email"
	}
	conf := oauth2.Config{ClientID: o.clientID, ClientSecret: o.clientSecret, RedirectURL: o.redirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: o.issuer + "/oauth2/auth", TokenURL: o.issuer + "/oauth2/token"}, Scopes: strings.Fields(scope)}
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "load-nonce")}
	if prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", prompt))
	}
	page, err := b.Get(conf.AuthCodeURL("load-state", opts...))
	if err != nil {
		return err
	}
	form, err := page.FormWith("password")
	if err != nil {
		return err
	}
	page, err = b.Submit(form, url.Values{"email": {o.email}, "password": {o.password}}, "", "")
	if err != nil {
		return err
	}
	if o.consent && page.Location == "" {
		if page, err = consent(b, page); err != nil {
			return err
		}
	}
	back, err := url.Parse(page.Location)
	if err != nil || back.Query().Get("code") == "" {
		if o.consent {
			return fmt.Errorf("no code after the consent (status %d): is the password right?", page.Status)
		}
		return fmt.Errorf("no code after the sign-in (status %d): is the client first-party and the password right?", page.Status)
	}
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return err
	}
	req, _ := http.NewRequest(http.MethodGet, o.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("userinfo answered %d", resp.StatusCode)
	}
	if o.tokensOut != nil {
		return o.tokensOut.line(tok.AccessToken)
	}
	return nil
}

// consent allows on the consent page without remembering the consent, so
// that every sign-in of the run goes through the page.
func consent(b *browser.Browser, page *browser.Page) (*browser.Page, error) {
	form, err := page.FormWith("decision")
	if err != nil {
		return nil, err
	}
	form.Fields.Del("remember")
	return b.Submit(form, nil, "decision", "allow")
}

// noopAnswer is token-shaped: the length of a Gatehouse access token answer.
const noopAnswer = `{"access_token":"gate_at_AaImik-uBief4GMguQYiq0FxrLAd4ACjygP2VEz_tmZG7IXAgWM.Y8p160E7jiuMmQvafdpYBD1jOoVH94mAK5dL6RYljuw",` +
	`"expires_in":3599,"scope":"api:read","token_type":"bearer"}`

// serveNoop serves the no-op token endpoint until the process is stopped.
func serveNoop(args []string) error {
	fs := flag.NewFlagSet("gatehouse-load noop", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9090", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	body := []byte(noopAnswer)
	fmt.Fprintf(os.Stderr, "no-op token endpoint on http://%s/\n", *addr)
	return http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json;charset=UTF-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		_, _ = w.Write(body)
	}))
}
