package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"time"

	"github.com/leadlex/api-gateway/config"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/delivery/sender"
	"github.com/leadlex/api-gateway/gateway/devsink"
	"github.com/leadlex/api-gateway/gateway/secretbox"
	"github.com/leadlex/api-gateway/gateway/urlcheck"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// errNoOutsideDNS is what names resolve to under DELIVERY_ALLOW_ONLY
// without DNS_SERVER: a test may not ask the machine's resolver.
var errNoOutsideDNS = errors.New("delivery guard: no DNS_SERVER, and the system resolver is off limits")

// guard carries the delivery guard of DELIVERY_ALLOW_ONLY to the sender and
// the resolvers: a refused outside destination is logged as an error with
// sender.GuardMessage (which the end-to-end harness fails a test on) and
// passed to Options.OnGuardViolation (which in-process tests fail on).
type guard struct {
	logger *slog.Logger
	hook   func(address string)
}

func (g guard) violation(address string) {
	g.logger.Error(sender.GuardMessage, "address", address)
	if g.hook != nil {
		g.hook(address)
	}
}

// resolver returns the resolver for URL checks and deliveries: DNS_SERVER
// when set (test-only); under DELIVERY_ALLOW_ONLY without it, one that
// refuses every lookup and reports it; else nil for the system's.
func (g guard) resolver(cfg *config.Config) *net.Resolver {
	if r := dnsResolver(cfg); r != nil || !cfg.Delivery.AllowOnly {
		return r
	}
	return &net.Resolver{PreferGo: true, Dial: func(_ context.Context, _, address string) (net.Conn, error) {
		g.violation("dns " + address)
		return nil, errNoOutsideDNS
	}}
}

// startDevSink starts the development sink of DEV_SINK, or returns nil when
// it is off. It verifies deliveries with the secrets this gateway's store
// holds for the webhooks registered at the sink's URLs.
func startDevSink(cfg *config.Config, store webhooks.Store, box *secretbox.Box, clock gateway.Clock) (*devsink.Sink, error) {
	if !cfg.DevSink {
		return nil, nil
	}
	lookup := func(ctx context.Context, workspaceID, url string) ([]string, error) {
		return sinkSecrets(ctx, store, box, clock.Now(), workspaceID, url)
	}
	return devsink.Start(devsink.Options{Addr: cfg.DevSinkAddr, Secrets: lookup, Now: clock.Now})
}

// sinkSecrets returns the open secrets of the workspace's webhooks
// registered at the sink URL raw: the current secret and, until it expires,
// the previous one.
func sinkSecrets(ctx context.Context, store webhooks.Store, box *secretbox.Box, now time.Time, workspaceID, raw string) ([]string, error) {
	called, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	var out []string
	const page = 100
	for offset := 0; ; offset += page {
		hooks, total, err := store.ListWebhooks(ctx, workspaceID, offset, page)
		if err != nil {
			return out, err
		}
		for _, w := range hooks {
			if !sameTarget(w.URL, called) {
				continue
			}
			aad := []byte(w.ID)
			if s, err := box.Open(w.SecretCiphertext, aad); err == nil {
				out = append(out, string(s))
			}
			if w.PreviousSecretCiphertext != "" && w.PreviousSecretExpiresAt != nil && now.Before(*w.PreviousSecretExpiresAt) {
				if s, err := box.Open(w.PreviousSecretCiphertext, aad); err == nil {
					out = append(out, string(s))
				}
			}
		}
		if offset+page >= total || len(hooks) == 0 {
			return out, nil
		}
	}
}

// sameTarget reports whether a webhook URL names the address (IP literal
// and port) and the path and query the sink was called at.
func sameTarget(raw string, called *url.URL) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	a, errA := netip.ParseAddrPort(u.Host)
	b, errB := netip.ParseAddrPort(called.Host)
	return errA == nil && errB == nil && a == b && u.RequestURI() == called.RequestURI()
}

// sinkURLs accepts URLs at exactly the sink's address (IP literal and port)
// besides what the configured checker accepts, so that in development a
// webhook can point at the sink and at nothing else on the machine.
type sinkURLs struct {
	sink   netip.AddrPort
	atSink *urlcheck.Checker // allows the sink's IP, used only for its URLs
	rest   webhooks.URLChecker
}

func newSinkURLs(sink *devsink.Sink, rest webhooks.URLChecker) webhooks.URLChecker {
	if sink == nil {
		return rest
	}
	ip := sink.AddrPort().Addr()
	return &sinkURLs{sink: sink.AddrPort(), rest: rest,
		atSink: &urlcheck.Checker{Allowed: []netip.Prefix{netip.PrefixFrom(ip, ip.BitLen())}}}
}

// Check validates raw with the sink's allowance when it names the sink's
// address and port, and with the configured checker otherwise.
func (c *sinkURLs) Check(ctx context.Context, raw string) (string, error) {
	if u, err := url.Parse(raw); err == nil {
		if ap, err := netip.ParseAddrPort(u.Host); err == nil && ap == c.sink {
			return c.atSink.Check(ctx, raw)
		}
	}
	return c.rest.Check(ctx, raw)
}
