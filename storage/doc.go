// Package storage holds Gatehouse's domain types and the interfaces that every
// persistence backend implements. It contains no SQL: the one implementation,
// for SQLite and PostgreSQL, lives in storage/gormstore, and the behaviour
// every backend must show is written down as tests in storage/conformance.
//
// Contracts that hold for every Store:
//   - Times are returned in UTC.
//   - A write that would break a uniqueness rule fails with ErrAlreadyExists;
//     a read or update of something absent fails with ErrNotFound. Callers
//     test with errors.Is.
//   - Update methods take a function from the current value to the new one and
//     apply it atomically, so no caller writes back a half-read row.
//   - The token methods follow the fosite storage contracts (see tokens.go).
package storage
