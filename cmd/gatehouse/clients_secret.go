package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage"
)

// clientsRotateSecret gives a client a new secret and prints it once; the
// old secret stops working.
func (a *app) clientsRotateSecret(ctx context.Context, args []string) error {
	fs := a.newFlagSet("clients rotate-secret")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	id, err := parseOneID(fs, args, "CLIENT_ID")
	if err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	store, svc, err := a.openServices(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	plain, err := svc.Clients.RotateSecret(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("no client %q", id)
	case clients.IsInvalid(err):
		return usagef("client %s: %v", id, err)
	case err != nil:
		return err
	}
	if *output == "json" {
		return writeJSON(a.stdout, struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}{id, plain})
	}
	fmt.Fprintf(a.stdout, "client_id:     %s\nclient_secret: %s\n", id, plain)
	fmt.Fprintln(a.stdout, "The secret is shown only now; the old one no longer works.")
	return nil
}
