package clients

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// RotateSecret gives a client that authenticates with a secret a new one
// and returns it in clear, once; the old secret stops working at once on
// this replica and within the client cache's lifetime on others. A client
// without a secret (public, or private_key_jwt) is an *InvalidError.
// Tokens issued before the rotation stay valid. It records client.updated
// (secret_rotated, never the secret) in the same transaction.
func (s *Service) RotateSecret(ctx context.Context, id string) (string, error) {
	plain := secret.NewRandomString(secretBytes)
	hash := s.secrets.HashClientSecret([]byte(plain))
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var rotated storage.Client
		err := s.store.UpdateClient(ctx, id, func(c storage.Client) (storage.Client, error) {
			if !usesSecret(c.GetTokenEndpointAuthMethod()) {
				return c, &InvalidError{"token_endpoint_auth_method", "the client authenticates without a secret"}
			}
			c.SecretHash = hash
			rotated = c
			return c, nil
		})
		if err != nil {
			return err
		}
		return s.record(ctx, events.ClientUpdated, rotated, true)
	})
	if err != nil {
		return "", fmt.Errorf("rotate secret of client %s: %w", id, err)
	}
	return plain, nil
}
