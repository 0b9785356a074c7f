package server

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/leadlex/api-gateway/config"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/secretbox"
	"github.com/leadlex/api-gateway/gateway/store/memory"
	"github.com/leadlex/api-gateway/gateway/store/postgres"
	"github.com/leadlex/api-gateway/gateway/store/supabase"
	"github.com/leadlex/api-gateway/gateway/webhooks"
)

// Store is everything the gateway persists, whichever backend holds it.
type Store interface {
	webhooks.Store
	apikeys.Store
	delivery.Store
	delivery.DetailStore
}

// Stores is the opened persistence layer.
type Stores struct {
	Store
	// Backend is the opened store itself, Store the same one observed
	// (metrics, traces) once observe has run: the wiring asks Backend for
	// the optional interfaces a backend may have (Wakeups, Notifier).
	Backend Store
	Kind    string
	Pool    *pgxpool.Pool // set for the postgres store
	Ping    func(ctx context.Context) error
	Close   func()
}

// OpenStores opens the store the configuration selects.
func OpenStores(ctx context.Context, cfg *config.Config) (*Stores, error) {
	switch cfg.StoreKind() {
	case "postgres":
		pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		// A pool_max_conns in the URL wins; otherwise DATABASE_MAX_CONNS
		// (pgxpool's own default, 4 on 2 cores, starves the engine).
		if !strings.Contains(cfg.DatabaseURL, "pool_max_conns") {
			pcfg.MaxConns = int32(cfg.DatabaseMaxConns)
		}
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return nil, fmt.Errorf("connect to postgres: %w", err)
		}
		s := postgres.New(pool)
		return &Stores{Store: s, Backend: s, Kind: "postgres", Pool: pool, Ping: s.Ping, Close: pool.Close}, nil
	case "supabase":
		s, err := supabase.New(cfg.SupabaseURL, cfg.SupabaseServiceRoleKey, cfg.StoreTimeout)
		if err != nil {
			return nil, fmt.Errorf("SUPABASE_URL: %w", err)
		}
		return &Stores{Store: s, Backend: s, Kind: "supabase", Ping: s.Ping, Close: func() {}}, nil
	default:
		s := memory.New()
		return &Stores{Store: s, Backend: s, Kind: "memory", Ping: func(context.Context) error { return nil }, Close: func() {}}, nil
	}
}

// observe routes every call through o, unless o observes nothing (then the
// calls cost nothing extra).
func (s *Stores) observe(o *storeObserver) {
	if o.ended == nil && o.tracer == nil {
		return
	}
	s.Store = observedStore{Store: s.Backend, o: o}
}

// devEncryptionKey is used only in development without SECRET_ENCRYPTION_KEY
// (production refuses to start without one). It is fixed, not random, so a
// development database stays readable across restarts; it protects nothing.
var devEncryptionKey = sha256.Sum256([]byte("leadlex development only: not a secret"))

// openBox returns the secret box for the configured key.
func openBox(cfg *config.Config, logger *slog.Logger) (*secretbox.Box, error) {
	key := cfg.SecretEncryptionKey
	if key == nil {
		logger.Warn("SECRET_ENCRYPTION_KEY is not set: using the fixed development key; never do this in production")
		key = devEncryptionKey[:]
	}
	return secretbox.New(key)
}
