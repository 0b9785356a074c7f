package apikeys

import "time"

// OnTouch makes s report every finished last_used_at write to f. Set it
// before the first Authenticate.
func OnTouch(s *Service, f func(id string, at time.Time, err error)) {
	s.usage.written = func(t touch, err error) { f(t.id, t.at, err) }
}

// TouchQueue is the bound on queued last_used_at writes.
const TouchQueue = touchQueue
