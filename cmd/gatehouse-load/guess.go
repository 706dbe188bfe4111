package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/browser"
)

// guessTally counts what the guessers got back.
type guessTally struct {
	evaluated, refused, other atomic.Int64
}

// guess runs the password-guessing scenario with workers guessers.
func (o options) guess(workers int) error {
	transport := &http.Transport{MaxIdleConnsPerHost: workers + 1}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	// The customer's browser signs in once: from then on it is a known
	// device of the account.
	customer := browser.New(o.issuer)
	customer.Client.Transport = transport
	if err := o.signInWith(client, customer, ""); err != nil {
		return fmt.Errorf("the customer's first sign-in: %w", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	var tally guessTally
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := o.guesser(ctx, transport, w, &tally); err != nil {
				once.Do(func() { firstErr = err })
			}
		}()
	}
	var ok, failed int
	var lastErr error
	tick := time.NewTicker(o.every)
customer:
	for {
		select {
		case <-ctx.Done():
			break customer
		case <-tick.C:
			if err := o.signInWith(client, customer, "login"); err != nil {
				failed++
				lastErr = err
			} else {
				ok++
			}
		}
	}
	tick.Stop()
	wg.Wait()
	minutes := time.Since(start).Minutes()
	fmt.Printf("guess: %s against %s from one address, %d guessers\n", time.Since(start).Round(time.Second), o.email, workers)
	fmt.Printf("  guesses evaluated: %d (%.1f/min)\n", tally.evaluated.Load(), float64(tally.evaluated.Load())/minutes)
	fmt.Printf("  guesses refused with 429: %d (%.1f/min)\n", tally.refused.Load(), float64(tally.refused.Load())/minutes)
	if n := tally.other.Load(); n > 0 {
		fmt.Printf("  other answers: %d\n", n)
	}
	fmt.Printf("  the customer's sign-ins from the known browser: %d succeeded, %d failed\n", ok, failed)
	if lastErr != nil {
		fmt.Printf("  the customer's last failure: %v\n", lastErr)
	}
	return firstErr
}

// guesser posts wrong passwords on one sign-in form until ctx ends; the
// form is fetched again when its pending request is gone.
func (o options) guesser(ctx context.Context, transport http.RoundTripper, n int, tally *guessTally) error {
	b := browser.New(o.issuer)
	b.Client.Transport = transport
	conf := oauth2.Config{ClientID: o.clientID, RedirectURL: o.redirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: o.issuer + "/oauth2/auth"}, Scopes: []string{"openid"}}
	var form *browser.Form
	for i := 0; ctx.Err() == nil; i++ {
		if form == nil {
			page, err := b.Get(conf.AuthCodeURL("guess", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			if err != nil {
				return err
			}
			f, err := page.FormWith("password")
			if err != nil {
				return fmt.Errorf("no sign-in form (status %d): %w", page.Status, err)
			}
			form = &f
		}
		guess := "wrong-" + strconv.Itoa(n) + "-" + strconv.Itoa(i)
		page, err := b.Submit(*form, url.Values{"email": {o.email}, "password": {guess}}, "", "")
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		switch page.Status {
		case http.StatusUnauthorized:
			tally.evaluated.Add(1)
		case http.StatusTooManyRequests:
			tally.refused.Add(1)
		case http.StatusBadRequest:
			form = nil // the pending request expired
		default:
			tally.other.Add(1)
		}
	}
	return nil
}
