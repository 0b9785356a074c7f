package server

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// boundDial makes one dial the most a Redis call can spend on connecting:
// go-redis otherwise tries 5 times with 100 ms between tries, so that every
// call finding Redis dead took about 405 ms, and DialTimeout applies to
// each try. One try bounded by twice the Redis timeout is what the README
// promises; the fallback limiter and the idempotency middleware stop
// calling a dead Redis after that, and go-redis's pool redials in the
// background once a whole pool's worth of dials has failed.
func boundDial(opts *redis.Options, timeout time.Duration) {
	opts.DialTimeout = 2 * timeout
	opts.DialerRetries = 1
}
