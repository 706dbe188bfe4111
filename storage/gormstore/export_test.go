package gormstore

// ExecForTest runs a statement; tests use it to create and drop schemas.
func (s *Store) ExecForTest(sql string) error { return s.write.Exec(sql).Error }
