package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/leadlex/api-gateway/config"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/plan"
	"github.com/leadlex/api-gateway/gateway/server"
	"github.com/leadlex/api-gateway/routes"
)

// The servers, in the order they are measured.
const (
	phaseBare      = "bare"
	phaseRedisRate = "bare+redis_rate"
	phaseChain     = "chain"
	// phaseMetrics is the chain with metrics on (METRICS_ADDR set): what
	// recording every request, store call and limiter decision costs.
	phaseMetrics = "chain+metrics"
	// phaseRedisDown is the chain on a gateway whose REDIS_URL points at a
	// closed local port: what a dead Redis costs once limits fell back.
	phaseRedisDown = "chain redis-down"
	phaseCreate    = "create"
)

const (
	// basePath is the gateway's default base path; the bare servers mount
	// their route under it too, so that every router does the same work.
	basePath = "/functions/v1/api-gateway"
	pingPath = basePath + "/v1/bench/ping"
	// webhookLimit is the highest WEBHOOK_LIMIT the configuration accepts.
	// Each create worker has a workspace of its own and stays under it.
	webhookLimit = 100_000
	// limiterPrefix is where server.New keeps its rate-limit keys in Redis.
	limiterPrefix = "ll:rl:"
	// redisRatePrefix is where redis_rate keeps its keys.
	redisRatePrefix = "rate:"
)

// pingBody is what every ping handler answers.
var pingBody = map[string]any{"data": struct{}{}}

// ping is the handler of the three GET servers.
func ping(c echo.Context) error { return c.JSON(http.StatusOK, pingBody) }

// benchModule is the gateway module of the chain phase: one route that does
// nothing, so that what is measured is the gateway in front of it.
type benchModule struct{}

var _ routes.Module = benchModule{}

// Name implements routes.Module.
func (benchModule) Name() string { return "loadbench" }

// Routes implements routes.Module.
func (benchModule) Routes() []routes.Route {
	return []routes.Route{{
		Method:     http.MethodGet,
		Path:       "/v1/bench/ping",
		Permission: gateway.PermWebhooksRead,
		Handler:    ping,
		Summary:    "Benchmark no-op",
	}}
}

// phase is one server under load.
type phase struct {
	name   string
	target *target
	// keyIDs are the gateway API keys the phase authenticates with. Every
	// successful answer must have been one rate-limit decision made in Redis
	// under one of them; fewer means the limiter fell back to in-process
	// limits and the phase measured less than the real chain.
	keyIDs []string
	// probes counts the requests setup sent to check the server.
	probes int64
	// pool, when set, is the gateway's database pool; its statistics over
	// the measured period are reported.
	pool *pgxpool.Pool
}

// bench holds everything a run set up, and how to take it down again.
type bench struct {
	opts   options
	stderr io.Writer
	phases []*phase

	runID    string
	clientIP string // the X-Forwarded-For address of every request
	redis    *redis.Client
	// redisPatterns match every Redis key the run may have created; they
	// are deleted at the end.
	redisPatterns []string
	// gatewayBin is the gateway binary the delivery scenarios run.
	gatewayBin string
	// warnings counts gateway log records at Warn and above.
	warnings atomic.Int64
	cleanups []func()
}

// onClose registers f to run at the end, before what was registered
// earlier.
func (b *bench) onClose(f func()) { b.cleanups = append(b.cleanups, f) }

// close runs the cleanups in reverse order of registration: servers stop,
// then the gateway closes its pools, then the database is dropped and the
// Redis keys are deleted.
func (b *bench) close() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
	b.cleanups = nil
}

// warnf reports a problem met while cleaning up; the run's results stand.
func (b *bench) warnf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "loadbench: "+format+"\n", args...)
}

// setup starts the four servers and prepares their phases, and finds (or
// builds) the gateway binary when a delivery scenario needs it. The returned
// bench is non-nil whenever something was set up, also on error, and must
// then be closed.
func setup(ctx context.Context, opts options, stderr io.Writer) (*bench, error) {
	b := &bench{opts: opts, stderr: stderr}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("random run id: %w", err)
	}
	b.runID = hex.EncodeToString(id)
	// An address from the documentation range (RFC 3849), unique to the
	// run: the gateway's per-IP limiter keys are then the run's own too.
	ip := [16]byte{0x20, 0x01, 0x0d, 0xb8}
	copy(ip[4:12], id)
	ip[15] = 1
	b.clientIP = netip.AddrFrom16(ip).String()

	if err := b.openRedis(ctx); err != nil {
		return b, err
	}
	dbURL, err := b.createDatabase(ctx)
	if err != nil {
		return b, err
	}

	headers := http.Header{}
	headers.Set("X-Forwarded-For", b.clientIP)

	bareURL, err := b.serveHandler(newEcho(ping))
	if err != nil {
		return b, err
	}
	rateURL, err := b.serveHandler(newEcho(b.redisRateHandler()))
	if err != nil {
		return b, err
	}
	gw, err := b.startGateway(ctx, dbURL, nil)
	if err != nil {
		return b, err
	}

	chainKey, err := b.issueKey(ctx, gw, gateway.PermWebhooksRead)
	if err != nil {
		return b, err
	}
	// Metrics need only the registry here (no listener: nothing scrapes
	// during the run), which METRICS_ADDR's presence turns on.
	withMetrics, err := b.startGateway(ctx, dbURL, map[string]string{"METRICS_ADDR": "127.0.0.1:0"})
	if err != nil {
		return b, err
	}
	metricsKey, err := b.issueKey(ctx, withMetrics, gateway.PermWebhooksRead)
	if err != nil {
		return b, err
	}
	metricsHeaders := headers.Clone()
	metricsHeaders.Set(echo.HeaderAuthorization, "Bearer "+metricsKey.plain)
	deadRedis, err := closedRedisURL()
	if err != nil {
		return b, err
	}
	// Its logs are discarded: it reports Redis down, as it should.
	down, err := b.startGatewayLogging(ctx, dbURL, map[string]string{"REDIS_URL": deadRedis}, slog.New(slog.DiscardHandler))
	if err != nil {
		return b, err
	}
	chainHeaders := headers.Clone()
	chainHeaders.Set(echo.HeaderAuthorization, "Bearer "+chainKey.plain)
	// The bare servers get the same headers, which they ignore, so that the
	// three GET phases parse identical requests.
	b.phases = append(b.phases,
		&phase{name: phaseBare, target: getTarget(bareURL+pingPath, chainHeaders)},
		&phase{name: phaseRedisRate, target: getTarget(rateURL+pingPath, chainHeaders)},
		&phase{name: phaseChain, target: getTarget(gw.url+pingPath, chainHeaders), keyIDs: []string{chainKey.id}},
		&phase{name: phaseMetrics, target: getTarget(withMetrics.url+pingPath, metricsHeaders), keyIDs: []string{metricsKey.id}},
		&phase{name: phaseRedisDown, target: getTarget(down.url+pingPath, chainHeaders)},
	)

	create := &phase{name: phaseCreate, pool: gw.app.Stores.Pool}
	auth := make([]string, opts.concurrency)
	for i := range auth {
		k, err := b.issueKey(ctx, gw, gateway.PermWebhooksWrite)
		if err != nil {
			return b, err
		}
		auth[i] = "Bearer " + k.plain
		create.keyIDs = append(create.keyIDs, k.id)
	}
	create.target = createTarget(gw.url+basePath+"/v1/webhooks", headers, auth)
	b.phases = append(b.phases, create)

	// One request each before any load, so that a misconfigured server
	// fails setup with its answer instead of producing a table of errors.
	for _, p := range b.phases {
		if err := b.probe(ctx, p); err != nil {
			return b, err
		}
	}
	if slices.ContainsFunc(opts.scenarios, func(s string) bool { return s != scenCeiling && s != scenPlain }) {
		if err := b.setupBinary(ctx); err != nil {
			return b, err
		}
	}
	return b, nil
}

// setupBinary finds the gateway binary for the delivery scenarios: the
// -gateway-bin one, or one built from this module into a temporary
// directory that is removed at the end.
func (b *bench) setupBinary(ctx context.Context) error {
	if b.opts.gatewayBin != "" {
		b.gatewayBin = b.opts.gatewayBin
		return nil
	}
	dir, err := os.MkdirTemp("", "gwbench-bin-")
	if err != nil {
		return err
	}
	b.onClose(func() { _ = os.RemoveAll(dir) })
	fmt.Fprintf(b.stderr, "loadbench: building the gateway binary for the delivery scenarios\n")
	b.gatewayBin, err = buildGateway(ctx, dir, b.stderr)
	return err
}

// probe sends one request of phase p and checks the answer.
func (b *bench) probe(ctx context.Context, p *phase) error {
	tr := newTransport(1)
	defer tr.CloseIdleConnections()
	res := drive(ctx, tr, p.target, 1, 10*time.Second, 1)
	if res.ok != 1 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted: %w", err)
		}
		return fmt.Errorf("%s: the first request was answered wrongly: %v", p.name, res.samples)
	}
	p.probes++
	return nil
}

// openRedis connects to Redis and arranges for the run's keys to be deleted
// at the end.
func (b *bench) openRedis(ctx context.Context) error {
	ropts, err := redis.ParseURL(b.opts.redisURL)
	if err != nil {
		return fmt.Errorf("redis URL: %w", err)
	}
	b.redis = redis.NewClient(ropts)
	b.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, pattern := range b.redisPatterns {
			if _, err := deleteMatching(ctx, b.redis, pattern); err != nil {
				b.warnf("delete Redis keys %s: %v", pattern, err)
			}
		}
		_ = b.redis.Close()
	})
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := b.redis.Ping(pctx).Err(); err != nil {
		return fmt.Errorf("cannot reach Redis at %s: %w", ropts.Addr, err)
	}
	b.redisPatterns = append(b.redisPatterns, limiterPrefix+"{ip:"+b.clientIP+"}:*")
	return nil
}

// redisRateHandler returns the ping handler behind one redis_rate decision
// on a key of this run, with a limit no run can reach.
func (b *bench) redisRateHandler() echo.HandlerFunc {
	limiter := redis_rate.NewLimiter(b.redis)
	key := "gwbench:" + b.runID + ":ping"
	b.redisPatterns = append(b.redisPatterns, redisRatePrefix+key)
	limit := redis_rate.PerMinute(1_000_000_000)
	return func(c echo.Context) error {
		res, err := limiter.Allow(c.Request().Context(), key, limit)
		if err != nil {
			return c.JSON(http.StatusInternalServerError, map[string]string{"error": err.Error()})
		}
		if res.Allowed < 1 {
			return c.JSON(http.StatusTooManyRequests, map[string]string{"error": "rate limited"})
		}
		return ping(c)
	}
}

// newEcho returns a bare echo server with h on the ping route.
func newEcho(h echo.HandlerFunc) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET(pingPath, h)
	return e
}

// listen opens a listener on a free port of 127.0.0.1 and returns it with
// its base URL.
func listen() (net.Listener, string, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok || !addr.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		_ = ln.Close()
		return nil, "", fmt.Errorf("listener is on %s, not 127.0.0.1", ln.Addr())
	}
	return ln, "http://127.0.0.1:" + strconv.Itoa(addr.Port), nil
}

// serveHandler serves h on a new loopback listener until the end of the run
// and returns its base URL.
func (b *bench) serveHandler(h http.Handler) (string, error) {
	ln, base, err := listen()
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(ln) }()
	b.onClose(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			b.warnf("stop a bare server: %v", err)
		}
	})
	return base, nil
}

// gatewayServer is the running real gateway.
type gatewayServer struct {
	app *server.App
	url string
}

// startGateway assembles the real gateway on the throwaway database and
// serves it on a loopback listener. extra adds to (or overrides) the
// benchmark's configuration.
func (b *bench) startGateway(ctx context.Context, dbURL string, extra map[string]string) (*gatewayServer, error) {
	return b.startGatewayLogging(ctx, dbURL, extra, slog.New(newLogSink(b.opts.logLevel, b.stderr, &b.warnings)))
}

// closedRedisURL returns a redis:// URL at a local port nothing listens on.
func closedRedisURL() (string, error) {
	ln, base, err := listen()
	if err != nil {
		return "", err
	}
	if err := ln.Close(); err != nil {
		return "", err
	}
	return "redis" + strings.TrimPrefix(base, "http"), nil
}

// startGatewayLogging is startGateway with the gateway's logs going to
// logger.
func (b *bench) startGatewayLogging(ctx context.Context, dbURL string, extra map[string]string, logger *slog.Logger) (*gatewayServer, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("random encryption key: %w", err)
	}
	level, _ := b.opts.logLevel.MarshalText()
	env := map[string]string{
		"GATEWAY_ENV":  config.EnvDevelopment,
		"LOG_LEVEL":    string(level),
		"BASE_PATH":    basePath,
		"DATABASE_URL": dbURL,
		"REDIS_URL":    b.opts.redisURL,
		// Plans so high that no request is refused; the limiter still makes
		// its full decision in Redis for every request.
		"RATE_LIMIT_ORG": "100000000/1000000000",
		// Raised too: each time a key's cache entry expires, every request
		// then in flight with it goes through the per-IP limiter, and with
		// the default of 60 a minute the workers would soon be refused.
		"IP_RATE_LIMIT_PER_MINUTE": "1000000",
		"WEBHOOK_LIMIT":            strconv.Itoa(webhookLimit),
		"SECRET_ENCRYPTION_KEY":    base64.StdEncoding.EncodeToString(secret),
		// The load generator is the gateway's trusted proxy and names a
		// client address of this run's own in X-Forwarded-For.
		"TRUSTED_PROXIES":  "127.0.0.1",
		"SHUTDOWN_TIMEOUT": "5s",
		// The tests' delivery guard (test-only, refused in production):
		// only DELIVERY_ALLOW_CIDRS may be reached, so the create phase's
		// webhooks at a public address, and anything else a phase might
		// publish to by mistake, are refused before connect and logged as
		// an error, which the bench's last check reports.
		"DELIVERY_ALLOW_ONLY": "true",
	}
	maps.Copy(env, extra)
	cfg, err := config.Load(func(name string) string { return env[name] })
	if err != nil {
		return nil, fmt.Errorf("gateway configuration: %w", err)
	}
	app, err := server.New(ctx, cfg, logger, server.Options{ExtraModules: []routes.Module{benchModule{}}, LogOutput: io.Discard})
	if err != nil {
		return nil, fmt.Errorf("assemble the gateway: %w", err)
	}
	b.onClose(app.Close)

	ln, base, err := listen()
	if err != nil {
		return nil, err
	}
	serveCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(serveCtx, ln) }()
	b.onClose(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				b.warnf("stop the gateway: %v", err)
			}
		case <-time.After(10 * time.Second):
			b.warnf("the gateway did not stop within 10s")
		}
	})
	return &gatewayServer{app: app, url: base}, nil
}

// issuedKey is an API key of the run.
type issuedKey struct{ id, plain string }

// issueKey creates a key with one permission, on the org plan at the
// standard tier, in a workspace of its own, and marks its limiter keys for
// deletion.
func (b *bench) issueKey(ctx context.Context, gw *gatewayServer, perm gateway.Permission) (issuedKey, error) {
	return b.issueKeyIn(ctx, gw, uuid.NewString(), perm)
}

// issueKeyIn creates a key with perms, on the org plan at the standard
// tier, in workspace, and marks its limiter keys for deletion.
func (b *bench) issueKeyIn(ctx context.Context, gw *gatewayServer, workspace string, perms ...gateway.Permission) (issuedKey, error) {
	k, plain, err := gw.app.Keys.Create(ctx, apikeys.CreateParams{
		WorkspaceID: workspace,
		Name:        "loadbench " + b.runID,
		Permissions: perms,
		Plan:        "org",
		Tier:        plan.TierStandard,
	})
	if err != nil {
		return issuedKey{}, fmt.Errorf("issue an API key: %w", err)
	}
	b.redisPatterns = append(b.redisPatterns, limiterPrefix+"{key:"+k.ID+"}:*")
	return issuedKey{id: k.ID, plain: plain}, nil
}

// getTarget sends GET url with headers and wants 200 {"data":{}}. Each
// worker reuses one request: the transport does not modify it.
func getTarget(url string, headers http.Header) *target {
	return &target{
		want:       http.StatusOK,
		wantPrefix: []byte(`{"data":{}}`),
		newWorker: func(ctx context.Context, _ int) func() (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err == nil {
				req.Header = headers.Clone()
			}
			return func() (*http.Request, error) { return req, err }
		},
	}
}

// createTarget posts a new webhook with a URL never used before to url and
// wants 201. Worker w authenticates with auth[w], a key of a workspace of
// its own, and sends fewer than half the workspace limit per period, so
// that the probe, warm-up and measurement together never reach it.
func createTarget(url string, headers http.Header, auth []string) *target {
	var seq atomic.Int64
	return &target{
		want:         http.StatusCreated,
		wantPrefix:   []byte(`{"data":{"webhook":{`),
		maxPerWorker: (webhookLimit - 1) / 2,
		newWorker: func(ctx context.Context, w int) func() (*http.Request, error) {
			h := headers.Clone()
			h.Set(echo.HeaderAuthorization, auth[w])
			h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
			return func() (*http.Request, error) {
				body := fmt.Appendf(nil, `{"url":"https://93.184.215.14/bench/%d","events":["contact.created"]}`, seq.Add(1))
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					return nil, err
				}
				req.Header = h
				return req, nil
			}
		},
	}
}
