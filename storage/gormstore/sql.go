package gormstore

import (
	"github.com/ory/fosite"
	"gorm.io/gorm/clause"
)

type fositeClient = fosite.Client

// lockForUpdate makes a PostgreSQL read take a row lock for the rest of the
// transaction. SQLite needs none: its write transactions are exclusive.
var lockForUpdate = clause.Locking{Strength: "UPDATE"}
