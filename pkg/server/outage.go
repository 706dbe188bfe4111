package server

import "time"

// WithOutageLogEvery sets the least time between two warnings about a
// database outage (outage.DefaultLogEvery unless set). Tests set it long,
// so that a whole outage is one warning whatever the test's pace.
func WithOutageLogEvery(d time.Duration) Option {
	return func(o *options) { o.outageLogEvery = d }
}
