package federation

import "github.com/gatehouse-id/gatehouse/storage"

// nilStore satisfies Store for tests that never reach it.
type nilStore struct {
	storage.UserStore
	storage.IdentityStore
	storage.Transactor
	storage.RoleStore
}
