package delivery

import (
	"net/http"
	"time"
)

// Endpoint policy defaults, used for the zero fields of an EndpointPolicy
// (config reads them from here for its defaults).
const (
	// DefaultEndpointInitial is the in-flight limit of an endpoint the
	// engine knows nothing about yet: enough to go fast at once, few
	// enough that an unknown slow receiver holds few slots.
	DefaultEndpointInitial = 4
	// DefaultEndpointMax caps any one endpoint's attempts in flight
	// across all workers, so that no receiver can take every slot.
	DefaultEndpointMax = 16
	// DefaultSlowAfter: an answer slower than this does not raise the
	// limit (the receiver is not keeping up).
	DefaultSlowAfter = time.Second
	// DefaultOpenAfter is the run of consecutive failures that opens the
	// circuit.
	DefaultOpenAfter = 10
	// DefaultCooldown is how long a newly opened circuit pauses the
	// endpoint before the first probe.
	DefaultCooldown = 5 * time.Second
	// DefaultMaxCooldown bounds the cooldown, which doubles with every
	// failed probe.
	DefaultMaxCooldown = 5 * time.Minute
	// DefaultMaxPause bounds a pause a receiver asks for with Retry-After.
	DefaultMaxPause = time.Hour
)

// EndpointPolicy tunes Adapt. Zero fields take the Default* values.
type EndpointPolicy struct {
	InitialLimit int           // limit of an endpoint without a state
	MaxLimit     int           // the limit never grows past this
	SlowAfter    time.Duration // a success at least this slow keeps the limit
	OpenAfter    int           // consecutive failures that open the circuit
	Cooldown     time.Duration // first pause of an open circuit
	MaxCooldown  time.Duration // longest pause of an open circuit
	MaxPause     time.Duration // longest pause a Retry-After gets
}

// withDefaults returns p with its zero fields set to the defaults.
func (p EndpointPolicy) withDefaults() EndpointPolicy {
	if p.MaxLimit <= 0 {
		p.MaxLimit = DefaultEndpointMax
	}
	if p.InitialLimit <= 0 {
		p.InitialLimit = DefaultEndpointInitial
	}
	p.InitialLimit = min(p.InitialLimit, p.MaxLimit)
	if p.SlowAfter <= 0 {
		p.SlowAfter = DefaultSlowAfter
	}
	if p.OpenAfter <= 0 {
		p.OpenAfter = DefaultOpenAfter
	}
	if p.Cooldown <= 0 {
		p.Cooldown = DefaultCooldown
	}
	if p.MaxCooldown <= 0 {
		p.MaxCooldown = DefaultMaxCooldown
	}
	p.MaxCooldown = max(p.MaxCooldown, p.Cooldown)
	if p.MaxPause <= 0 {
		p.MaxPause = DefaultMaxPause
	}
	return p
}

// Adapt returns an endpoint's state after one attempt's result res at now,
// a pure function so that the rules are testable alone and every worker
// applies the same ones:
//
//   - AIMD on the in-flight limit: a 2xx faster than p.SlowAfter adds one
//     (up to p.MaxLimit); a timeout, a connection failure (refused, DNS,
//     TLS), a 5xx or a 429 halves it (at least 1); anything else (a slow
//     2xx, another 4xx, a redirect) keeps it.
//   - A 429 or 503 with Retry-After pauses the whole endpoint until now +
//     Retry-After (at most p.MaxPause): the receiver asked every sender to
//     back off, not just this delivery.
//   - Failures counts consecutive failed attempts; a success resets it and
//     closes an open circuit.
//   - At p.OpenAfter consecutive failures the circuit opens: the endpoint
//     is paused for the cooldown (p.Cooldown, doubled by every failed
//     probe, at most p.MaxCooldown) with Limit 1, so that afterwards one
//     probe at a time goes out until one succeeds. Failures of attempts
//     that were in flight when it opened, arriving during the cooldown,
//     change nothing (they would otherwise double the cooldown each).
//
// A pause never shortens one already in state. A zero state (none stored
// yet) starts at p.InitialLimit, closed.
func Adapt(state EndpointState, res Result, now time.Time, p EndpointPolicy) EndpointState {
	p = p.withDefaults()
	if state.Limit <= 0 {
		state.Limit = p.InitialLimit
	}
	state.Limit = min(state.Limit, p.MaxLimit)
	if state.Circuit == "" {
		state.Circuit = CircuitClosed
	}
	code := 0
	if res.StatusCode != nil {
		code = *res.StatusCode
	}

	if res.ErrClass == "" {
		state.Failures = 0
		if state.Circuit == CircuitOpen {
			state.Circuit = CircuitClosed
		}
		if res.Duration < p.SlowAfter {
			state.Limit = min(state.Limit+1, p.MaxLimit)
		}
		return state
	}

	if res.RetryAfter > 0 && (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) {
		state.PausedUntil = later(state.PausedUntil, now.Add(min(res.RetryAfter, p.MaxPause)))
	}
	if state.Circuit == CircuitOpen && state.PausedUntil != nil && now.Before(*state.PausedUntil) {
		// An attempt sent before the circuit opened, failing during its
		// cooldown: the circuit knows already. Counting it would double
		// the cooldown once per attempt that was in flight.
		return state
	}
	if overloaded(res.ErrClass, code) {
		state.Limit = max(state.Limit/2, 1)
	}
	state.Failures++
	if state.Failures >= p.OpenAfter {
		state.Circuit = CircuitOpen
		state.Limit = 1
		state.PausedUntil = later(state.PausedUntil, now.Add(cooldown(state.Failures-p.OpenAfter, p)))
	}
	return state
}

// overloaded reports whether a failed attempt says the receiver (or the
// way to it) cannot take the load: timeouts, connection failures, 5xx and
// 429. Other failures are the receiver's verdict on the request.
func overloaded(class string, code int) bool {
	switch class {
	case ErrClassTimeout, ErrClassConnectionRefused, ErrClassDNS, ErrClassTLS:
		return true
	case ErrClassHTTP:
		return code >= 500 || code == http.StatusTooManyRequests
	}
	return false
}

// cooldown is the pause of an open circuit after reopened failed probes
// since it opened: p.Cooldown doubled that many times, at most
// p.MaxCooldown.
func cooldown(reopened int, p EndpointPolicy) time.Duration {
	d := p.Cooldown
	for range min(max(reopened, 0), 62) {
		if d >= p.MaxCooldown {
			break
		}
		d *= 2
	}
	return min(d, p.MaxCooldown)
}

// later returns the later of *a (nil is the earliest) and b, as a new
// pointer.
func later(a *time.Time, b time.Time) *time.Time {
	if a != nil && a.After(b) {
		v := *a
		return &v
	}
	return &b
}
