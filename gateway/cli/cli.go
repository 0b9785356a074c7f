// Package cli is the gateway binary's command line: serve (the default),
// migrate, and the operator's API key commands. Every command reads the same
// configuration and goes through the same assembly as the server.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/leadlex/api-gateway/config"
	"github.com/leadlex/api-gateway/deploy"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/migrate"
	"github.com/leadlex/api-gateway/gateway/plan"
	"github.com/leadlex/api-gateway/gateway/server"
)

const usage = `Usage: gateway [command]

Commands:
  serve       run the HTTP gateway (default); with RUN_WORKER=true it also delivers events
  worker      deliver events: claim due deliveries from the store, send, record, clean old logs
  migrate     apply the SQL migrations to DATABASE_URL (idempotent)
  keys create --workspace UUID --permissions p1,p2 [--name N] [--plan starter|pro|org]
              [--tier standard|high|unmetered] [--expires-at RFC3339] [--json]
  keys list   --workspace UUID [--include-revoked] [--json]
  keys revoke ID
  help        show this text

Configuration comes from the environment; see README.md.
`

// Run executes the command in args and returns the process exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cfg, err := config.FromEnvironment()
	if err != nil {
		fmt.Fprintf(stderr, "gateway: invalid configuration:\n%v\n", err)
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	switch cmd {
	case "serve":
		err = serve(ctx, cfg, logger, stderr)
	case "worker":
		err = work(ctx, cfg, logger)
	case "migrate":
		err = runMigrate(ctx, cfg, stdout)
	case "keys":
		err = keys(ctx, cfg, args, stdout)
	default:
		fmt.Fprintf(stderr, "gateway: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "gateway %s: %v\n", cmd, err)
			return 2
		}
		fmt.Fprintf(stderr, "gateway %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

type usageError struct{ error }

func serve(ctx context.Context, cfg *config.Config, logger *slog.Logger, stderr io.Writer) error {
	app, err := server.New(ctx, cfg, logger, server.Options{})
	if err != nil {
		return err
	}
	defer app.Close()
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.Port))
	if err != nil {
		return err
	}
	stopMetrics, err := startMetrics(app, cfg, logger)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer stopMetrics()
	if cfg.DevelopmentKeyPrint {
		if err := printDevelopmentKey(ctx, app, cfg, stderr); err != nil {
			return err
		}
	}
	logger.Info("gateway listening", "addr", ln.Addr().String(), "base_path", cfg.BasePath, "env", cfg.Env,
		"store", app.Stores.Kind, "redis", cfg.RedisURL != "")
	// The memory store (the queue) lives in this process, so the worker
	// must too.
	if !cfg.Delivery.InProcess && app.Stores.Kind != "memory" {
		return app.Serve(ctx, ln)
	}
	workerDone := make(chan error, 1)
	go func() { workerDone <- app.RunWorker(ctx) }()
	err = app.Serve(ctx, ln)
	if werr := <-workerDone; err == nil {
		err = werr
	}
	return err
}

// work runs `gateway worker` until SIGTERM: attempts in flight finish and
// are recorded first. The store is the queue, so a worker needs a shared
// one; Redis only carries wake-ups (the postgres store wakes workers with
// LISTEN/NOTIFY by itself; with supabase and no Redis a worker polls).
func work(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	if cfg.StoreKind() == "memory" {
		return usageError{errors.New("DATABASE_URL or SUPABASE_URL is not set: a separate worker needs the shared store, which is the queue (in development, `serve` delivers in-process)")}
	}
	if cfg.StoreKind() == "supabase" && cfg.RedisURL == "" {
		logger.Warn("REDIS_URL is not set: with the supabase store the worker is not woken and polls every DELIVERY_POLL_INTERVAL",
			"poll_interval", cfg.Delivery.PollInterval.String())
	}
	if cfg.DevSink {
		return usageError{errors.New("DEV_SINK: the development sink runs inside `serve`, whose own worker delivers to it")}
	}
	app, err := server.New(ctx, cfg, logger, server.Options{})
	if err != nil {
		return err
	}
	defer app.Close()
	stopMetrics, err := startMetrics(app, cfg, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	return app.RunWorker(ctx)
}

// startMetrics serves /metrics on METRICS_ADDR, when set, until the
// returned function is called: after the API has drained and the worker
// has stopped, so that the last scrapes still see the shutdown.
func startMetrics(app *server.App, cfg *config.Config, logger *slog.Logger) (stop func(), err error) {
	if cfg.MetricsAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR: %w", err)
	}
	logger.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := app.ServeMetrics(ctx, ln); err != nil {
			logger.Error("metrics listener stopped", "error", err.Error())
		}
	}()
	return func() { cancel(); <-done }, nil
}

// printDevelopmentKey issues a key with every permission for `make run`, so
// that a newcomer can call the API at once.
func printDevelopmentKey(ctx context.Context, app *server.App, cfg *config.Config, w io.Writer) error {
	k, plain, err := app.Keys.Create(ctx, apikeys.CreateParams{
		WorkspaceID: "00000000-0000-4000-8000-000000000001",
		Name:        "development",
		Permissions: gateway.AllPermissions(),
		Plan:        plan.Org,
		Tier:        plan.TierStandard,
	})
	if err != nil {
		return fmt.Errorf("create development key: %w", err)
	}
	fmt.Fprintf(w, `
  LeadLex API gateway, development mode (store: %s).
  Development API key (every permission, workspace %s):

    %s

`, app.Stores.Kind, k.WorkspaceID, plain)
	if err := printPortalLink(ctx, app, cfg, k, w); err != nil {
		return err
	}
	if app.Sink == nil {
		fmt.Fprint(w, "  With DEV_SINK=true (make run sets it) a local sink receives deliveries; see README.md.\n\n")
		return nil
	}
	fmt.Fprint(w, roundTrip(fmt.Sprintf("http://localhost:%d%s", cfg.Port, cfg.BasePath), plain, app.Sink.URL(), app.Sink.CertFile()))
	return nil
}

// roundTrip is the walk-through `make run` prints: create a webhook at the
// development sink, publish an event, read the delivery log, then read what
// the sink received with its signature verdicts. Every line only talks to
// this machine; the end-to-end tests run these lines as printed.
func roundTrip(base, key, sink, certFile string) string {
	return fmt.Sprintf(`  Round trip on this machine: the development sink at %[3]s receives the
  deliveries and verifies both signatures. Paste these lines into a shell:

    B=%[1]s
    K="Authorization: Bearer %[2]s"
    J="Content-Type: application/json"
    # 1. create a webhook pointing at the sink; its id goes to $ID
    ID=$(curl -sS -X POST "$B/v1/webhooks" -H "$K" -H "$J" -d '{"url": "%[3]s/hooks/crm", "events": ["contact.created"], "description": "Development sink"}' | tee /dev/stderr | sed -n 's/.*"webhook":{"id":"\([^"]*\)".*/\1/p'); echo
    # 2. publish an event: the worker in this process delivers it to the sink
    curl -sS -X POST "$B/v1/events" -H "$K" -H "$J" -d '{"type": "contact.created", "data": {"id": "c-1", "email": "ada@example.com"}}'; echo
    # 3. the webhook's delivery log
    sleep 1; curl -sS "$B/v1/webhooks/$ID/logs" -H "$K"; echo
    # 4. what the sink received, with the signature verdicts
    curl -sS --cacert %[4]s %[3]s/deliveries

`, base, key, sink, certFile)
}

func runMigrate(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	if cfg.DatabaseURL == "" {
		return usageError{errors.New("DATABASE_URL is not set (on Supabase, apply deploy/supabase/migrations with `supabase db push`)")}
	}
	stores, err := server.OpenStores(ctx, cfg)
	if err != nil {
		return err
	}
	defer stores.Close()
	files, err := fs.Sub(deploy.Migrations, deploy.MigrationsDir)
	if err != nil {
		return err
	}
	applied, err := migrate.Up(ctx, stores.Pool, files)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "migrate: database is up to date")
	}
	for _, v := range applied {
		fmt.Fprintln(stdout, "migrate: applied", v)
	}
	return nil
}

func keys(ctx context.Context, cfg *config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("want create, list or revoke")}
	}
	if cfg.StoreKind() == "memory" {
		return usageError{errors.New("key commands need a database: set DATABASE_URL or SUPABASE_URL")}
	}
	stores, err := server.OpenStores(ctx, cfg)
	if err != nil {
		return err
	}
	defer stores.Close()
	svc := apikeys.NewService(stores, gateway.SystemClock{}, plan.Names(), 0)
	defer svc.Close()
	sub, args := args[0], args[1:]
	switch sub {
	case "create":
		return keysCreate(ctx, svc, args, stdout)
	case "list":
		return keysList(ctx, svc, args, stdout)
	case "revoke":
		if len(args) != 1 {
			return usageError{errors.New("usage: gateway keys revoke ID")}
		}
		if err := svc.Revoke(ctx, "", args[0]); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "revoked %s and every key minted from it (running gateways stop accepting them within %s)\n", args[0], cfg.KeyCacheTTL)
		return nil
	}
	return usageError{fmt.Errorf("unknown keys command %q", sub)}
}

// keyJSON is a key as the CLI prints it with --json.
type keyJSON struct {
	ID          string   `json:"id"`
	Key         string   `json:"key,omitempty"`
	Prefix      string   `json:"prefix"`
	WorkspaceID string   `json:"workspace_id"`
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
	Plan        string   `json:"plan"`
	Tier        string   `json:"tier"`
	ExpiresAt   *string  `json:"expires_at"`
	RevokedAt   *string  `json:"revoked_at"`
	CreatedAt   string   `json:"created_at"`
}

func toJSON(k *apikeys.Key, plain string) keyJSON {
	ts := func(t *time.Time) *string {
		if t == nil {
			return nil
		}
		s := t.UTC().Format(time.RFC3339)
		return &s
	}
	perms := make([]string, len(k.Permissions))
	for i, p := range k.Permissions {
		perms[i] = string(p)
	}
	return keyJSON{ID: k.ID, Key: plain, Prefix: k.Prefix, WorkspaceID: k.WorkspaceID, Name: k.Name, Permissions: perms,
		Plan: k.Plan, Tier: k.Tier, ExpiresAt: ts(k.ExpiresAt), RevokedAt: ts(k.RevokedAt), CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339)}
}

func keysCreate(ctx context.Context, svc *apikeys.Service, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keys create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ws := fs.String("workspace", "", "workspace UUID")
	perms := fs.String("permissions", "", "comma-separated permissions")
	name := fs.String("name", "", "a name for the key")
	planName := fs.String("plan", plan.Default, strings.Join(plan.Names(), ", "))
	tier := fs.String("tier", plan.TierStandard, strings.Join(plan.Tiers(), ", "))
	expires := fs.String("expires-at", "", "RFC 3339 expiry")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	p := apikeys.CreateParams{WorkspaceID: *ws, Name: *name, Plan: *planName, Tier: *tier}
	for _, s := range strings.Split(*perms, ",") {
		if s = strings.TrimSpace(s); s != "" {
			p.Permissions = append(p.Permissions, gateway.Permission(s))
		}
	}
	if *expires != "" {
		t, err := time.Parse(time.RFC3339, *expires)
		if err != nil {
			return usageError{fmt.Errorf("--expires-at: want RFC 3339 such as 2027-01-31T00:00:00Z, got %q", *expires)}
		}
		p.ExpiresAt = &t
	}
	k, plain, err := svc.Create(ctx, p)
	if err != nil {
		return describe(err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(toJSON(k, plain))
	}
	fmt.Fprintf(stdout, "id:          %s\nworkspace:   %s\npermissions: %s\nplan/tier:   %s/%s\nkey:         %s\n\nThe key is shown only now; it is stored only as a hash.\n",
		k.ID, k.WorkspaceID, strings.Join(toJSON(k, "").Permissions, ","), k.Plan, k.Tier, plain)
	return nil
}

func keysList(ctx context.Context, svc *apikeys.Service, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keys list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ws := fs.String("workspace", "", "workspace UUID")
	revoked := fs.Bool("include-revoked", false, "include revoked keys")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	list, err := svc.List(ctx, *ws, *revoked)
	if err != nil {
		return describe(err)
	}
	out := make([]keyJSON, len(list))
	for i := range list {
		out[i] = toJSON(&list[i], "")
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tPERMISSIONS\tPLAN\tTIER\tEXPIRES\tREVOKED\tCREATED")
	for _, k := range out {
		fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, strings.Join(k.Permissions, ","), k.Plan, k.Tier, deref(k.ExpiresAt), deref(k.RevokedAt), k.CreatedAt)
	}
	return tw.Flush()
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

// describe turns a service error into CLI text: the client-facing message
// for input errors, the cause for internal ones (the operator may see it).
func describe(err error) error {
	ge := gateway.AsError(err)
	if ge.Code == gateway.CodeInternal || ge.Code == gateway.CodeUnavailable {
		return err
	}
	return usageError{errors.New(ge.Message)}
}
