// Package config reads the gateway's one typed configuration from the
// environment and validates it at start-up, naming the variable at fault.
// Defaults suit development; production refuses unsafe settings.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/plan"
)

// Environments.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Plan is a rate-limit plan's limits: requests allowed per minute and per
// UTC day. The plans and their defaults are gateway/plan's.
type Plan = plan.Limits

// Config is the whole configuration. Zero values never reach the server: Load
// fills defaults and validates.
type Config struct {
	Env      string // GATEWAY_ENV
	Port     int    // PORT
	BasePath string // BASE_PATH
	// PublicBaseURL is the origin portal links start with (PUBLIC_BASE_URL,
	// e.g. https://data.leadlex.com); empty means the request's own.
	PublicBaseURL string
	LogLevel      slog.Level
	// MetricsAddr is where /metrics listens (METRICS_ADDR, host:port such as
	// 127.0.0.1:9464 or :9464); empty turns metrics off. It is a listener of
	// its own so that the edge proxy, which forwards only PORT, never
	// exposes it.
	MetricsAddr string

	DatabaseURL            string // DATABASE_URL: selects the postgres store
	SupabaseURL            string // SUPABASE_URL
	SupabaseServiceRoleKey string // SUPABASE_SERVICE_ROLE_KEY
	RedisURL               string // REDIS_URL
	// RedisKeyPrefix namespaces every key the gateway writes, so that
	// environments (and test runs) can share one Redis without touching
	// each other's data.
	RedisKeyPrefix string // REDIS_KEY_PREFIX

	// SecretEncryptionKey is the 32-byte AES-256-GCM key for webhook secrets
	// and stored idempotent responses.
	SecretEncryptionKey []byte
	TrustedProxies      []netip.Prefix

	Plans map[string]Plan // RATE_LIMIT_<PLAN> = "perMinute/perDay"
	// IPLimitPerMinute bounds unauthenticated and failed-auth traffic per client IP.
	IPLimitPerMinute int

	MaxBodyBytes int64
	WebhookLimit int           // WEBHOOK_LIMIT per workspace
	KeyCacheTTL  time.Duration // how long a verified key is trusted without a store read
	StoreTimeout time.Duration // bound on every database call
	// DatabaseMaxConns is the postgres pool's size (DATABASE_MAX_CONNS):
	// pgxpool's default of 4 on a 2-core machine starves the engine.
	DatabaseMaxConns    int
	RedisTimeout        time.Duration // bound on every Redis call
	ShutdownTimeout     time.Duration
	IdempotencyTTL      time.Duration
	DevelopmentKeyPrint bool // print a development key at start (make run)
	// DevSink starts the development delivery sink inside `serve` (DEV_SINK,
	// set by `make run`): a local HTTPS receiver at DevSinkAddr, the one
	// non-public address deliveries may then reach. Refused in production.
	DevSink     bool
	DevSinkAddr string // DEV_SINK_ADDR: loopback host:port of the sink

	Delivery Delivery
}

// Delivery configures event delivery.
type Delivery struct {
	// RetrySchedule is the wait before each retry (DELIVERY_RETRY_SCHEDULE).
	RetrySchedule delivery.Schedule
	Timeout       time.Duration // DELIVERY_TIMEOUT: a whole attempt
	DisableAfter  time.Duration // DELIVERY_DISABLE_AFTER: auto-disable a webhook failing this long (0: never)
	Lease         time.Duration // DELIVERY_LEASE: how long a worker owns a claimed attempt (default DELIVERY_TIMEOUT + 15s)
	Concurrency   int           // DELIVERY_CONCURRENCY: attempts in flight per worker
	LogRetention  time.Duration // DELIVERY_LOG_RETENTION: how long attempts are kept
	// EndpointConcurrency caps one endpoint's attempts in flight across
	// all workers (DELIVERY_ENDPOINT_CONCURRENCY); EndpointInitial is the
	// limit an endpoint starts with before it adapts
	// (DELIVERY_ENDPOINT_INITIAL).
	EndpointConcurrency int
	EndpointInitial     int
	Batch               int           // DELIVERY_BATCH: deliveries per claim and outcomes per record batch
	PollInterval        time.Duration // DELIVERY_POLL_INTERVAL: an idle worker's claim interval without wake-ups
	// CircuitOpenAfter consecutive failures open an endpoint's circuit
	// (DELIVERY_CIRCUIT_OPEN_AFTER), pausing it for CircuitCooldown
	// (DELIVERY_CIRCUIT_COOLDOWN, doubled per failed probe up to
	// CircuitMaxCooldown, DELIVERY_CIRCUIT_MAX_COOLDOWN).
	CircuitOpenAfter   int
	CircuitCooldown    time.Duration
	CircuitMaxCooldown time.Duration
	// InProcess runs the worker inside `serve` (RUN_WORKER; default: in
	// development yes, in production no — run `gateway worker` instead).
	InProcess bool
	// Test-only settings, refused in production: addresses deliveries may
	// reach although not public, a CA for local HTTPS receivers, and a DNS
	// server for URL checks and deliveries.
	AllowCIDRs []netip.Prefix // DELIVERY_ALLOW_CIDRS
	CAFile     string         // DELIVERY_CA_FILE
	DNSServer  string         // DNS_SERVER, host:port
	// AllowOnly (DELIVERY_ALLOW_ONLY) makes AllowCIDRs the only delivery
	// destinations, public addresses included, and resolves names only
	// through DNSServer (none without it): the tests' guard against
	// reaching anything past the receivers they start.
	AllowOnly bool
}

// StoreKind says which persistence the configuration selects.
func (c *Config) StoreKind() string {
	switch {
	case c.DatabaseURL != "":
		return "postgres"
	case c.SupabaseURL != "":
		return "supabase"
	default:
		return "memory"
	}
}

// Production reports whether the gateway runs with production safety rules.
func (c *Config) Production() bool { return c.Env == EnvProduction }

// DefaultPlans are the contract's plan limits (gateway/plan's table).
func DefaultPlans() map[string]Plan { return plan.Defaults() }

// Load reads the configuration from getenv (os.Getenv in production, a map in
// tests) and validates it. All problems are reported together.
func Load(getenv func(string) string) (*Config, error) {
	p := parser{getenv: getenv}
	c := &Config{
		Env:                 p.oneOf("GATEWAY_ENV", EnvDevelopment, EnvDevelopment, EnvProduction),
		Port:                p.intRange("PORT", 8080, 1, 65535),
		BasePath:            p.str("BASE_PATH", "/functions/v1/api-gateway"),
		LogLevel:            p.level("LOG_LEVEL", slog.LevelInfo),
		DatabaseURL:         p.str("DATABASE_URL", ""),
		SupabaseURL:         p.str("SUPABASE_URL", ""),
		RedisURL:            p.str("REDIS_URL", ""),
		RedisKeyPrefix:      p.str("REDIS_KEY_PREFIX", "ll:"),
		IPLimitPerMinute:    p.intRange("IP_RATE_LIMIT_PER_MINUTE", 60, 1, 1_000_000),
		MaxBodyBytes:        int64(p.intRange("MAX_BODY_BYTES", 64<<10, 1024, 16<<20)),
		WebhookLimit:        p.intRange("WEBHOOK_LIMIT", 100, 1, 100_000),
		KeyCacheTTL:         p.duration("KEY_CACHE_TTL", 5*time.Second, 0, time.Minute),
		StoreTimeout:        p.duration("STORE_TIMEOUT", 5*time.Second, 10*time.Millisecond, time.Minute),
		DatabaseMaxConns:    p.intRange("DATABASE_MAX_CONNS", 16, 1, 1000),
		RedisTimeout:        p.duration("REDIS_TIMEOUT", 100*time.Millisecond, time.Millisecond, 10*time.Second),
		ShutdownTimeout:     p.duration("SHUTDOWN_TIMEOUT", 15*time.Second, 0, 10*time.Minute),
		IdempotencyTTL:      p.duration("IDEMPOTENCY_TTL", 24*time.Hour, time.Minute, 7*24*time.Hour),
		DevelopmentKeyPrint: p.boolean("DEV_PRINT_KEY", false),
		DevSink:             p.boolean("DEV_SINK", false),
		DevSinkAddr:         p.str("DEV_SINK_ADDR", "127.0.0.1:8443"),
		Plans:               DefaultPlans(),
	}
	c.Delivery = Delivery{
		Timeout:      p.duration("DELIVERY_TIMEOUT", 10*time.Second, 100*time.Millisecond, time.Minute),
		DisableAfter: p.duration("DELIVERY_DISABLE_AFTER", 72*time.Hour, 0, 365*24*time.Hour),
		Concurrency:  p.intRange("DELIVERY_CONCURRENCY", delivery.DefaultConcurrency, 1, 4096),
		LogRetention: p.duration("DELIVERY_LOG_RETENTION", delivery.DefaultRetention, time.Minute, 365*24*time.Hour),

		EndpointConcurrency: p.intRange("DELIVERY_ENDPOINT_CONCURRENCY", delivery.DefaultEndpointMax, 1, 1024),
		EndpointInitial:     p.intRange("DELIVERY_ENDPOINT_INITIAL", delivery.DefaultEndpointInitial, 1, 1024),
		Batch:               p.intRange("DELIVERY_BATCH", delivery.DefaultBatch, 1, 1000),
		PollInterval:        p.duration("DELIVERY_POLL_INTERVAL", delivery.DefaultPollInterval, 10*time.Millisecond, time.Minute),
		CircuitOpenAfter:    p.intRange("DELIVERY_CIRCUIT_OPEN_AFTER", delivery.DefaultOpenAfter, 1, 10000),
		CircuitCooldown:     p.duration("DELIVERY_CIRCUIT_COOLDOWN", delivery.DefaultCooldown, 10*time.Millisecond, time.Hour),
		CircuitMaxCooldown:  p.duration("DELIVERY_CIRCUIT_MAX_COOLDOWN", delivery.DefaultMaxCooldown, 10*time.Millisecond, 24*time.Hour),
		InProcess:           p.boolean("RUN_WORKER", c.Env == EnvDevelopment),
		CAFile:              p.str("DELIVERY_CA_FILE", ""),
		DNSServer:           p.str("DNS_SERVER", ""),
		AllowOnly:           p.boolean("DELIVERY_ALLOW_ONLY", false),
	}
	// The lease outlasts an attempt with room for recording it.
	c.Delivery.Lease = p.duration("DELIVERY_LEASE", c.Delivery.Timeout+delivery.LeaseMargin, time.Second, time.Hour)
	c.Delivery.RetrySchedule = p.schedule("DELIVERY_RETRY_SCHEDULE", delivery.DefaultSchedule)
	c.Delivery.AllowCIDRs = p.prefixes("DELIVERY_ALLOW_CIDRS")
	c.SupabaseServiceRoleKey = getenv("SUPABASE_SERVICE_ROLE_KEY")
	c.BasePath = "/" + strings.Trim(c.BasePath, "/")
	if c.BasePath == "/" {
		c.BasePath = ""
	}
	for name := range c.Plans {
		if v := getenv("RATE_LIMIT_" + strings.ToUpper(name)); v != "" {
			plan, err := parsePlan(v)
			if err != nil {
				p.errf("RATE_LIMIT_%s: %v", strings.ToUpper(name), err)
				continue
			}
			c.Plans[name] = plan
		}
	}
	if v := getenv("SECRET_ENCRYPTION_KEY"); v != "" {
		k, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(k) != 32 {
			p.errf("SECRET_ENCRYPTION_KEY: must be the base64 encoding of exactly 32 bytes (generate one with: openssl rand -base64 32)")
		} else {
			c.SecretEncryptionKey = k
		}
	}
	c.TrustedProxies = p.prefixes("TRUSTED_PROXIES")
	c.MetricsAddr = p.listenAddr("METRICS_ADDR")
	c.PublicBaseURL = publicBaseURL(&p, getenv("PUBLIC_BASE_URL"), c.Env == EnvProduction)
	c.validate(&p)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return c, nil
}

// FromEnvironment loads the configuration from the process environment.
func FromEnvironment() (*Config, error) { return Load(os.Getenv) }

func (c *Config) validate(p *parser) {
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			p.errf("DATABASE_URL: must be a postgres:// URL")
		}
		if c.SupabaseURL != "" {
			p.errf("DATABASE_URL and SUPABASE_URL: set only one; each selects a store")
		}
	}
	if c.SupabaseURL != "" {
		if u, err := url.Parse(c.SupabaseURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			p.errf("SUPABASE_URL: must be an http(s) URL such as https://<project>.supabase.co")
		} else if c.Production() && u.Scheme != "https" {
			p.errf("SUPABASE_URL: must use https in production")
		}
		if c.SupabaseServiceRoleKey == "" {
			p.errf("SUPABASE_SERVICE_ROLE_KEY: required when SUPABASE_URL is set")
		}
	}
	if c.Delivery.Lease <= c.Delivery.Timeout {
		p.errf("DELIVERY_LEASE: must be longer than DELIVERY_TIMEOUT (%s), or a slow attempt could be sent twice", c.Delivery.Timeout)
	}
	if c.Delivery.EndpointInitial > c.Delivery.EndpointConcurrency {
		p.errf("DELIVERY_ENDPOINT_INITIAL: must not exceed DELIVERY_ENDPOINT_CONCURRENCY (%d)", c.Delivery.EndpointConcurrency)
	}
	if c.Delivery.CircuitMaxCooldown < c.Delivery.CircuitCooldown {
		p.errf("DELIVERY_CIRCUIT_MAX_COOLDOWN: must be at least DELIVERY_CIRCUIT_COOLDOWN (%s)", c.Delivery.CircuitCooldown)
	}
	if c.Delivery.DNSServer != "" {
		if _, _, err := net.SplitHostPort(c.Delivery.DNSServer); err != nil {
			p.errf("DNS_SERVER: must be host:port, got %q", c.Delivery.DNSServer)
		}
	}
	c.validateDev(p)
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			p.errf("REDIS_URL: must be a redis:// or rediss:// URL")
		}
	}
	if c.Production() {
		if c.StoreKind() == "memory" {
			p.errf("DATABASE_URL or SUPABASE_URL: production needs a database; the in-memory store loses everything on restart")
		}
		if c.RedisURL == "" {
			p.errf("REDIS_URL: production needs Redis; in-process rate limits are not shared between instances")
		}
		if c.SecretEncryptionKey == nil {
			p.errf("SECRET_ENCRYPTION_KEY: production needs an encryption key for webhook secrets")
		}
		if c.DevelopmentKeyPrint {
			p.errf("DEV_PRINT_KEY: not allowed in production")
		}
		if len(c.Delivery.AllowCIDRs) > 0 {
			p.errf("DELIVERY_ALLOW_CIDRS: test-only, not allowed in production: deliveries must reach only public addresses")
		}
		if c.Delivery.CAFile != "" {
			p.errf("DELIVERY_CA_FILE: test-only, not allowed in production")
		}
		if c.Delivery.DNSServer != "" {
			p.errf("DNS_SERVER: test-only, not allowed in production")
		}
	}
}

// validateDev checks the development and test-only delivery settings:
// the sink listens only on a loopback address, and production refuses them
// all, since each opens a way for deliveries to reach a non-public address
// or takes the safety net's decisions away from the public-address policy.
func (c *Config) validateDev(p *parser) {
	if ap, err := netip.ParseAddrPort(c.DevSinkAddr); err != nil || !ap.Addr().IsLoopback() {
		p.errf("DEV_SINK_ADDR: must be a loopback address and port such as 127.0.0.1:8443, got %q", c.DevSinkAddr)
	}
	if c.DevSink && c.RedisURL != "" && !c.Delivery.InProcess {
		p.errf("DEV_SINK: only the worker inside serve may reach the sink; set RUN_WORKER=true")
	}
	if !c.Production() {
		return
	}
	if c.DevSink {
		p.errf("DEV_SINK: development only, not allowed in production")
	}
	if strings.TrimSpace(p.getenv("DEV_SINK_ADDR")) != "" {
		p.errf("DEV_SINK_ADDR: development only, not allowed in production")
	}
	if c.Delivery.AllowOnly {
		p.errf("DELIVERY_ALLOW_ONLY: test-only, not allowed in production")
	}
}

// prefixes reads a comma-separated list of CIDRs or single addresses.
func (p *parser) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range strings.Split(p.getenv(name), ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				p.errf("%s: %q is not a CIDR or an IP address", name, s)
				continue
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, pfx.Masked())
	}
	return out
}

// schedule reads a retry schedule with delivery.ParseSchedule, the one
// reader of schedules, e.g. "5s,30s,5m,1h,6h".
func (p *parser) schedule(name string, def delivery.Schedule) delivery.Schedule {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	s, err := delivery.ParseSchedule(v)
	if err != nil {
		p.errf("%s: want positive durations of at most %s separated by commas, e.g. %s; %v", name, delivery.MaxStep, def, err)
		return nil
	}
	return s
}

func parsePlan(v string) (Plan, error) {
	m, d, ok := strings.Cut(v, "/")
	if !ok {
		return Plan{}, fmt.Errorf("want PER_MINUTE/PER_DAY, e.g. 10/100, got %q", v)
	}
	pm, err1 := strconv.Atoi(strings.TrimSpace(m))
	pd, err2 := strconv.Atoi(strings.TrimSpace(d))
	if err1 != nil || err2 != nil || pm < 1 || pd < 1 {
		return Plan{}, fmt.Errorf("want two positive integers PER_MINUTE/PER_DAY, got %q", v)
	}
	return Plan{PerMinute: pm, PerDay: pd}, nil
}

// parser collects every problem so that one start-up attempt reports them all.
type parser struct {
	getenv func(string) string
	errs   []error
}

// listenAddr reads an optional host:port to listen on.
func (p *parser) listenAddr(name string) string {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(v)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		p.errf("%s: must be host:port or :port, such as 127.0.0.1:9464 (got %q)", name, v)
		return ""
	}
	return v
}

func (p *parser) errf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) oneOf(name, def string, allowed ...string) string {
	v := p.str(name, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.errf("%s: must be one of %s, got %q", name, strings.Join(allowed, ", "), v)
	return def
}

func (p *parser) intRange(name string, def, lo, hi int) int {
	return inRange(p, name, def, lo, hi, strconv.Atoi, "an integer", "")
}

func (p *parser) duration(name string, def, lo, hi time.Duration) time.Duration {
	return inRange(p, name, def, lo, hi, time.ParseDuration, "a duration", " (e.g. 5s)")
}

// inRange reads name with parse, def when it is unset, and reports a value
// that does not parse or lies outside lo to hi as "must be <what> from lo
// to hi<example>", taking def then.
func inRange[T int | time.Duration](p *parser, name string, def, lo, hi T, parse func(string) (T, error), what, example string) T {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	n, err := parse(v)
	if err != nil || n < lo || n > hi {
		p.errf("%s: must be %s from %v to %v%s, got %q", name, what, lo, hi, example, v)
		return def
	}
	return n
}

func (p *parser) boolean(name string, def bool) bool {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.errf("%s: must be true or false, got %q", name, v)
		return def
	}
	return b
}

func (p *parser) level(name string, def slog.Level) slog.Level {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		p.errf("%s: must be debug, info, warn or error, got %q", name, v)
		return def
	}
	return l
}
