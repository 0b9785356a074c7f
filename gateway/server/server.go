// Package server assembles the gateway from its configuration: it opens the
// stores and Redis, builds the services, applies the middleware in order and
// mounts every route module under the base path with auth, rate limits and
// permission checks taken from the routes' own declarations. It is the one
// place where wiring happens.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/leadlex/api-gateway/config"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/devsink"
	"github.com/leadlex/api-gateway/gateway/idempotency"
	"github.com/leadlex/api-gateway/gateway/metrics"
	"github.com/leadlex/api-gateway/gateway/plan"
	"github.com/leadlex/api-gateway/gateway/ratelimit"
	"github.com/leadlex/api-gateway/gateway/urlcheck"
	"github.com/leadlex/api-gateway/gateway/webhooks"
	"github.com/leadlex/api-gateway/middleware"
	"github.com/leadlex/api-gateway/routes"
	apikeysroute "github.com/leadlex/api-gateway/routes/apikeys"
	"github.com/leadlex/api-gateway/routes/events"
	"github.com/leadlex/api-gateway/routes/openapi"
	"github.com/leadlex/api-gateway/routes/portal"
	webhooksroute "github.com/leadlex/api-gateway/routes/webhooks"
	"github.com/redis/go-redis/v9"
)

// App is an assembled gateway.
type App struct {
	Echo    *echo.Echo
	Config  *config.Config
	Keys    *apikeys.Service
	Stores  *Stores
	Redis   *redis.Client // nil without REDIS_URL
	Limiter middleware.Limiter
	// Engine delivers events; RunWorker runs it.
	Engine *delivery.Engine
	// Sink is the development delivery sink (DEV_SINK), nil when off.
	Sink *devsink.Sink
	// Metrics is the registry /metrics serves (METRICS_ADDR), nil when off.
	Metrics *metrics.Metrics
	logger  *slog.Logger
	ready   atomic.Bool
	// backlogWatched makes RunWorker export the backlog once.
	backlogWatched sync.Once
}

// Options adjust an assembly; the zero value is production behaviour.
type Options struct {
	// Clock replaces the system clock (tests).
	Clock gateway.Clock
	// Resolver replaces DNS for URL checks (tests bring their own).
	Resolver urlcheck.Resolver
	// ExtraModules are mounted after the built-in ones (benchmarks, tests).
	ExtraModules []routes.Module
	// LogOutput receives the access log; nil means os.Stdout, where the
	// other logs go too.
	LogOutput io.Writer
	// OnGuardViolation is called when DELIVERY_ALLOW_ONLY stops a delivery
	// or a lookup that would have left the allowed addresses; in-process
	// tests fail on it.
	OnGuardViolation func(address string)
}

func (o Options) logOutput() io.Writer {
	if o.LogOutput == nil {
		return os.Stdout
	}
	return o.LogOutput
}

// New assembles the gateway. Close releases what it opened.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, opts Options) (*App, error) {
	clock := opts.Clock
	if clock == nil {
		clock = gateway.SystemClock{}
	}
	// Request IDs and resource ids come from a pool of crypto/rand bytes
	// rather than one read per id.
	uuid.EnableRandPool()
	stores, err := OpenStores(ctx, cfg)
	if err != nil {
		return nil, err
	}
	app := &App{Config: cfg, Stores: stores, logger: logger}
	// Every store call is observed when metrics or tracing are on: their
	// setup fills obs before stores.observe looks at it.
	obs := &storeObserver{}
	if cfg.MetricsAddr != "" {
		app.Metrics = metrics.New()
		obs.ended = app.Metrics.StoreCall
	}
	stores.observe(obs)
	box, err := openBox(cfg, logger)
	if err != nil {
		stores.Close()
		return nil, err
	}

	var local = ratelimit.NewMemory()
	counted := &ratelimit.Counted{Limiter: local}
	var limiter middleware.Limiter = counted
	var fallback *ratelimit.Fallback
	var idem middleware.IdempotencyStore = idempotency.NewMemory()
	if cfg.RedisURL != "" {
		app.Redis, err = openRedis(cfg)
		if err != nil {
			stores.Close()
			return nil, err
		}
		shared := ratelimit.NewRedis(app.Redis, cfg.RedisKeyPrefix+"rl:")
		if err := shared.Load(ctx); err != nil {
			logger.Warn("redis not reachable at start; rate limits are per instance until it is", "error", err.Error())
		}
		fallback = &ratelimit.Fallback{Primary: shared, Secondary: local, Cooldown: time.Second, Logger: logger}
		limiter = fallback
		idem = idempotency.NewRedis(app.Redis, cfg.RedisKeyPrefix+"idem:")
	}
	app.Limiter = limiter

	app.Keys = apikeys.NewService(stores, clock, plan.Names(), cfg.KeyCacheTTL)

	g := guard{logger: logger, hook: opts.OnGuardViolation}
	if app.Sink, err = startDevSink(cfg, stores, box, clock); err != nil {
		app.Close()
		return nil, fmt.Errorf("DEV_SINK: %w", err)
	}
	deliveries, engine, err := buildDelivery(cfg, logger, clock, stores, box, g, app.Sink, app.Redis)
	if err != nil {
		app.Close()
		return nil, err
	}
	app.Engine = engine
	if m := app.Metrics; m != nil {
		engine.Observer = m
		m.WatchEngine(engine)
		m.WatchPublisher(deliveries)
		m.WatchKeys(app.Keys)
		m.WatchLimiter(limiterState(counted, fallback))
		m.WatchHealth(app.health)
	}
	resolver := opts.Resolver
	if r := g.resolver(cfg); r != nil && resolver == nil {
		resolver = r
	}

	hooks := &webhooks.Service{
		Store:  stores,
		URLs:   newSinkURLs(app.Sink, &urlcheck.Checker{Resolver: resolver, Allowed: cfg.Delivery.AllowCIDRs}),
		Sealer: box,
		Clock:  clock,
		Limit:  cfg.WebhookLimit,
	}
	modules := []routes.Module{
		&webhooksroute.Module{BasePath: cfg.BasePath, Deliveries: deliveries, Service: hooks},
	}
	modules = append(modules,
		&webhooksroute.DetailModule{Service: hooks, Details: &delivery.DetailService{Store: stores}},
		&events.Module{Publisher: deliveries},
		&apikeysroute.Module{Keys: app.Keys, BasePath: cfg.BasePath, Clock: clock},
		&portal.Module{Keys: app.Keys, BasePath: cfg.BasePath, PublicBaseURL: cfg.PublicBaseURL},
		&systemModule{app},
	)
	modules = append(modules, opts.ExtraModules...)
	doc := &openapi.Module{Title: "LeadLex API", Version: "1.0.0", BasePath: cfg.BasePath}
	modules = append(modules, doc)
	if err := doc.Build(modules); err != nil {
		stores.Close()
		return nil, err
	}
	// The portal's page is mounted like a module but is no API operation,
	// so it stays out of the document.
	modules = append(modules, &portal.Page{})

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = handleError
	e.IPExtractor = ipExtractor(cfg)
	e.Use(
		middleware.RequestID(),
	)
	if app.Metrics != nil {
		e.Use(middleware.Metrics(app.Metrics, cfg.BasePath))
	}
	e.Use(
		middleware.AccessLog(opts.logOutput(), cfg.LogLevel),
		middleware.Recover(logger),
		middleware.HeaderLimit(headerLimit),
		middleware.BodyLimit(cfg.MaxBodyBytes),
	)
	chain := routeChain{
		auth: (&middleware.Auth{Keys: app.Keys, IPLimiter: limiter, IPLimits: ratelimit.Limits{PerMinute: cfg.IPLimitPerMinute}, Clock: clock, Logger: logger}).Middleware(),
		limit: (&middleware.RateLimit{Limiter: limiter, Clock: clock, Logger: logger, LimitsFor: func(p *gateway.Principal) (ratelimit.Limits, bool) {
			return LimitsFor(cfg.Plans, p.Plan, p.Tier)
		}}).Middleware(),
		idem: &middleware.Idempotency{Store: idem, Sealer: box, TTL: cfg.IdempotencyTTL, LockTTL: time.Minute, Logger: logger},
	}
	for _, m := range modules {
		if err := mount(e, cfg.BasePath, m, chain); err != nil {
			app.Close()
			return nil, err
		}
	}
	// The probes also answer at the root, where platforms look for them.
	e.GET("/healthz", app.healthz)
	e.GET("/readyz", app.readyz)
	e.Server.ReadHeaderTimeout = 5 * time.Second
	e.Server.ReadTimeout = 30 * time.Second
	e.Server.WriteTimeout = 30 * time.Second
	e.Server.IdleTimeout = 120 * time.Second
	e.Server.MaxHeaderBytes = maxHeaderBytes
	app.Echo = e
	app.ready.Store(true)
	return app, nil
}

// LimitsFor returns a key's limits from its plan scaled by its tier, and
// false for unmetered keys: gateway/plan's rule, as the limiter's type.
func LimitsFor(plans map[string]config.Plan, planName, tier string) (ratelimit.Limits, bool) {
	l, metered := plan.For(plans, planName, tier)
	return ratelimit.Limits{PerMinute: l.PerMinute, PerDay: l.PerDay}, metered
}

// Header size limits: HeaderLimit answers in the envelope past
// headerLimit; net/http itself refuses past maxHeaderBytes (plus its 4 KiB
// slack) with plain text, before any handler could answer.
const (
	headerLimit    = 32 << 10
	maxHeaderBytes = 64 << 10
)

type routeChain struct {
	auth, limit echo.MiddlewareFunc
	idem        *middleware.Idempotency
}

// mount registers a module's routes. Middleware is attached per route, not
// per group, so an unknown path is a 404 rather than a 401.
func mount(e *echo.Echo, base string, m routes.Module, chain routeChain) error {
	for _, r := range m.Routes() {
		if r.Handler == nil || r.Path == "" || r.Method == "" {
			return fmt.Errorf("module %s: route %s %s is incomplete", m.Name(), r.Method, r.Path)
		}
		var mws []echo.MiddlewareFunc
		switch {
		case r.Permission == routes.Public:
			mws = append(mws, middleware.QueryRules())
		case r.Permission == "" && len(r.AnyOf) == 0:
			return fmt.Errorf("module %s: route %s %s declares no permission", m.Name(), r.Method, r.Path)
		default:
			mws = append(mws, chain.auth, chain.limit, middleware.RequirePermission(r.Required()...), middleware.QueryRules())
			if r.Method == http.MethodPost {
				mws = append(mws, chain.idem.For(r.CheckBody))
			}
		}
		e.Add(r.Method, base+r.Path, r.Handler, mws...)
	}
	return nil
}

func ipExtractor(cfg *config.Config) echo.IPExtractor {
	if len(cfg.TrustedProxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range cfg.TrustedProxies {
		_, n, _ := net.ParseCIDR(p.String())
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

func openRedis(cfg *config.Config) (*redis.Client, error) {
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	// go-redis ignores context deadlines unless told otherwise; short
	// timeouts make a dead Redis cost milliseconds, and the limiter's
	// fallback keeps it from costing that on every request.
	opts.ContextTimeoutEnabled = true
	opts.ReadTimeout = cfg.RedisTimeout
	opts.WriteTimeout = cfg.RedisTimeout
	opts.PoolTimeout = cfg.RedisTimeout
	// No retries: a limiter script that timed out may have run, and running
	// it again would count the request twice. The fallback covers the gap.
	opts.MaxRetries = -1
	boundDial(opts, cfg.RedisTimeout)
	return redis.NewClient(opts), nil
}

// systemModule declares the probes under the base path, so they are in the
// OpenAPI document like every other route.
type systemModule struct{ app *App }

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (m *systemModule) Name() string { return "system" }

func (m *systemModule) Routes() []routes.Route {
	return []routes.Route{
		{Method: http.MethodGet, Path: "/healthz", Permission: routes.Public, Handler: m.app.healthz, Summary: "Liveness",
			Doc: routes.Doc{Tag: "meta", Raw: true, Data: Health{}, Description: "200 while the process serves requests."}},
		{Method: http.MethodGet, Path: "/readyz", Permission: routes.Public, Handler: m.app.readyz, Summary: "Readiness",
			Doc: routes.Doc{Tag: "meta", Raw: true, Data: Health{},
				Description: "200 when the database answers (503, same body, when it does not); Redis being down is reported but does not make the instance unready (limits fall back to in-process ones). 503 while shutting down."}},
	}
}

func (a *App) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, Health{Status: "ok"})
}

// readyz checks the dependencies a request needs. Redis being down is
// reported but does not make the instance unready: limits fail open to
// in-process ones, so the instance can still serve.
func (a *App) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	h := a.health(ctx)
	checks := map[string]string{}
	if !a.ready.Load() {
		checks["server"] = "shutting_down"
	}
	for name, up := range h.Dependencies {
		checks[name] = "ok"
		if !up {
			checks[name] = "down"
		}
	}
	status, word := http.StatusOK, "ready"
	if !h.Ready {
		status, word = http.StatusServiceUnavailable, "unavailable"
	}
	return c.JSON(status, Health{Status: word, Checks: checks})
}

// health checks the dependencies (the store always, Redis when
// configured); the instance is ready while it is not shutting down and the
// store answers. /readyz and the gateway_ready metric both ask it.
func (a *App) health(ctx context.Context) metrics.Health {
	h := metrics.Health{Ready: a.ready.Load(), Dependencies: map[string]bool{}}
	if err := a.Stores.Ping(ctx); err != nil {
		h.Ready = false
		h.Dependencies["database"] = false
		a.logger.Warn("readiness: database", "error", err.Error())
	} else {
		h.Dependencies["database"] = true
	}
	if a.Redis != nil {
		err := a.Redis.Ping(ctx).Err()
		h.Dependencies["redis"] = err == nil
		if err != nil {
			a.logger.Warn("readiness: redis", "error", err.Error())
		}
	}
	return h
}

// limiterState reads the rate limiter's counters for metrics: the
// fallback's by source when Redis is configured, else the in-process
// limiter's, all local.
func limiterState(local *ratelimit.Counted, fallback *ratelimit.Fallback) func() metrics.LimiterState {
	return func() metrics.LimiterState {
		if fallback == nil {
			return metrics.LimiterState{Local: local.Counts()}
		}
		redis, inProcess := fallback.Counts()
		return metrics.LimiterState{Redis: redis, Local: inProcess, FallbackActive: fallback.Degraded(), FallbackFor: fallback.DegradedFor()}
	}
}

// Serve accepts connections on ln until ctx is cancelled, then stops taking
// new requests, lets those in flight finish (up to ShutdownTimeout) and
// returns.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() {
		a.Echo.Server.Handler = a.Echo
		errc <- a.Echo.Server.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.ready.Store(false)
	a.logger.Info("shutting down: draining requests in flight", "timeout", a.Config.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	if err := a.Echo.Server.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.logger.Info("shutdown complete")
	return nil
}

// Close releases the stores, Redis, the development sink and the key
// service's background writer.
func (a *App) Close() {
	if a.Sink != nil {
		_ = a.Sink.Close()
	}
	// The key service's last-used writer needs the stores: stop it first.
	if a.Keys != nil {
		a.Keys.Close()
	}
	if a.Redis != nil {
		_ = a.Redis.Close()
	}
	a.Stores.Close()
}
