package server

import (
	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
)

// PasswordPolicy is the password policy the configuration asks for: the
// server's identity service and the command line's apply the same one.
func PasswordPolicy(cfg config.Config) identity.PasswordPolicy {
	return identity.PasswordPolicy{MinLength: int(cfg.PasswordMinLength)}
}
