package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is the in-process limiter: exact for one instance, not shared.
type Memory struct {
	mu       sync.Mutex
	subjects map[string]*memState
}

type memState struct {
	hits     []time.Time // accepted requests of the last minute, oldest first
	day      string
	dayCount int
}

// maxSubjects bounds memory; past it, idle subjects are dropped.
const maxSubjects = 100_000

// NewMemory returns an empty in-process limiter.
func NewMemory() *Memory { return &Memory{subjects: map[string]*memState{}} }

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, subject string, l Limits, now time.Time) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.subjects[subject]
	if st == nil {
		if len(m.subjects) >= maxSubjects {
			m.prune(now)
		}
		st = &memState{}
		m.subjects[subject] = st
	}
	today := dayStamp(now)
	if st.day != today {
		st.day, st.dayCount = today, 0
	}
	if l.PerDay > 0 && st.dayCount >= l.PerDay {
		return finish(Decision{Window: WindowDay}, l, st.dayCount, now), nil
	}
	if l.PerMinute > 0 {
		cut := 0
		for cut < len(st.hits) && !st.hits[cut].After(now.Add(-time.Minute)) {
			cut++
		}
		st.hits = st.hits[cut:]
		if len(st.hits) >= l.PerMinute {
			d := Decision{Window: WindowMinute, RetryAfter: st.hits[0].Add(time.Minute).Sub(now)}
			return finish(d, l, st.dayCount, now), nil
		}
		st.hits = append(st.hits, now)
	}
	st.dayCount++
	return finish(Decision{Allowed: true}, l, st.dayCount, now), nil
}

// prune drops subjects with no request in the last minute and no count today.
func (m *Memory) prune(now time.Time) {
	for k, st := range m.subjects {
		idle := len(st.hits) == 0 || !st.hits[len(st.hits)-1].After(now.Add(-time.Minute))
		if idle && (st.day != dayStamp(now) || st.dayCount == 0) {
			delete(m.subjects, k)
		}
	}
}
